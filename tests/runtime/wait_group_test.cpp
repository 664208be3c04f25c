// WaitGroup (Go: sync/waitgroup_test.go).
#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>

#include "gort/gort.hpp"

TEST_CASE("WaitGroup waits for every done, and can be reused", "[runtime][sync]") {
  auto procs = GENERATE(1, 2);
  std::atomic<int> n{0};
  gort::run(gort::Config{.gomaxprocs = procs}, [&] {
    gort::WaitGroup wg;
    for (int round = 0; round < 10; round++) {
      wg.add(16);
      for (int i = 0; i < 16; i++) {
        gort::go([&] {
          n++;
          wg.done();
        });
      }
      wg.wait();
      REQUIRE(n == 16 * (round + 1));
    }
    wg.wait();  // counter 0: returns at once
  });
}

TEST_CASE("WaitGroup: several waiters are all released", "[runtime][sync]") {
  std::atomic<int> released{0};
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    gort::WaitGroup gate, all;
    gate.add(1);
    all.add(8);
    for (int i = 0; i < 8; i++) {
      gort::go([&] {
        gate.wait();
        released++;
        all.done();
      });
    }
    gort::yield();
    gate.done();
    all.wait();
  });
  REQUIRE(released == 8);
}

TEST_CASE("WaitGroup: a negative counter throws", "[runtime][sync]") {
  gort::run([] {
    gort::WaitGroup wg;
    wg.add(1);
    wg.done();
    REQUIRE_THROWS_WITH(wg.done(), "sync: negative WaitGroup counter");
  });
}
