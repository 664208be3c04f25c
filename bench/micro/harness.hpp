// harness.hpp - a Go-compatible benchmark driver (Go: testing.B).
//
// Runs each benchmark with b.n = 1, then predicts the n that fills the
// benchmark time exactly as Go's testing package does (+20%, at most 100x
// the previous n, at most 1e9), and prints Go's line format:
//
//   BenchmarkSpawnJoin-2   	 1356649	       181.8 ns/op
//
// so that `gort_bench_micro` and `go test -bench` outputs compare line by
// line. The -N suffix is GOMAXPROCS when it is not 1. Everything runs inside
// one gort::run, on the main fiber, like a Go test binary's benchmark
// goroutine.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gort::bench {

class B {
 public:
  explicit B(std::int64_t iterations) : n(iterations) {}
  std::int64_t n;  // iterations to run (Go: b.N)

  void reset_timer();
  void start_timer();
  void stop_timer();
  // Marks the benchmark failed (Go: b.Fatal); the driver prints the reason.
  void fail(std::string why) { failure_ = std::move(why); }

  std::chrono::nanoseconds elapsed() const;
  const std::string& failure() const { return failure_; }

 private:
  bool running_ = false;
  std::chrono::steady_clock::time_point start_{};
  std::chrono::nanoseconds total_{0};
  std::string failure_;
  friend class Driver;
};

struct Benchmark {
  const char* name;
  std::function<void(B&)> fn;
};

// Registration (one static Registrar per benchmark).
std::vector<Benchmark>& registry();
struct Registrar {
  Registrar(const char* name, std::function<void(B&)> fn) { registry().push_back({name, std::move(fn)}); }
};

#define GORT_BENCHMARK(name)                                        \
  static void name(::gort::bench::B& b);                            \
  static ::gort::bench::Registrar name##_registrar{#name, &name}; \
  static void name(::gort::bench::B& b)

}  // namespace gort::bench
