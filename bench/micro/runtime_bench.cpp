// runtime_bench.cpp - the runtime-core micro benchmarks. Same names and the
// same definition of one op as bench/peers/go/micro_test.go.
#include <chrono>
#include <memory>
#include <vector>

#include "gort/gort.hpp"
#include "harness.hpp"

namespace {

constexpr std::int64_t kSpawnBatch = 1000;
constexpr std::int64_t kWakeRound = 10000;

// The first n % k workers do one extra op, so the shares add up to n.
std::int64_t split(std::int64_t n, std::int64_t k, std::int64_t i) { return n / k + (i < n % k ? 1 : 0); }

}  // namespace

// One op = spawn one fiber that calls wg.done(), joined in batches of 1000.
GORT_BENCHMARK(BenchmarkSpawnJoin) {
  gort::WaitGroup wg;
  for (std::int64_t left = b.n; left > 0;) {
    std::int64_t n = left < kSpawnBatch ? left : kSpawnBatch;
    wg.add(static_cast<int>(n));
    for (std::int64_t i = 0; i < n; i++) gort::go([&wg] { wg.done(); });
    wg.wait();
    left -= n;
  }
}

// One op = spawn one fiber and wait until it has run.
GORT_BENCHMARK(BenchmarkSpawnJoinSerial) {
  gort::WaitGroup wg;
  for (std::int64_t i = 0; i < b.n; i++) {
    wg.add(1);
    gort::go([&wg] { wg.done(); });
    wg.wait();
  }
}

// One op = one gort::yield() (one switch) by one of two fibers. Meant for
// GOMAXPROCS=1; with more P's the two fibers may run in parallel.
GORT_BENCHMARK(BenchmarkGoschedPingPong) {
  gort::WaitGroup wg;
  wg.add(2);
  for (int k = 0; k < 2; k++) {
    std::int64_t n = split(b.n, 2, k);
    gort::go([&wg, n] {
      for (std::int64_t i = 0; i < n; i++) gort::yield();
      wg.done();
    });
  }
  wg.wait();
}

// One op = gort::after_func(1h, f) followed by stop().
GORT_BENCHMARK(BenchmarkTimerAfterFuncStop) {
  for (std::int64_t i = 0; i < b.n; i++) {
    auto t = gort::after_func(std::chrono::hours(1), [] {});
    if (!t.stop()) {
      b.fail("timer fired or was already stopped");
      return;
    }
  }
}

// One op = wake one of 10,000 fibers parked on their own event and let it
// exit. Setup (untimed): the fibers signal `ready`, then wait on their own
// one-shot event (a WaitGroup of count 1, the gort twin of Go's unbuffered
// channel receive here). Timed: release each event in order, then wait for
// all fibers to exit.
GORT_BENCHMARK(BenchmarkWake10k) {
  std::vector<std::unique_ptr<gort::WaitGroup>> events(kWakeRound);
  for (auto& e : events) e = std::make_unique<gort::WaitGroup>();
  gort::WaitGroup ready, exited;
  for (std::int64_t left = b.n; left > 0;) {
    std::int64_t n = left < kWakeRound ? left : kWakeRound;
    b.stop_timer();
    ready.add(static_cast<int>(n));
    exited.add(static_cast<int>(n));
    for (std::int64_t i = 0; i < n; i++) {
      gort::WaitGroup* ev = events[static_cast<std::size_t>(i)].get();
      ev->add(1);
      gort::go([&ready, &exited, ev] {
        ready.done();
        ev->wait();
        exited.done();
      });
    }
    ready.wait();
    for (int i = 0; i < 10; i++) gort::yield();  // let the last ones park
    b.start_timer();
    for (std::int64_t i = 0; i < n; i++) events[static_cast<std::size_t>(i)]->done();
    exited.wait();
    left -= n;
  }
}
