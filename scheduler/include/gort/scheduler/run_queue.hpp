// run_queue.hpp - a P's local run queue: a 256-slot ring plus the runnext slot.
//
// Go: proc.go runqput, runqget, runqgrab, runqsteal, runqempty; runtime2.go p.runq.
//
// Invariants (single producer, many consumers):
//   INV1 Only the owner P writes tail_ (store-release after writing the slot,
//        which publishes the slot to thieves).
//   INV2 Anybody may consume: load-acquire head_ (thieves also tail_), copy
//        the slots, then CAS-release head_ to commit. The owner's pop CASes too
//        because it races with thieves. A failed CAS discards the copies.
//   INV3 Slots are relaxed atomics: a thief may read a slot the owner is
//        rewriting; the head_ CAS fails in that case, so the torn value is
//        never used.
//   INV4 runnext_: only the owner CASes it to a G; anybody may CAS it to null
//        (steal it). A G in runnext_ inherits the current time slice.
//   INV5 head_/tail_ are free-running uint32 counters; tail_ - head_ is the
//        length, never more than kSize.
//   INV6 With a single P (GOMAXPROCS=1) there are no thieves: the owner may
//        pop with plain loads and stores (pop's `exclusive`), saving the two
//        locked instructions of the CAS path on every switch.
#pragma once

#include <atomic>
#include <cstdint>

#include "gort/scheduler/fiber.hpp"

namespace gort::detail {

class RunQueue {
 public:
  static constexpr std::uint32_t kSize = 256;

  // Owner only. Appends g at the tail; false when the ring is full (the caller
  // then moves half of it to the global queue: runq_put_slow).
  bool push_tail(G* g) noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    if (t - h >= kSize) return false;
    slots_[t % kSize].store(g, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);  // INV1: publishes the slot
    return true;
  }

  // Owner only. Puts g into runnext and returns the G it displaced (or null).
  G* swap_runnext(G* g) noexcept {
    return runnext_.exchange(g, std::memory_order_acq_rel);
  }

  // Owner only: the G the k-th next pop from the ring would return (0: the
  // next), as a prefetch hint. Relaxed and possibly stale (a thief may take
  // it meanwhile): use it for nothing but prefetching (G memory is never
  // unmapped, so even a stale pointer reads harmlessly).
  G* peek(std::uint32_t k = 0) const noexcept {
    std::uint32_t h = head_.load(std::memory_order_relaxed);
    if (tail_.load(std::memory_order_relaxed) - h <= k) return nullptr;
    return slots_[(h + k) % kSize].load(std::memory_order_relaxed);
  }

  // Owner only. runnext first (inherit = true), then the ring head.
  // exclusive: no other P exists (INV6).
  G* pop(bool& inherit, bool exclusive = false) noexcept {
    if (exclusive) {
      G* next = runnext_.load(std::memory_order_relaxed);
      if (next != nullptr) {
        runnext_.store(nullptr, std::memory_order_relaxed);
        inherit = true;
        return next;
      }
      inherit = false;
      std::uint32_t h = head_.load(std::memory_order_relaxed);
      if (tail_.load(std::memory_order_relaxed) == h) return nullptr;
      G* g = slots_[h % kSize].load(std::memory_order_relaxed);
      head_.store(h + 1, std::memory_order_release);
      return g;
    }
    G* next = runnext_.load(std::memory_order_relaxed);
    if (next != nullptr &&
        runnext_.compare_exchange_strong(next, nullptr, std::memory_order_acq_rel)) {
      inherit = true;
      return next;
    }
    inherit = false;
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_relaxed);
      if (t == h) return nullptr;
      G* g = slots_[h % kSize].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        return g;
      }
    }
  }

  // Owner only, ring full. Takes the older half of the ring into batch[0..n)
  // and returns n, or 0 if a thief moved the head meanwhile (retry push).
  // Go: proc.go runqputslow (the CAS part).
  std::uint32_t grab_half_for_overflow(G** batch, std::uint32_t h, std::uint32_t t) noexcept {
    std::uint32_t n = (t - h) / 2;
    for (std::uint32_t i = 0; i < n; i++) {
      batch[i] = slots_[(h + i) % kSize].load(std::memory_order_relaxed);
    }
    if (!head_.compare_exchange_strong(h, h + n, std::memory_order_release,
                                       std::memory_order_relaxed)) {
      return 0;
    }
    return n;
  }
  std::uint32_t head_acquire() const noexcept { return head_.load(std::memory_order_acquire); }
  std::uint32_t tail_relaxed() const noexcept { return tail_.load(std::memory_order_relaxed); }

  // Any thread. Go: runqempty - re-reads tail so that a G moving from runnext
  // into the ring between the loads is not missed.
  bool empty() const noexcept {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_acquire);
      G* next = runnext_.load(std::memory_order_acquire);
      if (tail_.load(std::memory_order_acquire) == t) return h == t && next == nullptr;
    }
  }

  // Any thread; racy. Whether the ring (not runnext) holds work: what a
  // watching spinner polls (see schedule.cpp find_runnable). runnext is left
  // to its owner, which is about to run it; polling it would pull the line
  // that the owner rewrites at every hand-off into the watcher's cache.
  bool ring_empty() const noexcept {
    return head_.load(std::memory_order_relaxed) == tail_.load(std::memory_order_relaxed);
  }
  // Any thread; racy. Whether runnext holds a G.
  bool has_runnext() const noexcept { return runnext_.load(std::memory_order_relaxed) != nullptr; }

  // Any thread; approximate (schedtrace, sysmon).
  std::uint32_t size_hint() const noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t t = tail_.load(std::memory_order_acquire);
    std::uint32_t n = t - h;
    if (n > kSize) n = kSize;
    return n + (runnext_.load(std::memory_order_relaxed) != nullptr ? 1 : 0);
  }

  // Thief (the owner of *this, which must be empty) steals half of victim's
  // ring into its own ring, returns one G to run now and publishes the rest.
  // With steal_runnext and an empty ring, takes the victim's runnext instead;
  // victim_running makes it back off briefly first, because a running victim
  // usually readies a G and blocks at once (Go: the usleep(3) in runqgrab).
  // Go: proc.go runqsteal + runqgrab.
  G* steal_from(RunQueue& victim, bool steal_runnext, bool victim_running) noexcept;

  // Drops every entry (runtime teardown only; no concurrent users).
  template <class F>
  void drain(F&& f) noexcept {
    if (G* g = runnext_.exchange(nullptr)) f(g);
    std::uint32_t h = head_.load(), t = tail_.load();
    for (; h != t; h++) f(slots_[h % kSize].load());
    head_.store(t);
  }

 private:
  // Thief side of a steal: copies up to half of this ring into dst slots
  // starting at dst_tail, commits with a head CAS. Returns the count.
  std::uint32_t grab(std::atomic<G*>* dst, std::uint32_t dst_tail, bool steal_runnext,
                     bool victim_running) noexcept;

  alignas(64) std::atomic<std::uint32_t> head_{0};  // consumers CAS (INV2)
  alignas(64) std::atomic<std::uint32_t> tail_{0};  // owner writes (INV1)
  alignas(64) std::atomic<G*> runnext_{nullptr};    // INV4; own line: rewritten at every hand-off
  alignas(64) std::atomic<G*> slots_[kSize]{};      // INV3
};

}  // namespace gort::detail
