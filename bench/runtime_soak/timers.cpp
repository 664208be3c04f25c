// timers.cpp - the timer workload of the runtime soak.
//
// Checks, every round:
//   - Channel timers under stop/reset races (Go 1.23 semantics). Each timer
//     has a receiver parked in a select on t.c() and a quit channel, and a
//     controller that resets it 0-3 times at random moments (often while
//     it is firing) and finally stops it. Every arming (the start and each
//     reset) ends in exactly one of: its value received, or a stop()/reset()
//     that returned true. So received + true returns == 1 + resets, exactly:
//     a lost value, a stale one delivered after stop/reset, or a true return
//     whose value still arrives all break it.
//   - after_func callbacks, same ledger: runs + true returns == armings per
//     timer; a callback that runs more often than its timer was armed fails
//     at once; no callback arrives after the ledger was closed.
//   - Tickers: 5 ticks, strictly increasing, the first no earlier than one
//     period after the start (and after a reset, one new period after it);
//     after stop() nothing arrives within three periods.
//   - sleep_for never returns early.
#include "soak.hpp"

#include <memory>
#include <vector>

namespace soak {
namespace {

constexpr int kChanTimers = 32;
constexpr int kAfterFuncs = 32;
constexpr int kMaxResets = 3;
constexpr int kTickers = 3;
constexpr int kSleepers = 16;

struct ChanTimer {
  gort::Timer t;
  gort::chan<int> quit{0};
  std::atomic<int> received{0};
  int armings = 1;   // controller only
  int cancelled = 0;  // controller only
};

void chan_timers(Rng& rng) {
  std::vector<ChanTimer> ts(kChanTimers);
  gort::WaitGroup wg;
  wg.add(2 * kChanTimers);
  for (int i = 0; i < kChanTimers; i++) {
    ChanTimer& ct = ts[i];
    ct.t = gort::new_timer(rng.us(1500));
    g.timers.fetch_add(1, std::memory_order_relaxed);
    spawn([&ct, &wg] {  // receiver
      auto c = ct.t.c();
      for (bool quit = false; !quit;) {
        gort::select(gort::recv(c,
                                [&](gort::Clock::time_point tp) {
                                  SOAK_CHECK(tp <= gort::Clock::now(), "timers: a timer value from the future");
                                  ct.received.fetch_add(1, std::memory_order_relaxed);
                                }),
                     gort::recv(ct.quit, [&] { quit = true; }));
      }
      wg.done();
    });
    spawn([&ct, &wg, seed = rng.next()] {  // controller
      Rng r(seed);
      int resets = static_cast<int>(r.below(kMaxResets + 1));
      for (int k = 0; k < resets; k++) {
        if (!r.one_in(4)) gort::sleep_for(r.us(1500));
        ct.armings++;
        if (ct.t.reset(r.us(1500))) ct.cancelled++;
      }
      if (!r.one_in(4)) gort::sleep_for(r.us(2000));
      if (ct.t.stop()) ct.cancelled++;
      ct.quit.close();
      wg.done();
    });
  }
  wg.wait();
  for (int i = 0; i < kChanTimers; i++) {
    const ChanTimer& ct = ts[i];
    int rec = ct.received.load();
    SOAK_CHECK(rec + ct.cancelled == ct.armings,
               "timers: channel timer %d armed %d times, %d values received, %d stop/reset returned true", i,
               ct.armings, rec, ct.cancelled);
    g.fires.fetch_add(rec, std::memory_order_relaxed);
    g.stops.fetch_add(ct.cancelled, std::memory_order_relaxed);
  }
}

struct AfterFuncs {
  std::vector<std::atomic<int>> runs = std::vector<std::atomic<int>>(kAfterFuncs);
  std::vector<std::atomic<int>> armings = std::vector<std::atomic<int>>(kAfterFuncs);
  std::vector<int> cancelled = std::vector<int>(kAfterFuncs, 0);
  gort::chan<int> ran{kAfterFuncs * (kMaxResets + 1)};  // never full: a callback never blocks
};

void after_funcs(Rng& rng) {
  auto st = std::make_shared<AfterFuncs>();
  std::vector<gort::Timer> ts(kAfterFuncs);
  gort::WaitGroup wg;
  wg.add(kAfterFuncs);
  for (int i = 0; i < kAfterFuncs; i++) {
    st->armings[i].store(1);
    ts[i] = gort::after_func(rng.us(1500), [st, i] {
      g.spawned.fetch_add(1, std::memory_order_relaxed);  // a fiber the runtime spawned for us
      Tracked tracked;
      int n = st->runs[i].fetch_add(1) + 1;
      int armed = st->armings[i].load();
      SOAK_CHECK(n <= armed, "timers: after_func %d ran %d times, armed %d times", i, n, armed);
      SOAK_CHECK(st->ran.try_send(i), "timers: after_func ledger channel full");
    });
    g.timers.fetch_add(1, std::memory_order_relaxed);
    spawn([&, i, seed = rng.next()] {
      Rng r(seed);
      int resets = static_cast<int>(r.below(kMaxResets + 1));
      for (int k = 0; k < resets; k++) {
        if (!r.one_in(4)) gort::sleep_for(r.us(1500));
        st->armings[i].fetch_add(1);  // before the reset: its callback may run at once
        if (ts[i].reset(r.us(1500))) st->cancelled[i]++;
      }
      if (!r.one_in(4)) gort::sleep_for(r.us(2000));
      if (ts[i].stop()) st->cancelled[i]++;
      wg.done();
    });
  }
  wg.wait();
  int expected = 0;
  for (int i = 0; i < kAfterFuncs; i++) expected += st->armings[i].load() - st->cancelled[i];
  // The callbacks still due run in their own fibers; collect exactly that many.
  gort::Timer limit = gort::new_timer(30s);
  for (int k = 0; k < expected; k++) {
    bool late = false;
    gort::select(gort::recv(st->ran), gort::recv(limit.c(), [&](auto) { late = true; }));
    SOAK_CHECK(!late, "timers: only %d of %d after_func callbacks ran within 30 s", k, expected);
  }
  limit.stop();
  for (int i = 0; i < kAfterFuncs; i++) {
    int runs = st->runs[i].load(), armed = st->armings[i].load();
    SOAK_CHECK(runs + st->cancelled[i] == armed,
               "timers: after_func %d armed %d times, ran %d times, stop/reset returned true %d times", i, armed,
               runs, st->cancelled[i]);
    g.stops.fetch_add(st->cancelled[i], std::memory_order_relaxed);
  }
  SOAK_CHECK(!st->ran.try_recv(), "timers: an after_func callback ran beyond the ledger");
  g.fires.fetch_add(expected, std::memory_order_relaxed);
}

void ticker(Rng r) {
  auto period = 300us + r.us(1200);
  auto start = gort::Clock::now();
  gort::Ticker tk(period);
  g.timers.fetch_add(1, std::memory_order_relaxed);
  gort::Clock::time_point prev = start, floor = start + period;
  bool reset = r.one_in(2);
  for (int i = 0; i < 5 + (reset ? 2 : 0); i++) {
    if (reset && i == 5) {
      period = 300us + r.us(1200);
      auto at = gort::Clock::now();
      tk.reset(period);
      floor = at + period;
    }
    auto tp = tk.c().recv();
    SOAK_CHECK(tp.has_value(), "timers: ticker channel closed");
    SOAK_CHECK(*tp > prev, "timers: tick %d not after the previous one", i);
    if (i == 0 || (reset && i == 5)) {
      SOAK_CHECK(*tp >= floor, "timers: tick %d came %lld ns before a whole period had passed", i,
                 (long long)std::chrono::nanoseconds(floor - *tp).count());
    }
    prev = *tp;
    g.ticks.fetch_add(1, std::memory_order_relaxed);
  }
  tk.stop();
  int i = gort::select(gort::recv(tk.c()), gort::recv(gort::after(3 * period)));
  SOAK_CHECK(i == 1, "timers: a tick arrived after Ticker::stop returned");
}

}  // namespace

void run_timers(const Round& r) {
  Rng rng(r.seed_for(kTimers));
  gort::WaitGroup wg;
  wg.add(kTickers + kSleepers);
  phase(kTimers, "tickers, sleepers");
  for (int i = 0; i < kTickers; i++) {
    spawn([&, seed = rng.next()] {
      ticker(Rng(seed));
      wg.done();
    });
  }
  for (int i = 0; i < kSleepers; i++) {
    spawn([&, d = rng.us(3000)] {
      auto t0 = gort::Clock::now();
      gort::sleep_for(d);
      auto slept = gort::Clock::now() - t0;
      SOAK_CHECK(slept >= d, "timers: sleep_for(%lld us) returned after %lld ns", (long long)d.count(),
                 (long long)std::chrono::nanoseconds(slept).count());
      wg.done();
    });
  }
  phase(kTimers, "channel timers");
  chan_timers(rng);
  phase(kTimers, "after_func");
  after_funcs(rng);
  phase(kTimers, "tickers, sleepers");
  wg.wait();
  phase(kTimers, "done");
}

}  // namespace soak
