// timer_heap.hpp - per-P timers: a 4-ary min-heap ordered by `when`.
//
// Go: time.go (1.14+ per-P timers: timers.addHeap, deleteMin, check, wakeTime).
//
// Every P owns one TimerHeap. A timer goes into the heap of the P that armed
// it; any thread may stop it. Unlike Go 1.14-1.22 (lock-free status machine
// with lazy deletion) each heap has a mutex and deletion is eager: simpler,
// and the lock is almost never contended because other threads only touch a
// heap to stop a timer or to run an idle P's expired timers.
//
// Invariants:
//   INV1 t->heap is the heap holding t, or null. It is written only under that
//        heap's mutex; readers (stop) re-check it after locking.
//   INV2 t->index and t->when are guarded by the holding heap's mutex.
//   INV3 min_when_ mirrors heap_[0]->when (0 when empty); written under the
//        mutex, read lock-free by schedulers deciding whether to run timers
//        and how long an idle M may sleep (Go: timers.wakeTime).
//   INV4 A timer's callback runs with no lock held, on an M that holds a P,
//        after the timer left the heap (one-shot) or was rescheduled
//        (periodic). The firing code never touches the Timer after calling fn,
//        so fn may free it (a sleeping fiber's timer lives on its stack). A
//        concurrent stop() may run while fn runs: owners that free the timer
//        on stop use `pin` to keep it alive until fn is done.
//   INV5 `pin` runs under the heap's mutex before a one-shot timer leaves the
//        heap (the release store of heap = null). A stop() that finds it gone
//        therefore sees everything pin wrote: an owner can tell "fired and
//        delivered" from "popped, fire still to come" (time.cpp's `firing`).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "gort/scheduler/os_mutex.hpp"
#include "gort/scheduler/thread_annotations.hpp"

namespace gort::detail {

class TimerHeap;

struct Timer {
  std::int64_t when = 0;    // nanotime of the next expiry
  std::int64_t period = 0;  // > 0: periodic (missed periods are skipped, as Go does)
  // token: what pin returned for this fire (0 without pin).
  void (*fn)(Timer* t, std::int64_t now, std::uint64_t token) = nullptr;
  // Called instead of fn for timers still armed when a runtime shuts down.
  void (*abandon)(Timer* t) noexcept = nullptr;
  // Called under the heap's lock when the timer is due, before it leaves the
  // heap (INV5) and before fn runs (the lock is released before fn). Lets
  // the owner pin the timer's state for the duration of fn, and snapshot
  // what a concurrent stop may change: the snapshot is returned and handed
  // to this fire's fn, not stored in the timer, because a timer re-armed
  // meanwhile may pop and pin again, on another P, before this fn runs.
  std::uint64_t (*pin)(Timer* t) noexcept = nullptr;
  void* arg = nullptr;
  std::atomic<TimerHeap*> heap{nullptr};  // INV1
  std::int32_t index = -1;                // INV2
};

class TimerHeap {
 public:
  // Arms t (which must not be in any heap) to fire at `when`. Returns true if
  // t became this heap's earliest timer (the caller may need to wake a
  // sleeping poller: Go's wakeNetPoller).
  bool add(Timer* t, std::int64_t when) GORT_EXCLUDES(mu_);

  // Disarms t wherever it is. True if it was armed (it will not fire); false
  // if it already fired, is firing, or was never armed. Any thread.
  static bool stop(Timer* t);

  // Runs every timer due at `now`. Returns the earliest remaining expiry, or
  // 0 when the heap is empty. Must be called by an M holding a P.
  std::int64_t run_expired(std::int64_t now) GORT_EXCLUDES(mu_);

  // Earliest expiry, 0 if none. Lock-free (INV3).
  std::int64_t min_when() const noexcept { return min_when_.load(std::memory_order_acquire); }
  std::size_t size() const GORT_EXCLUDES(mu_);

  // Teardown: removes every timer and calls its `abandon` hook.
  void abandon_all() GORT_EXCLUDES(mu_);

 private:
  // Sched::lock names mu_ in its lock order (sched.lock -> TimerHeap::mu_).
  friend struct Sched;

  void sift_up(std::size_t i) GORT_REQUIRES(mu_);
  void sift_down(std::size_t i) GORT_REQUIRES(mu_);
  void remove_at(std::size_t i) GORT_REQUIRES(mu_);
  void publish_min() GORT_REQUIRES(mu_);

  mutable OsMutex mu_;
  std::vector<Timer*> heap_ GORT_GUARDED_BY(mu_);
  std::atomic<std::int64_t> min_when_{0};  // INV3
};

}  // namespace gort::detail
