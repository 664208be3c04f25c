// sema.hpp - the runtime semaphore every gort sync primitive sleeps on.
//
// Go: sema.go semacquire/semrelease (Mullender & Cox: every sleep pairs with
// one wakeup even if the wakeup comes first). Unlike Go's global 251-bucket
// table keyed by address, each Sema carries its own FIFO wait queue: C++
// objects have stable addresses and a few words per primitive are cheap.
//
// Invariants (all under lock_):
//   INV1 count_ > 0 implies the queue is empty (release hands a unit straight
//        to the oldest waiter instead of incrementing count_).
//   INV2 A waiter record lives on the waiter's stack; it is in the queue
//        from its enqueue until the releaser pops it; after popping, the
//        releaser only readies/wakes it and never touches it again.
// Fibers park (the park commit releases lock_, so a release can never miss
// them); plain OS threads sleep on a Note, so results can flow in and out of
// the runtime through gort's sync primitives.
#pragma once

#include <cstdint>

#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/note.hpp"
#include "gort/scheduler/spin_lock.hpp"

namespace gort::detail {

class Sema {
 public:
  // Takes one unit, waiting (parking the fiber, or blocking a plain thread)
  // until one is released. `reason` is the fiber's wait reason meanwhile.
  // lifo queues the caller first (Go: a mutex waiter that already waited).
  void acquire(WaitReason reason, bool lifo = false) noexcept;
  // Takes one unit if available without waiting.
  bool try_acquire() noexcept;
  // Releases one unit: to the oldest waiter if any (it is readied into this
  // P's runnext), else to the count. handoff: the calling fiber also yields,
  // so that the waiter runs at once on this P (Go: semrelease1 with handoff,
  // then goyield). Only where the caller may switch.
  void release(bool handoff = false) noexcept;
  // Waiters currently queued (racy; for tests and dumps).
  std::uint32_t waiters() const noexcept { return nwait_.load(std::memory_order_relaxed); }

 private:
  struct Waiter {
    Waiter* next = nullptr;
    G* g = nullptr;        // a parked fiber, or
    Note* note = nullptr;  // a sleeping plain thread
  };

  SpinLock lock_;
  std::uint32_t count_ GORT_GUARDED_BY(lock_) = 0;
  std::atomic<std::uint32_t> nwait_{0};  // written under lock_, read racily (waiters())
  Waiter* head_ GORT_GUARDED_BY(lock_) = nullptr;
  Waiter* tail_ GORT_GUARDED_BY(lock_) = nullptr;
};

}  // namespace gort::detail
