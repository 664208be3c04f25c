// time.cpp - sleep and after_func timers on the per-P timer heaps.
//
// Go: time.go timeSleep/resetForSleep (the timer is armed by the park commit,
// after the fiber left its stack, so even a tiny sleep cannot ready a fiber
// that has not finished parking), time/sleep.go AfterFunc.
#include "gort/time.hpp"

#include <limits>
#include <mutex>
#include <thread>

#include "gort/go.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/sched.hpp"

namespace gort {

namespace detail {

std::int64_t now_ns() noexcept { return nanotime(); }

std::int64_t deadline_after(std::chrono::nanoseconds d) noexcept {
  std::int64_t now = nanotime();
  std::int64_t n = d.count();
  if (n > std::numeric_limits<std::int64_t>::max() - now) return std::numeric_limits<std::int64_t>::max();
  return now + n;
}

namespace {

// The heap of the P this M holds, else P0's (plain threads, P-less fibers).
TimerHeap& local_heap() noexcept {
  M* m = current_m();
  P* p = m != nullptr && m->p != nullptr ? m->p : sched().allp[0];
  return p->timers;
}

void arm(Timer* t, std::int64_t when) noexcept {
  if (local_heap().add(t, when)) wake_netpoller(when);
}

bool sleep_commit(G*, void* arg) {
  auto* t = static_cast<Timer*>(arg);
  arm(t, t->when);
  return true;
}

void sleep_fire(Timer* t, std::int64_t) { ready_tail(static_cast<G*>(t->arg)); }

}  // namespace

void sleep_until_ns(std::int64_t when) {
  if (g_sched == nullptr || current_g() == nullptr) {
    std::int64_t left = when - nanotime();
    if (left > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(left));
    return;
  }
  RuntimeScope scope;
  if (when <= nanotime()) return;
  Timer t;
  t.when = when;
  t.fn = &sleep_fire;
  t.arg = current_g();
  park(&sleep_commit, &t, WaitReason::sleep);
}

// after_func's shared state. References: one per gort::Timer handle, one
// while armed (held by the heap), handed to the fiber that runs fn.
struct TimerState {
  Timer timer;
  std::atomic<int> refs{1};
  std::mutex mu;  // serialises stop/reset (never held across a switch)
  std::function<void()> fn;

  void ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  void unref() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

namespace {
void after_func_fire(Timer* t, std::int64_t) {
  auto* st = static_cast<TimerState*>(t->arg);
  // The heap's reference moves to the fiber (Go: AfterFunc runs f in a new goroutine).
  auto run = [st] {
    struct Unref {
      TimerState* s;
      ~Unref() { s->unref(); }
    } unref{st};
    st->fn();
  };
  spawn(EntryOps<decltype(run)>::entry, &run, 0);
}

void after_func_abandon(Timer* t) noexcept { static_cast<TimerState*>(t->arg)->unref(); }
}  // namespace

TimerState* start_after_func(std::int64_t when, std::function<void()> fn) {
  if (g_sched == nullptr) throw std::logic_error("gort::after_func: the gort runtime is not running");
  RuntimeScope scope;
  auto* st = new TimerState();
  st->fn = std::move(fn);
  st->timer.fn = &after_func_fire;
  st->timer.abandon = &after_func_abandon;
  st->timer.arg = st;
  st->ref();  // the heap's
  arm(&st->timer, when);
  return st;
}

}  // namespace detail

Timer::Timer(const Timer& o) noexcept : state_(o.state_) {
  if (state_) state_->ref();
}

Timer::~Timer() {
  if (state_) state_->unref();
}

bool Timer::stop() {
  if (state_ == nullptr) return false;
  detail::RuntimeScope scope(false);
  std::lock_guard lk(state_->mu);
  if (!detail::TimerHeap::stop(&state_->timer)) return false;
  state_->unref();  // the heap's reference (never the last: we hold one)
  return true;
}

bool Timer::reset_ns(std::int64_t when) {
  if (state_ == nullptr) return false;
  detail::RuntimeScope scope(false);
  std::lock_guard lk(state_->mu);
  bool active = detail::TimerHeap::stop(&state_->timer);
  if (!active) state_->ref();  // re-armed: the heap needs a reference again
  detail::arm(&state_->timer, when);
  return active;
}

}  // namespace gort
