// context.hpp - the machine-level switch: Boost.Context's fcontext plus the
// sanitizer and per-thread-state bookkeeping every switch needs.
//
// jump() is the only place gort calls jump_fcontext. With ASan it brackets
// the jump with __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber
// so ASan knows which stack is live; with TSan it announces the switch to
// the destination's TSan fiber just before it (tsan_fiber.hpp).
#pragma once

#include <boost/context/detail/fcontext.hpp>

#include <cstddef>

#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/machine.hpp"
#include "gort/scheduler/tsan_fiber.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define GORT_ASAN 1
#include <sanitizer/common_interface_defs.h>
#endif

namespace gort::detail {

using boost::context::detail::transfer_t;

// The TSan fiber to announce when switching to g, or to m's g0 (null, and
// never read, in builds without TSan).
inline void* tsan_fiber_of(const G* g) noexcept {
#ifdef GORT_TSAN
  return g->tsan_fiber;
#else
  (void)g;
  return nullptr;
#endif
}
inline void* tsan_fiber_of(const M* m) noexcept {
#ifdef GORT_TSAN
  return m->tsan_fiber;
#else
  (void)m;
  return nullptr;
#endif
}

// Jumps to `to`, passing `data` to the resumed side. fake_save: where ASan
// stores the suspended side's fake stack (null: the suspended side is dying
// and never resumes). to_lo/to_size: the destination's stack (ASan only).
// to_tsan: the destination's TSan fiber (tsan_fiber_of; TSan only).
inline transfer_t jump(fcontext_t to, void* data, void** fake_save, const void* to_lo,
                       std::size_t to_size, void* to_tsan) noexcept {
#ifdef GORT_ASAN
  __sanitizer_start_switch_fiber(fake_save, to_lo, to_size);
  transfer_t t = boost::context::detail::jump_fcontext(to, data);
  __sanitizer_finish_switch_fiber(fake_save ? *fake_save : nullptr, nullptr, nullptr);
  (void)to_tsan;
  return t;
#else
  (void)fake_save;
  (void)to_lo;
  (void)to_size;
  tsan::switch_to_fiber(to_tsan);  // compiled out without TSan
  return boost::context::detail::jump_fcontext(to, data);
#endif
}

inline fcontext_t make_context(void* sp, std::size_t size, void (*fn)(transfer_t)) noexcept {
  return boost::context::detail::make_fcontext(sp, size, fn);
}

// First statement of a new fiber (ASan: completes the switch into it).
inline void on_fiber_entry() noexcept {
#ifdef GORT_ASAN
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}

// libstdc++'s per-thread __cxa_eh_globals: the caught-exception stack and
// the uncaught-exception count (see context.cpp for why fibers carry them).
struct EhGlobals {
  void* caught;
  unsigned int uncaught;
};
// The calling thread's EhGlobals (a thread-local lookup: call once per thread).
void* thread_eh_globals() noexcept;

// Saves the thread's C++ exception state into g and clears it (switch-out);
// restores it from g (switch-in). eh is the thread's thread_eh_globals().
inline void eh_save(void* eh, G* g) noexcept {
  auto* e = static_cast<EhGlobals*>(eh);
  g->eh_caught = e->caught;
  g->eh_uncaught = e->uncaught;
  e->caught = nullptr;
  e->uncaught = 0;
}
inline void eh_restore(void* eh, G* g) noexcept {
  if (g->eh_caught == nullptr && g->eh_uncaught == 0) return;  // common case: nothing in flight
  auto* e = static_cast<EhGlobals*>(eh);
  e->caught = g->eh_caught;
  e->uncaught = g->eh_uncaught;
  g->eh_caught = nullptr;
  g->eh_uncaught = 0;
}

}  // namespace gort::detail
