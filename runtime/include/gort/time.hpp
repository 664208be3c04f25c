// time.hpp - sleeping and timers (Go: time.Sleep, After, AfterFunc,
// NewTimer, NewTicker).
//
//   gort::sleep_for(10ms);                       // parks the fiber, not the thread
//   auto t = gort::after_func(1h, [] { ... });   // runs in a new fiber
//   if (t.stop()) { /* it will not run */ }
//   gort::select(gort::recv(ch, ...),
//                gort::recv(gort::after(100ms), [](auto) { /* timeout */ }));
//   gort::Ticker tick(1s);                       // for (auto t : tick.c()) ...
//
// Channel timers follow Go 1.23: after stop() or reset() returns, no value
// sent before can still be received, and stop() reports true if the value
// had not been received yet. Tickers drop ticks for slow receivers.
//
// Times are std::chrono; deadlines on steady_clock are exact (the runtime's
// clock is CLOCK_MONOTONIC). Timers live in per-P heaps; an idle runtime
// sleeps until its earliest timer. Called from a plain thread (not a fiber),
// sleep_for/sleep_until sleep the thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <utility>

#include "gort/chan.hpp"

namespace gort {

// The clock of every gort deadline and of the values timer channels carry.
using Clock = std::chrono::steady_clock;

namespace detail {
struct TimerState;
void sleep_until_ns(std::int64_t when_ns);
std::int64_t now_ns() noexcept;
std::int64_t deadline_after(std::chrono::nanoseconds d) noexcept;  // saturating
TimerState* start_after_func(std::int64_t when_ns, std::function<void()> fn);
}  // namespace detail

// Go: time.Sleep. Returns at once for d <= 0.
template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& d) {
  if (d <= d.zero()) return;
  detail::sleep_until_ns(detail::deadline_after(std::chrono::ceil<std::chrono::nanoseconds>(d)));
}

template <class Clock, class Duration>
void sleep_until(const std::chrono::time_point<Clock, Duration>& t) {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
    detail::sleep_until_ns(std::chrono::ceil<std::chrono::nanoseconds>(t.time_since_epoch()).count());
  } else {
    sleep_for(t - Clock::now());
  }
}

// A handle on a timer (Go: *time.Timer), from after_func or new_timer.
// Copyable and movable; the timer keeps running when every handle is gone,
// as Go's does. Methods are safe from any fiber or thread.
class Timer {
 public:
  Timer() noexcept = default;
  explicit Timer(detail::TimerState* s) noexcept : state_(s) {}
  Timer(const Timer& o) noexcept;
  Timer(Timer&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
  Timer& operator=(Timer o) noexcept {
    std::swap(state_, o.state_);
    return *this;
  }
  ~Timer();

  // Go: Timer.Stop. True if this call stopped the timer before its function
  // started; false if it had already fired or been stopped.
  bool stop();
  // Go: Timer.Reset. Re-arms the timer to fire after d (again, even if it has
  // already fired). True if it had been active.
  template <class Rep, class Period>
  bool reset(const std::chrono::duration<Rep, Period>& d) {
    return reset_ns(detail::deadline_after(std::chrono::ceil<std::chrono::nanoseconds>(d)));
  }
  explicit operator bool() const noexcept { return state_ != nullptr; }
  // Go: t.C. Receives the time once the timer fires (new_timer); a nil
  // channel for after_func timers, as in Go.
  chan<Clock::time_point> c() const;

 private:
  bool reset_ns(std::int64_t when_ns);
  detail::TimerState* state_ = nullptr;
};

Timer new_timer_ns(std::chrono::nanoseconds d);
chan<Clock::time_point> after_ns(std::chrono::nanoseconds d);

// Go: time.NewTimer. The channel c() receives the time after d.
template <class Rep, class Period>
Timer new_timer(const std::chrono::duration<Rep, Period>& d) {
  return new_timer_ns(std::chrono::ceil<std::chrono::nanoseconds>(d));
}

// Go: time.After. A channel that receives the time once, after d.
template <class Rep, class Period>
chan<Clock::time_point> after(const std::chrono::duration<Rep, Period>& d) {
  return after_ns(std::chrono::ceil<std::chrono::nanoseconds>(d));
}

// Go: time.Ticker. c() receives the time every period; ticks are dropped
// while the receiver is behind (the channel holds one). Stopped on
// destruction. Throws std::invalid_argument for a non-positive period.
class Ticker {
 public:
  template <class Rep, class Period>
  explicit Ticker(const std::chrono::duration<Rep, Period>& period)
      : Ticker(std::chrono::ceil<std::chrono::nanoseconds>(period)) {}
  explicit Ticker(std::chrono::nanoseconds period);
  Ticker(Ticker&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
  Ticker& operator=(Ticker&&) = delete;
  Ticker(const Ticker&) = delete;
  ~Ticker();

  chan<Clock::time_point> c() const;
  void stop();
  template <class Rep, class Period>
  void reset(const std::chrono::duration<Rep, Period>& period) {
    reset(std::chrono::ceil<std::chrono::nanoseconds>(period));
  }
  void reset(std::chrono::nanoseconds period);

 private:
  detail::TimerState* state_ = nullptr;
};

// Go: time.AfterFunc. After d, runs f in a new fiber.
template <class Rep, class Period, class F>
Timer after_func(const std::chrono::duration<Rep, Period>& d, F&& f) {
  return Timer(detail::start_after_func(
      detail::deadline_after(std::chrono::ceil<std::chrono::nanoseconds>(d)),
      std::function<void()>(std::forward<F>(f))));
}

}  // namespace gort
