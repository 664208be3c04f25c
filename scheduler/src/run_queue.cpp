// run_queue.cpp - the thief side of the local run queue. Invariants: run_queue.hpp.
#include "gort/scheduler/run_queue.hpp"

#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/spin_lock.hpp"

namespace gort::detail {

std::uint32_t RunQueue::grab(std::atomic<G*>* dst, std::uint32_t dst_tail, bool steal_runnext,
                             bool victim_running) noexcept {
  for (;;) {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t t = tail_.load(std::memory_order_acquire);
    std::uint32_t n = t - h;
    n = n - n / 2;
    if (n == 0) {
      if (!steal_runnext) return 0;
      G* next = runnext_.load(std::memory_order_acquire);
      if (next == nullptr) return 0;
      if (victim_running) {
        // The victim is likely about to park and run `next` itself; stealing
        // it now would only bounce it between threads. Go sleeps 3 us here
        // (usleep(3)); a nanosleep that short actually lasts the thread's
        // timer slack (50 us by default) plus a wakeup, so gort waits 3 us
        // busily instead.
        std::int64_t until = nanotime() + 3000;
        while (nanotime() < until) cpu_relax();
      }
      if (!runnext_.compare_exchange_strong(next, nullptr, std::memory_order_acq_rel)) continue;
      dst[dst_tail % kSize].store(next, std::memory_order_relaxed);
      return 1;
    }
    if (n > kSize / 2) continue;  // torn read of head/tail: retry
    for (std::uint32_t i = 0; i < n; i++) {
      G* g = slots_[(h + i) % kSize].load(std::memory_order_relaxed);
      dst[(dst_tail + i) % kSize].store(g, std::memory_order_relaxed);
    }
    if (head_.compare_exchange_strong(h, h + n, std::memory_order_release,
                                      std::memory_order_relaxed)) {
      return n;
    }
  }
}

G* RunQueue::steal_from(RunQueue& victim, bool steal_runnext, bool victim_running) noexcept {
  std::uint32_t t = tail_.load(std::memory_order_relaxed);
  std::uint32_t n = victim.grab(slots_, t, steal_runnext, victim_running);
  if (n == 0) return nullptr;
  n--;
  G* g = slots_[(t + n) % kSize].load(std::memory_order_relaxed);
  if (n == 0) return g;
  tail_.store(t + n, std::memory_order_release);  // INV1: publish the stolen batch
  return g;
}

}  // namespace gort::detail
