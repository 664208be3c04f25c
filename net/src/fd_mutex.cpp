// fd_mutex.cpp - Go's internal/poll/fd_mutex.go. Layout: fd_mutex.hpp.
#include "gort/net/detail/fd_mutex.hpp"

#include "gort/scheduler/sched.hpp"

namespace gort::net::detail {

namespace {
[[noreturn]] void overflow() {
  gort::detail::fatal("gort::net: too many concurrent operations on a single file or socket (max 1048575)");
}
}  // namespace

bool FdMutex::incref() {
  std::uint64_t old = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (old & kClosed) return false;
    std::uint64_t next = old + kRef;
    if ((next & kRefMask) == 0) overflow();
    if (state_.compare_exchange_weak(old, next, std::memory_order_acq_rel)) return true;
  }
}

bool FdMutex::incref_and_close() {
  std::uint64_t old = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (old & kClosed) return false;
    std::uint64_t next = (old | kClosed) + kRef;
    if ((next & kRefMask) == 0) overflow();
    next &= ~(kRMask | kWMask);  // waiters are released below and will see "closed"
    if (state_.compare_exchange_weak(old, next, std::memory_order_acq_rel)) {
      for (; old & kRMask; old -= kRWait) rsema_.release();
      for (; old & kWMask; old -= kWWait) wsema_.release();
      return true;
    }
  }
}

bool FdMutex::decref() {
  std::uint64_t old = state_.load(std::memory_order_relaxed);
  for (;;) {
    if ((old & kRefMask) == 0) gort::detail::fatal("gort::net: inconsistent fd mutex (decref)");
    std::uint64_t next = old - kRef;
    if (state_.compare_exchange_weak(old, next, std::memory_order_acq_rel)) {
      return (next & (kClosed | kRefMask)) == kClosed;
    }
  }
}

bool FdMutex::rwlock_slow(bool read) {
  std::uint64_t bit = read ? kRLock : kWLock;
  std::uint64_t wait = read ? kRWait : kWWait;
  std::uint64_t mask = read ? kRMask : kWMask;
  gort::detail::Sema& sema = read ? rsema_ : wsema_;
  std::uint64_t old = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (old & kClosed) return false;
    std::uint64_t next;
    if ((old & bit) == 0) {
      next = (old | bit) + kRef;  // lock is free: take it and a reference
      if ((next & kRefMask) == 0) overflow();
    } else {
      next = old + wait;  // wait for the lock
      if ((next & mask) == 0) overflow();
    }
    if (state_.compare_exchange_weak(old, next, std::memory_order_acq_rel)) {
      if ((old & bit) == 0) return true;
      sema.acquire(gort::detail::WaitReason::semacquire);
      old = state_.load(std::memory_order_relaxed);
    }
  }
}

bool FdMutex::rwunlock_slow(bool read) {
  std::uint64_t bit = read ? kRLock : kWLock;
  std::uint64_t wait = read ? kRWait : kWWait;
  std::uint64_t mask = read ? kRMask : kWMask;
  gort::detail::Sema& sema = read ? rsema_ : wsema_;
  std::uint64_t old = state_.load(std::memory_order_relaxed);
  for (;;) {
    if ((old & bit) == 0 || (old & kRefMask) == 0) gort::detail::fatal("gort::net: inconsistent fd mutex (unlock)");
    std::uint64_t next = (old & ~bit) - kRef;
    if (old & mask) next -= wait;
    if (state_.compare_exchange_weak(old, next, std::memory_order_acq_rel)) {
      if (old & mask) sema.release();
      return (next & (kClosed | kRefMask)) == kClosed;
    }
  }
}

}  // namespace gort::net::detail
