// Timer::stop racing the timer's fire (the review's M2). Go 1.23: "if the
// program has not received from t.C already and the timer is running, Stop
// is guaranteed to return true", and no value arrives after it. Before the
// fix a stop that landed between the heap's pop and the channel send
// returned false and the send was then dropped, so the pre-1.23 idiom
// `if (!t.stop()) t.c().recv();` hung.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "gort/gort.hpp"

using namespace std::chrono_literals;

TEST_CASE("Timer::stop racing the fire: true while the value is unreceived, and nothing arrives after", "[runtime][time]") {
  // Per round, kTimers timers fall due together; P0 fires them in heap order
  // while a plain thread, started by the first fire, stops them in the
  // opposite order, so the two sweeps cross: there a stop meets a fire in
  // progress. No sleeps: the sweeps meet wherever they meet.
  constexpr int kRounds = 1000;
  constexpr int kTimers = 400;
  int stopped_false = 0, stopped_true = 0, hung = 0, stale = 0;
  gort::run(gort::Config{.gomaxprocs = 1}, [&] {
    std::mt19937 rng(12345);
    for (int round = 0; round < kRounds; round++) {
      std::vector<gort::Timer> timers;
      timers.reserve(kTimers);
      auto due = gort::Clock::now() + 300us;
      // The probe falls due first: once its value is there, P0 is firing
      // the rest, in order.
      gort::Timer probe = gort::new_timer(due - 1us - gort::Clock::now());
      for (int i = 0; i < kTimers; i++) timers.push_back(gort::new_timer(due - gort::Clock::now()));
      std::vector<char> stopped(kTimers, 0);
      // Start the backward sweep at once, or after up to 2,000 spins, so
      // the crossing point moves around.
      unsigned delay = rng() % 2000;
      gort::chan<int> done(1);
      std::thread stopper([&] {
        while (!probe.c().try_recv()) {
        }
        for (unsigned k = 0; k < delay; k++) asm volatile("" ::: "memory");
        for (int i = kTimers - 1; i >= 0; i--) stopped[static_cast<std::size_t>(i)] = timers[static_cast<std::size_t>(i)].stop();
        done.send(1);
      });
      done.recv();  // P0 is idle meanwhile: it runs the timers when due
      stopper.join();
      for (int i = 0; i < kTimers; i++) {
        auto& t = timers[static_cast<std::size_t>(i)];
        if (stopped[static_cast<std::size_t>(i)]) {
          stopped_true++;
          continue;
        }
        stopped_false++;
        // What the old bug did to the idiom: no value was ever coming.
        if (gort::select(gort::recv(t.c()), gort::recv(gort::after(1s))) != 0) hung++;
      }
      // A stop that returned true leaves nothing to receive, even from a
      // fire that was in progress: run the timers that were due once more
      // (a zero timer fires after them), then look.
      gort::new_timer(0ns).c().recv();
      for (auto& t : timers) {
        if (t.c().try_recv()) stale++;
      }
    }
  });
  INFO("stop true " << stopped_true << ", false " << stopped_false << ", of which hung " << hung);
  REQUIRE(stopped_false == 0);
  REQUIRE(stale == 0);
  REQUIRE(stopped_true == kRounds * kTimers);
}
