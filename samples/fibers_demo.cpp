// fibers_demo - fibers at work: what `make run` starts until the HTTP
// sample exists.
//
//   build/bin/fibers_demo [fibers]        (default 100000)
//
// 1. Starts N fibers that each sleep a random 0-500 ms and wait on a
//    WaitGroup: N parked fibers cost little memory and no CPU.
// 2. Runs a CPU-bound fiber for 300 ms without yielding while a ticker fiber
//    keeps ticking every 10 ms: sysmon takes the hog's P away.
// 3. Does a blocking call (gort::blocking) while other fibers keep running.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "gort/gort.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

static long rss_kib() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 100000;
  return gort::run([n] {
    std::printf("gort: GOMAXPROCS=%d, main fiber %llu\n", gort::gomaxprocs(),
                static_cast<unsigned long long>(gort::this_fiber::id()));

    // 1. Many sleeping fibers.
    long rss0 = rss_kib();
    auto t0 = Clock::now();
    gort::WaitGroup wg;
    std::mutex mu;
    std::set<std::thread::id> threads;
    wg.add(n);
    for (int i = 0; i < n; i++) {
      gort::go([&, i] {
        std::minstd_rand rng(static_cast<unsigned>(i));
        gort::sleep_for(std::chrono::milliseconds(rng() % 500));
        {
          std::lock_guard lk(mu);
          threads.insert(std::this_thread::get_id());
        }
        wg.done();
      });
    }
    std::printf("spawned %d fibers in %.1f ms; %lld alive, RSS +%.1f MiB (%.1f KiB per fiber)\n", n,
                ms_since(t0), static_cast<long long>(gort::num_fibers()), (rss_kib() - rss0) / 1024.0,
                static_cast<double>(rss_kib() - rss0) / n);
    wg.wait();
    std::printf("all %d woke up and finished after %.1f ms, on %zu threads\n", n, ms_since(t0), threads.size());

    // 2. A CPU hog cannot stall the others.
    std::atomic<bool> hog_done{false};
    gort::go([&] {
      auto until = Clock::now() + 300ms;
      volatile unsigned long x = 0;
      while (Clock::now() < until) x = x + 1;  // no runtime call at all
      hog_done = true;
    });
    gort::yield();
    int ticks = 0;
    double worst = 0;
    auto last = Clock::now();
    while (!hog_done) {
      gort::sleep_for(10ms);
      double gap = ms_since(last);
      last = Clock::now();
      worst = gap > worst ? gap : worst;
      ticks++;
    }
    std::printf("while a fiber computed 300 ms without yielding, a 10 ms ticker ticked %d times "
                "(worst gap %.1f ms)\n", ticks, worst);

    // 3. A blocking call does not block the other fibers.
    std::atomic<int> progress{0};
    gort::go([&] {
      for (int i = 0; i < 10; i++) {
        gort::sleep_for(5ms);
        progress++;
      }
    });
    gort::blocking([] { std::this_thread::sleep_for(100ms); });
    std::printf("during a 100 ms blocking call another fiber made %d of 10 steps\n", progress.load());
    return 0;
  });
}
