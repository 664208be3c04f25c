// runtime_mutex.hpp - the mutex behind sched.lock.
//
// Go: lock_futex.go (lock2/unlock2). Held for short critical sections by
// several M's at once (global run queue batches, free G batches, idle lists),
// so contention is common and brief: a pthread mutex puts the loser to sleep
// in the kernel at once and the winner pays a futex wake on unlock, which in a
// VM costs an inter-processor interrupt. Like Go's runtime lock, this one spins
// first (4 rounds of 30 PAUSEs, then one sched_yield) and only then sleeps.
//
// State (key_): 0 unlocked, 1 locked, 2 locked with possible sleepers.
// lock: CAS 0->1; contended callers spin, then exchange 2 and sleep while the
// key is 2. unlock: exchange 0; if it was 2, wake one sleeper. Satisfies
// BasicLockable (std::lock_guard, std::unique_lock, condition_variable_any).
#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>

#include "gort/scheduler/futex.hpp"
#include "gort/scheduler/spin_lock.hpp"
#include "gort/scheduler/thread_annotations.hpp"

namespace gort::detail {

class GORT_CAPABILITY("mutex") RuntimeMutex {
 public:
  void lock() noexcept GORT_ACQUIRE() {
    std::uint32_t expected = 0;
    if (key_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return;
    lock_slow();
  }
  bool try_lock() noexcept GORT_TRY_ACQUIRE(true) {
    std::uint32_t expected = 0;
    return key_.compare_exchange_strong(expected, 1, std::memory_order_acquire);
  }
  void unlock() noexcept GORT_RELEASE() {
    if (key_.exchange(0, std::memory_order_release) == 2) futex_wake(&key_, 1);
  }

 private:
  void lock_slow() noexcept {
    constexpr int kActiveSpin = 4;       // Go: active_spin
    constexpr int kActiveSpinCnt = 30;   // Go: active_spin_cnt
    for (int i = 0; i < kActiveSpin; i++) {
      for (int k = 0; k < kActiveSpinCnt; k++) cpu_relax();
      std::uint32_t expected = 0;
      if (key_.load(std::memory_order_relaxed) == 0 &&
          key_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) {
        return;
      }
    }
    sched_yield();  // Go: passive_spin
    // Sleep. Taking the lock with 2 (not 1) keeps a later unlock waking the
    // other sleepers, since we cannot know whether any remain.
    while (key_.exchange(2, std::memory_order_acquire) != 0) futex_wait(&key_, 2, -1);
  }

  std::atomic<std::uint32_t> key_{0};
};

}  // namespace gort::detail
