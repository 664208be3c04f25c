// negative.cpp - lock mistakes the thread-safety analysis must reject.
//
// Compiled at configure time by cmake/gort_thread_safety.cmake when
// GORT_THREAD_SAFETY is on: once as is (it must compile, so a failure below
// is the analysis' and not a broken include), then once per
// GORT_TSA_NEGATIVE case, each of which must fail with a -Wthread-safety
// error. Case 1 is the sysmon mistake of issue 16: the free-G set read under
// sched.lock instead of its own gfree_lock.
#include "gort/scheduler/sched.hpp"

namespace gort::detail {

std::size_t tsa_probe(Sched& s, G* g) {
  std::size_t n;
#if GORT_TSA_NEGATIVE == 1
  {
    LockGuard lk(s.lock);  // the wrong lock
    n = s.gfree.unscavenged();
  }
#else
  {
    LockGuard lk(s.gfree_lock);
    n = s.gfree.unscavenged();
  }
#endif
#if GORT_TSA_NEGATIVE == 2
  globrunq_put(s, g);  // REQUIRES(s.lock), not held
#else
  {
    LockGuard lk(s.lock);
    globrunq_put(s, g);
  }
#endif
  return n;
}

}  // namespace gort::detail
