// notify_list.hpp - the ticket-based wait list under gort::Cond.
//
// Go: sema.go notifyList{Add,Wait,NotifyOne,NotifyAll}. A waiter takes a
// ticket (add) while it still holds the user's lock, releases that lock, then
// waits for its ticket (wait). A notify that comes between the two is not
// lost: notify_one advances notify_ past the oldest ticket whether or not its
// holder has queued yet, and wait returns at once for a ticket already
// notified.
//
// Invariants:
//   wait_    next ticket to hand out; only add() writes it (atomic
//            fetch_add, acq_rel).
//   notify_  next ticket to notify; written under lock_ only, read
//            without it (atomic) on the fast path "nobody to notify".
//   The queue (under lock_) holds waiters whose ticket >= notify_ when
//   they queued; each record lives on its waiter's stack until a notifier
//   unlinks it, after which the notifier only readies/wakes it.
// Tickets wrap around; comparisons are modulo 2^32 (Go: less).
#pragma once

#include <atomic>
#include <cstdint>

#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/note.hpp"
#include "gort/scheduler/spin_lock.hpp"

namespace gort::detail {

class NotifyList {
 public:
  std::uint32_t add() noexcept { return wait_.fetch_add(1, std::memory_order_acq_rel); }
  // Waits until ticket t is notified: parks a fiber, blocks a plain thread.
  void wait(std::uint32_t t, WaitReason reason) noexcept;
  void notify_one() noexcept;
  void notify_all() noexcept;

 private:
  struct Waiter {
    Waiter* next = nullptr;
    std::uint32_t ticket = 0;
    G* g = nullptr;
    Note* note = nullptr;
  };
  static void wake(Waiter* w) noexcept;

  std::atomic<std::uint32_t> wait_{0};
  std::atomic<std::uint32_t> notify_{0};
  SpinLock lock_;
  Waiter* head_ GORT_GUARDED_BY(lock_) = nullptr;
  Waiter* tail_ GORT_GUARDED_BY(lock_) = nullptr;
};

}  // namespace gort::detail
