// main.cpp - gort_bench_micro: runs the micro benchmarks, Go's way.
//
//   build/bin/gort_bench_micro [-bench REGEX] [-benchtime 1s|Nx] [-count N]
//
// GOMAXPROCS is honoured (as by go test). Output lines follow Go's format;
// the last line is "ok  gort/bench/micro <seconds>s" or "FAIL".
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>

#include "gort/gort.hpp"
#include "harness.hpp"

namespace gort::bench {

std::vector<Benchmark>& registry() {
  static std::vector<Benchmark> r;
  return r;
}

void B::reset_timer() {
  total_ = std::chrono::nanoseconds{0};
  if (running_) start_ = std::chrono::steady_clock::now();
}
void B::start_timer() {
  if (!running_) {
    start_ = std::chrono::steady_clock::now();
    running_ = true;
  }
}
void B::stop_timer() {
  if (running_) {
    total_ += std::chrono::steady_clock::now() - start_;
    running_ = false;
  }
}
std::chrono::nanoseconds B::elapsed() const { return total_; }

class Driver {
 public:
  static B run_n(const Benchmark& bm, std::int64_t n) {
    B b(n);
    b.start_timer();
    bm.fn(b);
    b.stop_timer();
    return b;
  }
};

namespace {

// Go: testing.prettyPrint.
std::string pretty(double x) {
  char buf[64];
  double y = std::fabs(x);
  if (y == 0 || y >= 999.95) {
    std::snprintf(buf, sizeof buf, "%10.0f ns/op", x);
  } else if (y >= 99.995) {
    std::snprintf(buf, sizeof buf, "%12.1f ns/op", x);
  } else if (y >= 9.9995) {
    std::snprintf(buf, sizeof buf, "%13.2f ns/op", x);
  } else if (y >= 0.99995) {
    std::snprintf(buf, sizeof buf, "%14.3f ns/op", x);
  } else {
    std::snprintf(buf, sizeof buf, "%15.4f ns/op", x);
  }
  return buf;
}

struct Args {
  std::string bench = ".";
  std::chrono::nanoseconds benchtime = std::chrono::seconds(1);
  std::int64_t fixed_n = 0;  // -benchtime Nx
  int count = 1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i++) {
    std::string k = argv[i];
    if (!k.empty() && k[0] == '-' && k.size() > 1 && k[1] == '-') k = k.substr(1);  // --x as -x
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "flag needs an argument: %s\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "-bench") {
      a.bench = value();
    } else if (k == "-benchtime") {
      std::string v = value();
      if (!v.empty() && v.back() == 'x') {
        a.fixed_n = std::atoll(v.c_str());
      } else {
        double num = std::atof(v.c_str());
        double scale = 1e9;
        if (v.size() > 2 && v.substr(v.size() - 2) == "ms") scale = 1e6;
        else if (v.size() > 2 && v.substr(v.size() - 2) == "us") scale = 1e3;
        else if (!v.empty() && v.back() == 'm' ) scale = 60e9;
        a.benchtime = std::chrono::nanoseconds(static_cast<std::int64_t>(num * scale));
      }
    } else if (k == "-count") {
      a.count = std::atoi(value().c_str());
    } else if (k == "-h" || k == "-help") {
      std::printf("usage: gort_bench_micro [-bench REGEX] [-benchtime 1s|Nx] [-count N]\n");
      std::exit(0);
    } else {
      std::fprintf(stderr, "unknown flag: %s\n", argv[i]);
      std::exit(2);
    }
  }
  return a;
}

// Go: testing.(*B).launch's prediction of the next iteration count.
std::int64_t predict(std::int64_t goal_ns, std::int64_t prev_n, std::int64_t prev_ns, std::int64_t last) {
  if (prev_ns <= 0) prev_ns = 1;
  __int128 n = static_cast<__int128>(goal_ns) * prev_n / prev_ns;
  n += n / 5;
  if (n > 100 * static_cast<__int128>(last)) n = 100 * static_cast<__int128>(last);
  if (n < last + 1) n = last + 1;
  if (n > 1'000'000'000) n = 1'000'000'000;
  return static_cast<std::int64_t>(n);
}

}  // namespace
}  // namespace gort::bench

int main(int argc, char** argv) {
  using namespace gort::bench;
  Args args = parse(argc, argv);
  std::regex re(args.bench);
  auto t0 = std::chrono::steady_clock::now();
  bool failed = false;
  gort::run([&] {
    int procs = gort::gomaxprocs();
    std::string suffix = procs != 1 ? "-" + std::to_string(procs) : "";
    std::size_t width = 0;
    for (auto& bm : registry()) {
      if (std::regex_search(bm.name, re)) width = std::max(width, std::strlen(bm.name) + suffix.size());
    }
    std::printf("goos: linux\ngoarch: amd64\npkg: gort/bench/micro\n");
    for (auto& bm : registry()) {
      if (!std::regex_search(bm.name, re)) continue;
      for (int c = 0; c < args.count; c++) {
        B r = Driver::run_n(bm, 1);
        std::int64_t n = 1;
        if (args.fixed_n > 0) {
          n = args.fixed_n;
          r = Driver::run_n(bm, n);
        } else {
          while (r.failure().empty() && r.elapsed() < args.benchtime && n < 1'000'000'000) {
            n = predict(args.benchtime.count(), n, r.elapsed().count(), n);
            r = Driver::run_n(bm, n);
          }
        }
        std::string name = bm.name + suffix;
        if (!r.failure().empty()) {
          std::printf("--- FAIL: %s\n    %s\n", name.c_str(), r.failure().c_str());
          failed = true;
          continue;
        }
        double ns = static_cast<double>(r.elapsed().count()) / static_cast<double>(n);
        std::printf("%-*s\t%8lld\t%s\n", static_cast<int>(width), name.c_str(), static_cast<long long>(n),
                    pretty(ns).c_str());
        std::fflush(stdout);
      }
    }
  });
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failed) {
    std::printf("FAIL\tgort/bench/micro\t%.3fs\n", secs);
    return 1;
  }
  std::printf("ok  \tgort/bench/micro\t%.3fs\n", secs);
  return 0;
}
