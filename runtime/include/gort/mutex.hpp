// mutex.hpp - Go's sync.Mutex for fibers (and plain threads).
//
//   gort::Mutex mu;
//   { std::lock_guard lk(mu); counter++; }
//
// Lockable (lock, try_lock, unlock), so std::lock_guard, std::unique_lock and
// std::scoped_lock work. A fiber that cannot take the lock spins briefly when
// that can pay off (another P runs the holder) and then parks with wait
// reason "sync.Mutex.Lock"; its M goes on running other fibers. A plain OS
// thread may use the same Mutex: it blocks instead of parking.
//
// Not recursive, not owned: any fiber may unlock a mutex another locked (as
// Go's). Unlocking an unlocked Mutex throws std::logic_error("sync: unlock of
// unlocked mutex") and leaves the Mutex as it was (Go: a fatal error). The
// check costs nothing: unlock's fast path is one CAS either way. (From a
// destructor such as std::lock_guard's, the throw terminates the program
// with that message, which is what Go does.)
//
// Fairness (Go 1.9+): normally a woken waiter competes with newcomers, which
// usually win (they are running already): best throughput. A waiter that has
// waited more than 1 ms switches the mutex to starvation mode: unlock hands
// ownership straight to the oldest waiter, newcomers queue at the tail. The
// mutex leaves starvation mode when the last waiter takes it, or a waiter
// that waited under 1 ms does.
#pragma once

#include <atomic>
#include <cstdint>

#include "gort/scheduler/park.hpp"
#include "gort/scheduler/sema.hpp"

namespace gort {

class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() noexcept {
    // A fiber sysmon asked to yield does so here, before it takes the lock
    // (gort's preemption is cooperative; see park.hpp g_preempt_hint).
    if (__builtin_expect(detail::g_preempt_hint.load(std::memory_order_relaxed), 0)) detail::safepoint();
    std::int32_t expected = 0;
    if (state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire, std::memory_order_relaxed)) {
      return;
    }
    lock_slow();
  }
  // Go: TryLock. Never waits; fails in starvation mode (the lock is promised
  // to a waiter) even if it is momentarily free.
  bool try_lock() noexcept;
  void unlock() {
    std::int32_t expected = kLocked;
    if (state_.compare_exchange_strong(expected, 0, std::memory_order_release, std::memory_order_relaxed)) {
      return;
    }
    unlock_slow(expected);
  }

  // Introspection for tests and dumps (racy).
  bool locked() const noexcept { return (state_.load(std::memory_order_relaxed) & kLocked) != 0; }
  bool starving() const noexcept { return (state_.load(std::memory_order_relaxed) & kStarving) != 0; }
  std::int32_t waiters() const noexcept { return state_.load(std::memory_order_relaxed) >> kWaiterShift; }

 private:
  // Go: sync/mutex.go. state_ = waiters << 3 | starving | woken | locked.
  //   locked   held by someone.
  //   woken    a waiter is awake (spinning, or released from the sema and
  //            about to retry): unlock need not wake another.
  //   starving ownership passes by handoff (see above).
  // Every change is a CAS or an atomic add on state_; acquire on taking the
  // lock, release on giving it up, so the critical sections are ordered.
  // sema_ holds the parked waiters; a unit released to it wakes one.
  static constexpr std::int32_t kLocked = 1;
  static constexpr std::int32_t kWoken = 2;
  static constexpr std::int32_t kStarving = 4;
  static constexpr int kWaiterShift = 3;
  static constexpr std::int64_t kStarvationThresholdNs = 1'000'000;

  void lock_slow() noexcept;
  void unlock_slow(std::int32_t old);

  std::atomic<std::int32_t> state_{0};
  detail::Sema sema_;
};

}  // namespace gort
