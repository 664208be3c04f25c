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
  // Go: rwlock / rwunlock. read selects the read or the write lock.
  bool rwlock(bool read);
  bool rwunlock(bool read);

 private:
  std::atomic<std::uint64_t> state_{0};
  gort::detail::Sema rsema_;
  gort::detail::Sema wsema_;
};

}  // namespace gort::net::detail
