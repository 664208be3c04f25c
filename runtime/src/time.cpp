// time.cpp - sleep and after_func timers on the per-P timer heaps.
//
// Go: time.go timeSleep/resetForSleep (the timer is armed by the park commit,
// after the fiber left its stack, so even a tiny sleep cannot ready a fiber
// that has not finished parking), time/sleep.go AfterFunc.
#include "gort/time.hpp"

#include "gort/chan.hpp"

#include <limits>
#include <stdexcept>
#include <thread>

#include "gort/scheduler/os_mutex.hpp"

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

void arm(Timer* t, std::int64_t when) noexcept { timer_add(t, when); }

bool sleep_commit(G*, void* arg) {
  auto* t = static_cast<Timer*>(arg);
  arm(t, t->when);
  return true;
}

void sleep_fire(Timer* t, std::int64_t, std::uint64_t) { ready_tail(static_cast<G*>(t->arg)); }

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
// The state behind gort::Timer and gort::Ticker. References: one per handle,
// one while armed (held by the heap; it moves to the fiber of an after_func
// and ends with a one-shot channel send), and one per running callback (pin).
// `mu` serialises stop/reset with the channel sends; `seq` changes on every
// stop/reset, so a send that lost the race to them is dropped (Go 1.23: no
// stale value can be received after Stop or Reset returns).
struct TimerState {
  Timer timer;
  std::atomic<int> refs{1};
  OsMutex mu;  // never held across a switch
  std::atomic<std::uint64_t> seq{0};
  // The seq of the last arming whose fire was popped and pinned and whose
  // chan_fire has not yet decided under `mu` (kNone: none). Stored by pin
  // (under the heap lock, visible to a stop that finds the timer gone:
  // timer_heap.hpp INV5); cleared by that fire's chan_fire under mu, only if
  // it is still its own (a CAS: an older arming's late fire must not clear a
  // newer pin). stop/reset compare it under mu with the current arming's
  // seq: equal means the current arming's value is on its way, so the
  // arming was still active and the seq bump drops that value. Each fire
  // also carries its own pinned seq (its token), so a fire of an arming that
  // a stop or reset ended is dropped even if a later arming pinned since.
  static constexpr std::uint64_t kNone = ~std::uint64_t{0};
  std::atomic<std::uint64_t> pinned{kNone};
  std::function<void()> fn;    // after_func timers
  chan<Clock::time_point> ch;  // channel timers and tickers (capacity 1)

  void ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  void unref() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

namespace {
TimerState* state(Timer* t) noexcept { return static_cast<TimerState*>(t->arg); }

std::uint64_t pin(Timer* t) noexcept {
  TimerState* st = state(t);
  st->ref();
  std::uint64_t seq = st->seq.load(std::memory_order_relaxed);
  st->pinned.store(seq, std::memory_order_relaxed);
  return seq;
}

void abandon(Timer* t) noexcept { state(t)->unref(); }

void after_func_fire(Timer* t, std::int64_t, std::uint64_t) {
  TimerState* st = state(t);
  // The heap's reference moves to the fiber (Go: AfterFunc runs f in a new goroutine).
  auto run = [st] {
    struct Unref {
      TimerState* s;
      ~Unref() { s->unref(); }
    } unref{st};
    st->fn();
  };
  spawn(EntryOps<decltype(run)>::entry, &run, 0);
  st->unref();  // the pin
}

// Go: sendTime. Runs on the M that runs the timer (with a P): a non-blocking
// send, so a slow receiver misses ticks instead of stalling the timer.
void chan_fire(Timer* t, std::int64_t now, std::uint64_t pinned_seq) {
  TimerState* st = state(t);
  bool periodic;
  {
    LockGuard lk(st->mu);
    std::uint64_t mine = pinned_seq;
    st->pinned.compare_exchange_strong(mine, TimerState::kNone, std::memory_order_relaxed);
    // Read under mu: reset_timer writes period under mu, not under the heap's
    // lock. Only Ticker::reset changes it, positive to positive, so this is
    // still what the heap did with the timer (kept it, or dropped it).
    periodic = t->period > 0;
    if (st->seq.load(std::memory_order_relaxed) == pinned_seq) {
      st->ch.try_send(Clock::time_point{std::chrono::nanoseconds(now)});
    }
  }
  if (!periodic) st->unref();  // a one-shot timer's heap reference ends here
  st->unref();                 // the pin
}

// Drops a value the timer sent but nobody received. Under mu, which orders
// it with chan_fire's send.
bool drain(TimerState* st) GORT_REQUIRES(st->mu) {
  bool drained = false;
  while (st->ch.try_recv()) drained = true;
  return drained;
}

TimerState* new_state(void (*fire)(Timer*, std::int64_t, std::uint64_t)) {
  if (g_sched == nullptr) throw std::logic_error("gort: timers need a running gort runtime (gort::run)");
  auto* st = new TimerState();
  st->timer.fn = fire;
  st->timer.abandon = &abandon;
  st->timer.pin = &pin;
  st->timer.arg = st;
  return st;
}
}  // namespace

TimerState* start_after_func(std::int64_t when, std::function<void()> fn) {
  TimerState* st = new_state(&after_func_fire);
  st->fn = std::move(fn);
  RuntimeScope scope;
  st->ref();  // the heap's
  arm(&st->timer, when);
  return st;
}

TimerState* start_chan_timer(std::int64_t when, std::int64_t period) {
  TimerState* st = new_state(&chan_fire);
  st->ch = chan<Clock::time_point>(1);
  st->timer.period = period;
  RuntimeScope scope;
  st->ref();  // the heap's
  arm(&st->timer, when);
  return st;
}

chan<Clock::time_point> timer_chan(TimerState* st) { return st ? st->ch : chan<Clock::time_point>(); }

void ref_timer(TimerState* st) noexcept {
  if (st) st->ref();
}
void unref_timer(TimerState* st) noexcept {
  if (st) st->unref();
}

// Go 1.23 (time.go t.stop/t.modify with isSending): a channel timer that is
// due but whose value is not yet sent is still active; the seq bump makes
// chan_fire drop that value. Order matters: the heap is asked first, so a
// fire popped before that was pinned with the old seq (INV5 of
// timer_heap.hpp) and is dropped, and `pinned` tells that it was pending.
// A fire popped after the bump cannot exist: the timer is out of the heap.
bool stop_timer(TimerState* st) {
  if (st == nullptr) return false;
  RuntimeScope scope(false);
  LockGuard lk(st->mu);
  bool active = TimerHeap::stop(&st->timer);
  std::uint64_t cur = st->seq.fetch_add(1, std::memory_order_relaxed);  // the arming being ended
  if (active) st->unref();  // the heap's reference (never the last: the caller holds one)
  if (st->ch && st->pinned.load(std::memory_order_relaxed) == cur) active = true;
  if (st->ch && drain(st)) active = true;
  return active;
}

bool reset_timer(TimerState* st, std::int64_t when, std::int64_t period) {
  if (st == nullptr) return false;
  // Arming needs a P's heap (M5 of the review: a null scheduler before).
  if (g_sched == nullptr) throw std::logic_error("gort: timers need a running gort runtime (gort::run)");
  RuntimeScope scope(false);
  LockGuard lk(st->mu);
  bool armed = TimerHeap::stop(&st->timer);
  std::uint64_t cur = st->seq.fetch_add(1, std::memory_order_relaxed);  // the arming being ended
  bool active = armed;
  if (st->ch && st->pinned.load(std::memory_order_relaxed) == cur) active = true;
  if (st->ch && drain(st)) active = true;
  if (!armed) st->ref();  // re-arming: the heap needs a reference again
  if (period >= 0) st->timer.period = period;
  arm(&st->timer, when);
  return active;
}

}  // namespace detail

Timer::Timer(const Timer& o) noexcept : state_(o.state_) { detail::ref_timer(state_); }

Timer::~Timer() { detail::unref_timer(state_); }

bool Timer::stop() { return detail::stop_timer(state_); }

bool Timer::reset_ns(std::int64_t when) { return detail::reset_timer(state_, when, -1); }

chan<Clock::time_point> Timer::c() const { return detail::timer_chan(state_); }

Ticker::Ticker(std::chrono::nanoseconds d) {
  if (d <= d.zero()) throw std::invalid_argument("gort::Ticker: non-positive interval");
  state_ = detail::start_chan_timer(detail::deadline_after(d), d.count());
}

Ticker::~Ticker() {
  detail::stop_timer(state_);
  detail::unref_timer(state_);
}

void Ticker::stop() { detail::stop_timer(state_); }

void Ticker::reset(std::chrono::nanoseconds d) {
  if (d <= d.zero()) throw std::invalid_argument("gort::Ticker::reset: non-positive interval");
  detail::reset_timer(state_, detail::deadline_after(d), d.count());
}

chan<Clock::time_point> Ticker::c() const { return detail::timer_chan(state_); }

Timer new_timer_ns(std::chrono::nanoseconds d) {
  return Timer(detail::start_chan_timer(detail::deadline_after(d), 0));
}

chan<Clock::time_point> after_ns(std::chrono::nanoseconds d) {
  // The timer keeps running without a handle (Go: time.After).
  detail::TimerState* st = detail::start_chan_timer(detail::deadline_after(d), 0);
  chan<Clock::time_point> ch = detail::timer_chan(st);
  detail::unref_timer(st);
  return ch;
}

}  // namespace gort
