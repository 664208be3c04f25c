// gort_test_helper - scenarios that end (or must end) the process, run by
// tests in a child process:
//   panic               an exception escapes a fiber
//   overflow            a fiber recurses without bound
//   canary              a fiber overwrites the bottom of its stack, then yields
//   schedtrace          runs ~300 ms of work (use with GORT_DEBUG=schedtrace=50)
//   abandon             main returns while fibers sleep, park and compute
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "gort/gort.hpp"
#include "gort/scheduler/park.hpp"

using namespace std::chrono_literals;

namespace {

// Unbounded on purpose (depth is never reached).
int recurse(int depth, int limit) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (depth == limit) return frame[0];
  return recurse(depth + 1, limit) + frame[0];
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  return gort::run([&]() -> int {
    gort::WaitGroup wg;
    if (mode == "panic") {
      wg.add(1);
      gort::go([] { throw std::runtime_error("boom"); });
      wg.wait();  // never returns: the panic ends the process
    } else if (mode == "overflow") {
      wg.add(1);
      gort::go(gort::spawn_options{.stack_size = 64 * 1024}, [] { std::printf("%d\n", recurse(0, 1 << 30)); });
      wg.wait();
    } else if (mode == "canary") {
      wg.add(1);
      gort::go(gort::spawn_options{.stack_size = 64 * 1024}, [] {
        // Simulate an overflow that skipped the guard: smash the lowest
        // bytes of the usable stack, then switch away.
        gort::detail::G* g = gort::detail::current_g();
        std::memset(g->stack_lo, 0xAB, 64);
        gort::yield();
        gort::sleep_for(1ms);
      });
      wg.wait();
    } else if (mode == "schedtrace") {
      for (int i = 0; i < 30; i++) {
        wg.add(1);
        gort::go([&] {
          gort::sleep_for(10ms);
          wg.done();
        });
        gort::sleep_for(10ms);
      }
      wg.wait();
    } else if (mode == "abandon") {
      static gort::WaitGroup forever;  // outlives main: the fibers keep referring to it
      forever.add(1);
      for (int i = 0; i < 100; i++) {
        gort::go([] { gort::sleep_for(1h); });
        gort::go([] { forever.wait(); });
      }
      gort::yield();
      std::printf("abandoning %lld fibers\n", static_cast<long long>(gort::num_fibers() - 1));
      return 0;
    } else {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 64;
    }
    return 1;
  });
}
