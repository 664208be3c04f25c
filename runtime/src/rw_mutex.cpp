// rw_mutex.cpp - Go's sync.RWMutex (sync/rwmutex.go) on gort's Mutex and
// Sema. See rw_mutex.hpp for the fields.
#include "gort/rw_mutex.hpp"

#include <stdexcept>

#include "gort/scheduler/sched.hpp"

namespace gort {

void RWMutex::wait_shared() noexcept {
  // A writer is pending: it will release one reader_sem_ unit per reader
  // that arrived meanwhile (Go: RLock's semacquire).
  reader_sem_.acquire(detail::WaitReason::sync_rwmutex_rlock);
}

bool RWMutex::try_lock_shared() noexcept {
  std::int32_t c = reader_count_.load(std::memory_order_relaxed);
  for (;;) {
    if (c < 0) return false;
    if (reader_count_.compare_exchange_weak(c, c + 1, std::memory_order_acquire, std::memory_order_relaxed)) {
      return true;
    }
  }
}

// Go: rUnlockSlow.
void RWMutex::unlock_shared_slow(std::int32_t r) {
  if (r + 1 == 0 || r + 1 == -kMaxReaders) {
    reader_count_.fetch_add(1, std::memory_order_relaxed);  // undo
    throw std::logic_error("sync: RUnlock of unlocked RWMutex");
  }
  // A writer is pending; the last of the readers it waits for wakes it.
  if (reader_wait_.fetch_sub(1, std::memory_order_acq_rel) - 1 == 0) writer_sem_.release();
}

void RWMutex::lock() noexcept {
  w_.lock();  // first, exclude other writers
  // Announce the pending writer to readers; r = readers active now.
  std::int32_t r = reader_count_.fetch_add(-kMaxReaders, std::memory_order_acq_rel);
  // Wait for them, unless they all left between the two adds.
  if (r != 0 && reader_wait_.fetch_add(r, std::memory_order_acq_rel) + r != 0) {
    writer_sem_.acquire(detail::WaitReason::sync_rwmutex_lock);
  }
}

bool RWMutex::try_lock() noexcept {
  if (!w_.try_lock()) return false;
  std::int32_t zero = 0;
  if (!reader_count_.compare_exchange_strong(zero, -kMaxReaders, std::memory_order_acquire,
                                             std::memory_order_relaxed)) {
    w_.unlock();
    return false;
  }
  return true;
}

void RWMutex::unlock() {
  // Announce to readers there is no active writer; r = readers that queued.
  std::int32_t r = reader_count_.fetch_add(kMaxReaders, std::memory_order_release) + kMaxReaders;
  if (r >= kMaxReaders) {
    reader_count_.fetch_sub(kMaxReaders, std::memory_order_relaxed);  // undo
    throw std::logic_error("sync: Unlock of unlocked RWMutex");
  }
  for (std::int32_t i = 0; i < r; i++) reader_sem_.release();
  w_.unlock();  // let other writers through
}

}  // namespace gort
