// fd_mutex.hpp - Go's internal/poll fdMutex: reference counting plus one read
// lock and one write lock per file descriptor, and the close protocol.
//
// Go: internal/poll/fd_mutex.go. state is one 64-bit word:
//   bit 0       closed
//   bit 1       read lock held
//   bit 2       write lock held
//   bits 3-22   references (every operation in flight holds one)
//   bits 23-42  fibers waiting for the read lock
//   bits 43-62  fibers waiting for the write lock
// Concurrent reads serialise with each other (a pollDesc has one reader
// slot), writes with writes; a read and a write run in parallel. Close marks
// the word closed, wakes every waiter (they then fail with "closed"), and the
// last reference out destroys the fd. All transitions are CAS loops on state.
#pragma once

#include <atomic>
#include <cstdint>

#include "gort/scheduler/sema.hpp"

namespace gort::net::detail {

class FdMutex {
 public:
  // Go: incref. False if closed.
  bool incref();
  // Go: increfAndClose. False if already closed.
  bool incref_and_close();
  // Go: decref. True if this was the last reference of a closed fd.
  bool decref();
  // Go: rwlock / rwunlock. read selects the read or the write lock. The
  // uncontended case (lock free, no waiters) is one CAS, inlined into the
  // I/O paths; everything else goes to the out-of-line loops.
  bool rwlock(bool read) {
    std::uint64_t bit = read ? kRLock : kWLock;
    std::uint64_t old = state_.load(std::memory_order_relaxed);
    if ((old & (kClosed | bit)) == 0 && (old & kRefMask) != kRefMask &&
        state_.compare_exchange_weak(old, (old | bit) + kRef, std::memory_order_acq_rel, std::memory_order_relaxed)) {
      return true;
    }
    return rwlock_slow(read);
  }
  bool rwunlock(bool read) {
    std::uint64_t bit = read ? kRLock : kWLock;
    std::uint64_t mask = read ? kRMask : kWMask;
    std::uint64_t old = state_.load(std::memory_order_relaxed);
    if ((old & bit) != 0 && (old & kRefMask) != 0 && (old & mask) == 0) {
      std::uint64_t next = (old & ~bit) - kRef;
      if (state_.compare_exchange_weak(old, next, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        return (next & (kClosed | kRefMask)) == kClosed;
      }
    }
    return rwunlock_slow(read);
  }

  static constexpr std::uint64_t kClosed = 1 << 0;
  static constexpr std::uint64_t kRLock = 1 << 1;
  static constexpr std::uint64_t kWLock = 1 << 2;
  static constexpr std::uint64_t kRef = 1 << 3;
  static constexpr std::uint64_t kRefMask = ((std::uint64_t{1} << 20) - 1) << 3;
  static constexpr std::uint64_t kRWait = std::uint64_t{1} << 23;
  static constexpr std::uint64_t kRMask = ((std::uint64_t{1} << 20) - 1) << 23;
  static constexpr std::uint64_t kWWait = std::uint64_t{1} << 43;
  static constexpr std::uint64_t kWMask = ((std::uint64_t{1} << 20) - 1) << 43;

 private:
  bool rwlock_slow(bool read);
  bool rwunlock_slow(bool read);

  std::atomic<std::uint64_t> state_{0};
  gort::detail::Sema rsema_;
  gort::detail::Sema wsema_;
};

}  // namespace gort::net::detail
