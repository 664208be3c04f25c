// sync_bench.cpp - sync.Mutex micro benchmark. Same name and definition of
// one op as bench/peers/go/micro_test.go.
#include <cstdint>
#include <mutex>

#include "gort/gort.hpp"
#include "harness.hpp"

// One op = one lock + counter increment + unlock on a Mutex shared by 4 fibers.
GORT_BENCHMARK(BenchmarkMutex4) {
  constexpr int kWorkers = 4;
  gort::Mutex mu;
  std::int64_t counter = 0;
  gort::WaitGroup wg;
  wg.add(kWorkers);
  for (int g = 0; g < kWorkers; g++) {
    std::int64_t n = b.n / kWorkers + (g < b.n % kWorkers ? 1 : 0);  // Go: split
    gort::go([&, n] {
      for (std::int64_t i = 0; i < n; i++) {
        mu.lock();
        counter++;
        mu.unlock();
      }
      wg.done();
    });
  }
  wg.wait();
  if (counter != b.n) b.fail("counter != b.N");
}
