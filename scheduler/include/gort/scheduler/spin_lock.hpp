// spin_lock.hpp - a tiny test-and-test-and-set lock for the runtime's short
// critical sections (wait queues), which may be released by a park commit.
//
// Held for a handful of instructions only, never across a switch (a park
// commit releases it on the same thread right after the switch). After a few
// spins it yields the CPU, so a preempted holder on an oversubscribed machine
// costs a sched_yield, not a burnt time slice.
#pragma once

#include <sched.h>

#include <atomic>

#include "gort/scheduler/thread_annotations.hpp"

namespace gort::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

class GORT_CAPABILITY("spin lock") SpinLock {
 public:
  void lock() noexcept GORT_ACQUIRE() {
    for (int spins = 0;; spins++) {
      if (!locked_.load(std::memory_order_relaxed) &&
          !locked_.exchange(true, std::memory_order_acquire)) {
        return;
      }
      if (spins < 64) {
        cpu_relax();
      } else {
        sched_yield();
      }
    }
  }
  bool try_lock() noexcept GORT_TRY_ACQUIRE(true) {
    return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept GORT_RELEASE() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace gort::detail
