// rw_mutex.hpp - Go's sync.RWMutex for fibers (and plain threads).
//
//   gort::RWMutex mu;
//   { std::shared_lock lk(mu); read(table); }     // many readers at once
//   { std::lock_guard lk(mu); write(table); }     // one writer, no readers
//
// SharedLockable: lock/try_lock/unlock for the writer, lock_shared/
// try_lock_shared/unlock_shared for readers, so std::shared_lock works.
// Writer preference (Go): once a writer waits, new readers wait behind it,
// so a stream of readers cannot starve writers; hence a reader must not take
// the read lock recursively (it would deadlock against a waiting writer).
// Waiting fibers park ("sync.RWMutex.RLock", "sync.RWMutex.Lock").
// Unlocking what is not locked throws std::logic_error ("sync: RUnlock of
// unlocked RWMutex", "sync: Unlock of unlocked RWMutex"; Go: fatal errors)
// after undoing its change to the counters.
#pragma once

#include <atomic>
#include <cstdint>

#include "gort/mutex.hpp"
#include "gort/scheduler/sema.hpp"

namespace gort {

class RWMutex {
 public:
  RWMutex() = default;
  RWMutex(const RWMutex&) = delete;
  RWMutex& operator=(const RWMutex&) = delete;

  void lock() noexcept;
  bool try_lock() noexcept;
  void unlock();

  void lock_shared() noexcept {
    if (reader_count_.fetch_add(1, std::memory_order_acquire) + 1 < 0) wait_shared();
  }
  bool try_lock_shared() noexcept;
  void unlock_shared() {
    std::int32_t r = reader_count_.fetch_sub(1, std::memory_order_release) - 1;
    if (r < 0) unlock_shared_slow(r);
  }

 private:
  // Go: sync/rwmutex.go.
  //   reader_count_  readers holding or waiting for the read lock; a writer
  //                  subtracts kMaxReaders, so a negative value means "a
  //                  writer holds or waits": new readers then wait on
  //                  reader_sem_.
  //   reader_wait_   readers the pending writer still waits for (the ones
  //                  that held the lock when it announced itself); the last
  //                  one to leave releases writer_sem_.
  //   w_             serialises writers.
  // The atomic adds on reader_count_ are acq_rel/acquire on entry, release
  // on exit, which orders each critical section with the next.
  static constexpr std::int32_t kMaxReaders = 1 << 30;

  void wait_shared() noexcept;
  void unlock_shared_slow(std::int32_t r);

  Mutex w_;
  detail::Sema writer_sem_;
  detail::Sema reader_sem_;
  std::atomic<std::int32_t> reader_count_{0};
  std::atomic<std::int32_t> reader_wait_{0};
};

}  // namespace gort
