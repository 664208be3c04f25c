// chan_bench.cpp - channel, select and mutex micro benchmarks. Same names and
// the same definition of one op as bench/peers/go/micro_test.go.
#include <cstdint>

#include "gort/gort.hpp"
#include "harness.hpp"

namespace {
constexpr std::size_t kChanCap = 128;
}  // namespace

// One op = one round trip (send + reply) over two unbuffered channels.
GORT_BENCHMARK(BenchmarkChanPingPong) {
  gort::chan<int> ping(0), pong(0);
  gort::WaitGroup wg;
  wg.add(2);
  std::int64_t n = b.n;
  gort::go([&] {
    for (std::int64_t i = 0; i < n; i++) {
      ping.send(1);
      pong.recv();
    }
    wg.done();
  });
  gort::go([&] {
    for (std::int64_t i = 0; i < n; i++) {
      ping.recv();
      pong.send(1);
    }
    wg.done();
  });
  wg.wait();
}

// One op = one item from one producer to one consumer through a channel of cap 128.
GORT_BENCHMARK(BenchmarkChanBuffered128) {
  gort::chan<int> ch(kChanCap);
  gort::WaitGroup wg;
  wg.add(2);
  std::int64_t n = b.n;
  gort::go([&] {
    for (std::int64_t i = 0; i < n; i++) ch.send(1);
    wg.done();
  });
  gort::go([&] {
    for (std::int64_t i = 0; i < n; i++) ch.recv();
    wg.done();
  });
  wg.wait();
}

namespace {
void select2(gort::bench::B& b, std::size_t cap) {
  gort::chan<int> c1(cap), c2(cap);
  gort::WaitGroup wg;
  wg.add(2);
  std::int64_t n = b.n;
  gort::go([&] {
    for (std::int64_t i = 0; i < n; i++) (i % 2 == 0 ? c1 : c2).send(1);
    wg.done();
  });
  gort::go([&] {
    for (std::int64_t i = 0; i < n; i++) gort::select(gort::recv(c1), gort::recv(c2));
    wg.done();
  });
  wg.wait();
}
}  // namespace

// One op = one item; the consumer selects over two channels of cap 128, the producer alternates.
GORT_BENCHMARK(BenchmarkSelect2Buffered) { select2(b, kChanCap); }

// One op = one item; as Select2Buffered with unbuffered channels.
GORT_BENCHMARK(BenchmarkSelect2Unbuffered) { select2(b, 0); }
