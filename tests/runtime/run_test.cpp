// gort::run: results, exceptions, repeated runs, abandoned fibers, misuse.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gort/gort.hpp"
#include "../support/subprocess.hpp"

using namespace std::chrono_literals;

TEST_CASE("run returns the main fiber's result; main is fiber 1", "[runtime][run]") {
  auto procs = GENERATE(1, 2);
  std::uint64_t id = 0;
  int procs_seen = 0;
  int r = gort::run(gort::Config{.gomaxprocs = procs}, [&] {
    id = gort::this_fiber::id();
    procs_seen = gort::gomaxprocs();
    return 42;
  });
  REQUIRE(r == 42);
  REQUIRE(id == 1);
  REQUIRE(procs_seen == procs);
  REQUIRE(gort::this_fiber::id() == 0);  // outside fibers
  REQUIRE(gort::gomaxprocs() == 0);      // no runtime now
  REQUIRE(gort::run([] {}) == 0);        // void main: 0
}

TEST_CASE("an exception escaping the main fiber is rethrown by run", "[runtime][run]") {
  REQUIRE_THROWS_WITH(gort::run([]() -> int { throw std::runtime_error("main failed"); }), "main failed");
  // The runtime is usable again afterwards.
  REQUIRE(gort::run([] { return 7; }) == 7);
}

TEST_CASE("run can be called repeatedly; fibers left behind are abandoned", "[runtime][run]") {
  for (int round = 0; round < 5; round++) {
    std::atomic<int> started{0};
    int r = gort::run(gort::Config{.gomaxprocs = 2}, [&] {
      gort::WaitGroup never;
      never.add(1);
      for (int i = 0; i < 50; i++) {
        gort::go([&] {
          started++;
          gort::sleep_for(1h);
        });
        gort::go([&, i] {
          auto owned = std::make_unique<std::vector<int>>(100, i);  // heap reachable only from this stack
          started++;
          never.wait();  // parked forever
          REQUIRE(owned->size() == 100);
        });
      }
      while (started.load() < 100) gort::yield();
      // Spawned last and, at worst, never started: its function object holds
      // heap memory too. Under LeakSanitizer none of it may count as leaked.
      gort::go([owned = std::make_shared<std::vector<int>>(100, round)] { REQUIRE(owned->size() == 100); });
      return round;
    });
    REQUIRE(r == round);
    REQUIRE(gort::num_fibers() == 0);
  }
}

TEST_CASE("run returns when main does, even while fibers compute or block", "[runtime][run]") {
  auto t0 = std::chrono::steady_clock::now();
  gort::run(gort::Config{.gomaxprocs = 2}, [] {
    std::atomic<int> started{0};
    gort::go([&] {
      started++;
      gort::blocking([] { std::this_thread::sleep_for(1500ms); });
    });
    gort::go([&] {
      started++;
      auto until = std::chrono::steady_clock::now() + 1500ms;
      while (std::chrono::steady_clock::now() < until) {
      }
    });
    while (started.load() < 2) gort::yield();
  });
  REQUIRE(std::chrono::steady_clock::now() - t0 < 1000ms);
  // The abandoned threads belong to the old runtime; a new one is unaffected.
  REQUIRE(gort::run(gort::Config{.gomaxprocs = 2}, [] { return 5; }) == 5);
}

TEST_CASE("run inside run, and go without a runtime, are errors", "[runtime][run]") {
  REQUIRE_THROWS_AS(gort::go([] {}), std::logic_error);
  bool nested_threw = false;
  gort::run([&] {
    try {
      gort::run([] {});
    } catch (const std::logic_error&) {
      nested_threw = true;
    }
  });
  REQUIRE(nested_threw);
}

TEST_CASE("a process whose main returns with fibers parked exits cleanly", "[runtime][run]") {
  auto r = gort::test::run_process(GORT_TEST_HELPER, {"abandon"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("abandoning 200 fibers") != std::string::npos);
}

TEST_CASE("fibers with the smallest stack (16 KiB) run, main included", "[runtime][run]") {
  int sum = 0;
  gort::run(gort::Config{.gomaxprocs = 1, .stack_size = 16 * 1024}, [&] {
    gort::WaitGroup wg;
    wg.add(10);
    for (int i = 0; i < 10; i++) {
      gort::go(gort::spawn_options{.stack_size = 16 * 1024}, [&, i] {
        volatile char frame[4096];  // a few KiB of stack in use
        for (std::size_t k = 0; k < sizeof frame; k++) frame[k] = static_cast<char>(i);
        sum += frame[100];
        gort::yield();
        wg.done();
      });
    }
    wg.wait();
  });
  REQUIRE(sum == 45);
}
