// mutex.cpp - Go's sync.Mutex (sync/mutex.go lockSlow, unlockSlow, TryLock)
// on gort's Sema. See mutex.hpp for the state word.
#include "gort/mutex.hpp"

#include <stdexcept>

#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/park.hpp"
#include "gort/scheduler/sched.hpp"

namespace gort {

bool Mutex::try_lock() noexcept {
  std::int32_t old = state_.load(std::memory_order_relaxed);
  if ((old & (kLocked | kStarving)) != 0) return false;
  // One attempt: if there is contention we may as well fail (Go).
  return state_.compare_exchange_strong(old, old | kLocked, std::memory_order_acquire, std::memory_order_relaxed);
}

// Go: (*Mutex).lockSlow.
void Mutex::lock_slow() noexcept {
  std::int64_t wait_start = 0;
  bool starving = false;  // this waiter has waited > 1 ms
  bool awoke = false;     // this waiter owns the woken flag
  int iter = 0;
  std::int32_t old = state_.load(std::memory_order_relaxed);
  for (;;) {
    // Spin while the holder may be about to unlock: locked, not starving
    // (in starvation mode the lock goes to a waiter, spinning cannot win it).
    if ((old & (kLocked | kStarving)) == kLocked && detail::can_spin(iter)) {
      // Set woken so that unlock does not wake a waiter that would only
      // compete with us.
      if (!awoke && (old & kWoken) == 0 && (old >> kWaiterShift) != 0 &&
          state_.compare_exchange_weak(old, old | kWoken, std::memory_order_relaxed)) {
        awoke = true;
      }
      detail::do_spin();
      iter++;
      old = state_.load(std::memory_order_relaxed);
      continue;
    }
    std::int32_t next = old;
    // Newcomers do not take a starving mutex; they queue.
    if ((old & kStarving) == 0) next |= kLocked;
    if ((old & (kLocked | kStarving)) != 0) next += 1 << kWaiterShift;
    // Switch to starvation mode only if the mutex is held (otherwise unlock
    // expects waiters that a starving mutex promises and there may be none).
    if (starving && (old & kLocked) != 0) next |= kStarving;
    if (awoke) {
      if ((next & kWoken) == 0) detail::fatal("sync: inconsistent mutex state");
      next &= ~kWoken;
    }
    if (!state_.compare_exchange_weak(old, next, std::memory_order_acquire, std::memory_order_relaxed)) {
      continue;  // old reloaded
    }
    if ((old & (kLocked | kStarving)) == 0) return;  // took it with the CAS
    // Queue. A waiter that waited already goes to the front (LIFO).
    bool lifo = wait_start != 0;
    if (wait_start == 0) wait_start = detail::nanotime();
    sema_.acquire(detail::WaitReason::sync_mutex_lock, lifo);
    starving = starving || detail::nanotime() - wait_start > kStarvationThresholdNs;
    old = state_.load(std::memory_order_relaxed);
    if ((old & kStarving) != 0) {
      // Handed off to us: the unlocker left locked clear and woken clear,
      // and counted us among the waiters.
      if ((old & (kLocked | kWoken)) != 0 || (old >> kWaiterShift) == 0) {
        detail::fatal("sync: inconsistent mutex state");
      }
      std::int32_t delta = kLocked - (1 << kWaiterShift);
      // Leave starvation mode if we waited little or are the last waiter
      // (staying in it would hand off between waiters forever).
      if (!starving || (old >> kWaiterShift) == 1) delta -= kStarving;
      state_.fetch_add(delta, std::memory_order_acquire);
      return;
    }
    awoke = true;
    iter = 0;
  }
}

// Go: (*Mutex).Unlock's atomic add and unlockSlow. A CAS loop instead of
// Go's add, so that unlocking an unlocked mutex is caught before it changes
// anything.
void Mutex::unlock_slow(std::int32_t old) {
  std::int32_t next;
  do {
    if ((old & kLocked) == 0) throw std::logic_error("sync: unlock of unlocked mutex");
    next = old - kLocked;
  } while (!state_.compare_exchange_weak(old, next, std::memory_order_release, std::memory_order_relaxed));
  if (next == 0) return;
  if ((next & kStarving) == 0) {
    std::int32_t cur = next;
    for (;;) {
      // No waiters, or someone already woke, locked or starved it: nothing
      // to do (a woken or spinning fiber will take it).
      if ((cur >> kWaiterShift) == 0 || (cur & (kLocked | kWoken | kStarving)) != 0) return;
      // Take one waiter off the count and wake it.
      std::int32_t want = (cur - (1 << kWaiterShift)) | kWoken;
      if (state_.compare_exchange_weak(cur, want, std::memory_order_relaxed)) {
        sema_.release();
        return;
      }
    }
  }
  // Starving: hand the mutex to the first waiter and yield our time slice
  // so that it runs at once. locked stays clear: the waiter sets it; a
  // newcomer sees starving and queues.
  sema_.release(/*handoff=*/true);
}

}  // namespace gort
