// timer_heap.cpp - per-P 4-ary timer heap. Invariants: timer_heap.hpp.
#include "gort/scheduler/timer_heap.hpp"

#include <new>
#include <utility>

#include "gort/scheduler/sched.hpp"

namespace gort::detail {

namespace {
constexpr std::size_t kArity = 4;  // Go: timerHeapN
}

void TimerHeap::publish_min() {
  min_when_.store(heap_.empty() ? 0 : heap_[0]->when, std::memory_order_release);
}

void TimerHeap::sift_up(std::size_t i) {
  Timer* t = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / kArity;
    if (heap_[parent]->when <= t->when) break;
    heap_[i] = heap_[parent];
    heap_[i]->index = static_cast<std::int32_t>(i);
    i = parent;
  }
  heap_[i] = t;
  t->index = static_cast<std::int32_t>(i);
}

void TimerHeap::sift_down(std::size_t i) {
  Timer* t = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t first = i * kArity + 1;
    if (first >= n) break;
    std::size_t best = first;
    std::size_t last = first + kArity < n ? first + kArity : n;
    for (std::size_t c = first + 1; c < last; c++) {
      if (heap_[c]->when < heap_[best]->when) best = c;
    }
    if (t->when <= heap_[best]->when) break;
    heap_[i] = heap_[best];
    heap_[i]->index = static_cast<std::int32_t>(i);
    i = best;
  }
  heap_[i] = t;
  t->index = static_cast<std::int32_t>(i);
}

void TimerHeap::remove_at(std::size_t i) {
  Timer* last = heap_.back();
  heap_.pop_back();
  if (i < heap_.size()) {
    heap_[i] = last;
    last->index = static_cast<std::int32_t>(i);
    sift_down(i);
    sift_up(static_cast<std::size_t>(last->index));
  }
}

bool TimerHeap::add(Timer* t, std::int64_t when) {
  LockGuard lk(mu_);
  t->when = when;
  try {
    heap_.push_back(t);
  } catch (const std::bad_alloc&) {
    // Callers are noexcept (timer_add): say why instead of std::terminate.
    fatal("gort: out of memory arming a timer");
  }
  sift_up(heap_.size() - 1);
  t->heap.store(this, std::memory_order_release);
  bool earliest = heap_[0] == t;
  publish_min();
  return earliest;
}

bool TimerHeap::stop(Timer* t) {
  for (;;) {
    TimerHeap* h = t->heap.load(std::memory_order_acquire);
    if (h == nullptr) return false;
    LockGuard lk(h->mu_);
    if (t->heap.load(std::memory_order_relaxed) != h) continue;  // moved or fired: re-check
    h->remove_at(static_cast<std::size_t>(t->index));
    t->index = -1;
    t->heap.store(nullptr, std::memory_order_release);
    h->publish_min();
    return true;
  }
}

std::int64_t TimerHeap::run_expired(std::int64_t now) {
  std::int64_t next = min_when();
  if (next == 0 || now < next) return next;
  UniqueLock lk(mu_);
  while (!heap_.empty()) {
    Timer* t = heap_[0];
    if (t->when > now) break;
    auto fn = t->fn;
    // Pin before the timer leaves the heap: a stop() that then finds it
    // gone (heap == null, acquire) also sees what pin recorded (INV5).
    std::uint64_t token = t->pin ? t->pin(t) : 0;
    if (t->period > 0) {
      // Skip the periods that were missed entirely (Go: unlockAndRun).
      t->when += t->period * (1 + (now - t->when) / t->period);
      sift_down(0);
    } else {
      remove_at(0);
      t->index = -1;
      t->heap.store(nullptr, std::memory_order_release);
    }
    publish_min();
    lk.unlock();
    fn(t, now, token);  // INV4: t is not touched again
    lk.lock();
  }
  return heap_.empty() ? 0 : heap_[0]->when;
}

std::size_t TimerHeap::size() const {
  LockGuard lk(mu_);
  return heap_.size();
}

void TimerHeap::abandon_all() {
  std::vector<Timer*> timers;
  {
    LockGuard lk(mu_);
    timers.swap(heap_);
    for (Timer* t : timers) {
      t->index = -1;
      t->heap.store(nullptr, std::memory_order_release);
    }
    publish_min();
  }
  for (Timer* t : timers) {
    if (t->abandon) t->abandon(t);
  }
}

}  // namespace gort::detail
