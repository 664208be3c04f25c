// os_mutex.hpp - std::mutex as a capability for clang's thread-safety
// analysis (thread_annotations.hpp).
//
// libstdc++'s std::mutex carries no annotations, so fields it guards could
// not be checked. OsMutex is the same mutex with annotated members: each call
// forwards inline, so the code is std::mutex's. It blocks the thread, so, as
// before, it is never held across a fiber switch. Take it with LockGuard or
// UniqueLock (std::lock_guard would lock it unseen by the analysis).
#pragma once

#include <mutex>

#include "gort/scheduler/thread_annotations.hpp"

namespace gort::detail {

class GORT_CAPABILITY("mutex") OsMutex {
 public:
  void lock() GORT_ACQUIRE() { mu_.lock(); }
  bool try_lock() GORT_TRY_ACQUIRE(true) { return mu_.try_lock(); }
  void unlock() GORT_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

}  // namespace gort::detail
