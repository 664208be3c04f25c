// sleep and timers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "gort/gort.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("sleepers wake in deadline order, never early", "[runtime][time]") {
  std::vector<int> order;
  bool early = false;
  gort::run(gort::Config{.gomaxprocs = 1}, [&] {
    std::vector<int> ms(10);
    std::iota(ms.begin(), ms.end(), 1);
    std::shuffle(ms.begin(), ms.end(), std::mt19937(7));
    gort::WaitGroup wg;
    wg.add(static_cast<int>(ms.size()));
    for (int d : ms) {
      gort::go([&, d] {
        auto start = Clock::now();
        gort::sleep_for(std::chrono::milliseconds(d * 3));
        if (Clock::now() - start < std::chrono::milliseconds(d * 3)) early = true;
        order.push_back(d);
        wg.done();
      });
    }
    wg.wait();
  });
  std::vector<int> sorted(order);
  std::sort(sorted.begin(), sorted.end());
  REQUIRE(order == sorted);
  REQUIRE_FALSE(early);
}

TEST_CASE("many sleepers on several P's all wake, none early", "[runtime][time]") {
  std::atomic<int> woke{0}, early{0};
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    gort::WaitGroup wg;
    wg.add(2000);
    for (int i = 0; i < 2000; i++) {
      gort::go([&, i] {
        auto d = std::chrono::microseconds(100 * (i % 50));
        auto until = Clock::now() + d;
        gort::sleep_until(until);
        if (Clock::now() < until) early++;
        woke++;
        wg.done();
      });
    }
    wg.wait();
  });
  REQUIRE(woke == 2000);
  REQUIRE(early == 0);
}

TEST_CASE("sleep_for with zero or negative duration returns at once", "[runtime][time]") {
  gort::run([] {
    auto t0 = Clock::now();
    gort::sleep_for(0ms);
    gort::sleep_for(-5ms);
    gort::sleep_until(Clock::now() - 1s);
    REQUIRE(Clock::now() - t0 < 50ms);
  });
}

TEST_CASE("sleep_for on a plain thread sleeps the thread", "[runtime][time]") {
  auto t0 = Clock::now();
  gort::sleep_for(5ms);
  REQUIRE(Clock::now() - t0 >= 5ms);
}

TEST_CASE("after_func runs its function in a new fiber", "[runtime][time]") {
  std::uint64_t ran_in = 0, main_id = 0;
  gort::run([&] {
    main_id = gort::this_fiber::id();
    gort::WaitGroup wg;
    wg.add(1);
    auto t = gort::after_func(2ms, [&] {
      ran_in = gort::this_fiber::id();
      wg.done();
    });
    wg.wait();
    REQUIRE_FALSE(t.stop());  // already fired
  });
  REQUIRE(ran_in != 0);
  REQUIRE(ran_in != main_id);
}

TEST_CASE("Timer stop and reset follow Go's return values", "[runtime][time]") {
  std::atomic<int> fired{0};
  gort::run([&] {
    gort::WaitGroup wg;
    auto t = gort::after_func(1h, [&] {
      fired++;
      wg.done();
    });
    REQUIRE(t.stop());             // was active
    REQUIRE_FALSE(t.stop());       // already stopped
    wg.add(1);
    REQUIRE_FALSE(t.reset(1ms));   // re-armed; it was not active
    wg.wait();                     // ...and it fires
    REQUIRE(fired == 1);
    REQUIRE_FALSE(t.reset(1h));    // re-armed after firing: was not active
    REQUIRE(t.reset(1h));          // active: true
    REQUIRE(t.stop());
    gort::Timer copy = t;          // handles share the timer
    REQUIRE_FALSE(copy.stop());
    gort::Timer empty;
    REQUIRE_FALSE(empty.stop());
    REQUIRE_FALSE(static_cast<bool>(empty));
  });
  REQUIRE(fired == 1);
}

TEST_CASE("a timer keeps running when its handle is dropped, as in Go", "[runtime][time]") {
  std::atomic<bool> ran{false};
  gort::run([&] {
    gort::WaitGroup wg;
    wg.add(1);
    (void)gort::after_func(1ms, [&] {
      ran = true;
      wg.done();
    });
    wg.wait();
  });
  REQUIRE(ran);
}

TEST_CASE("timers of an idle P are served", "[runtime][time]") {
  // The sleeper's timer sits in one P's heap; the main fiber then blocks its
  // thread in a blocking section. The timer must still fire on time.
  bool woke = false;
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    std::atomic<bool> flag{false};
    gort::go([&] {
      gort::sleep_for(5ms);
      flag = true;
    });
    gort::yield();
    gort::blocking([&] {
      auto deadline = Clock::now() + 5s;
      while (!flag.load() && Clock::now() < deadline) std::this_thread::sleep_for(100us);
    });
    woke = flag.load();
  });
  REQUIRE(woke);
}

TEST_CASE("after: a channel that receives the time once", "[runtime][time]") {
  gort::run([] {
    auto t0 = gort::Clock::now();
    auto ch = gort::after(10ms);
    auto when = ch.recv();
    REQUIRE(when.has_value());
    REQUIRE(*when >= t0 + 10ms);
    REQUIRE(gort::Clock::now() >= t0 + 10ms);
    REQUIRE_FALSE(ch.try_recv().has_value());  // only once
  });
}

TEST_CASE("new_timer: Go 1.23 stop and reset semantics, no stale values", "[runtime][time]") {
  gort::run([] {
    auto t = gort::new_timer(1h);
    REQUIRE(t.stop());        // was running
    REQUIRE_FALSE(t.stop());  // already stopped
    REQUIRE_FALSE(t.c().try_recv().has_value());

    auto fired = gort::new_timer(1ms);
    while (fired.c().len() == 0) gort::yield();  // it fires and its value waits in the channel
    REQUIRE(fired.stop());  // not received yet: Stop reports true (Go 1.23)...
    REQUIRE_FALSE(fired.c().try_recv().has_value());  // ...and the stale value is gone

    auto r = gort::new_timer(1ms);
    while (r.c().len() == 0) gort::yield();
    REQUIRE(r.reset(5ms));  // the unreceived fire counts as active; dropped
    auto t0 = gort::Clock::now();
    auto v = r.c().recv();  // the value from the reset timer, not the stale one
    REQUIRE(v.has_value());
    REQUIRE(*v >= t0);
    REQUIRE_FALSE(r.reset(1h));  // it had fired and been received
    REQUIRE(r.stop());
    gort::Timer f = gort::after_func(1h, [] {});
    REQUIRE_FALSE(static_cast<bool>(f.c()));  // after_func timers have no channel, as in Go
    f.stop();
  });
}

TEST_CASE("Ticker: ticks periodically, drops ticks for slow receivers, stops", "[runtime][time]") {
  gort::run([] {
    // From before the Ticker exists: its first deadline is taken inside the
    // constructor, which may itself take milliseconds (it can start an M;
    // under TSan a new thread costs 3-4 ms).
    auto t0 = gort::Clock::now();
    gort::Ticker tick(2ms);
    for (int i = 0; i < 5; i++) REQUIRE(tick.c().recv().has_value());
    REQUIRE(gort::Clock::now() - t0 >= 9ms);
    gort::sleep_for(20ms);                    // ~10 periods without receiving...
    while (tick.c().len() == 0) gort::yield();  // (on a loaded machine, at least one)
    REQUIRE(tick.c().len() == 1);             // ...leave one tick waiting
    tick.stop();
    REQUIRE_FALSE(tick.c().try_recv().has_value());  // and stop dropped it
    gort::sleep_for(6ms);
    REQUIRE_FALSE(tick.c().try_recv().has_value());  // no ticks after stop
    tick.reset(1ms);
    REQUIRE(tick.c().recv().has_value());
    REQUIRE_THROWS_AS(gort::Ticker(0ms), std::invalid_argument);
  });
}
