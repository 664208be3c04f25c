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
#include <string>
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

TEST_CASE("Timer::reset racing overlapping fires: every arming ends exactly once", "[runtime][time]") {
  // Found by bench/runtime_soak: a reset that found a fire in flight
  // returned true and re-armed at once; the new arming popped and pinned on
  // another P, overwriting the shared snapshot, and the old fire then
  // delivered the value that the reset had cancelled. Go 1.23's ledger:
  // each arming (new_timer, each reset) ends in exactly one of "its value
  // is received" or "a stop or reset returned true".
  constexpr int kRounds = 300, kTimers = 64, kResets = 200;
  int bad_rounds = 0;
  std::string first_bad;
  gort::run(gort::Config{.gomaxprocs = 4}, [&] {
    for (int round = 0; round < kRounds; round++) {
      struct T {
        gort::Timer t;
        gort::chan<int> quit{0};
        std::atomic<int> received{0};
        int armings = 1, trues = 0;
      };
      std::vector<T> ts(kTimers);
      gort::WaitGroup wg;
      wg.add(2 * kTimers);
      for (int i = 0; i < kTimers; i++) {
        T& x = ts[static_cast<std::size_t>(i)];
        x.t = gort::new_timer(std::chrono::microseconds(i % 7));
        gort::go([&x, &wg] {  // receives every value the timer sends
          auto c = x.t.c();
          for (bool quit = false; !quit;) {
            gort::select(gort::recv(c, [&](auto) { x.received++; }), gort::recv(x.quit, [&] { quit = true; }));
          }
          wg.done();
        });
        gort::go([&x, &wg, i] {  // re-arms with 0-9 us, so fires overlap resets
          for (int k = 0; k < kResets; k++) {
            x.armings++;
            if (x.t.reset(std::chrono::microseconds((k * 7 + i) % 10))) x.trues++;
            if (k % 4 == 0) gort::yield();
          }
          if (x.t.stop()) x.trues++;
          x.quit.close();
          wg.done();
        });
      }
      wg.wait();
      for (auto& x : ts) {
        if (x.received.load() + x.trues != x.armings) {
          if (bad_rounds++ == 0) {
            first_bad = "round " + std::to_string(round) + ": armed " + std::to_string(x.armings) + ", received " +
                        std::to_string(x.received.load()) + ", stop/reset true " + std::to_string(x.trues);
          }
          break;
        }
      }
    }
  });
  INFO(first_bad);
  REQUIRE(bad_rounds == 0);
}
