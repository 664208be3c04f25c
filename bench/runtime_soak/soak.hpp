// soak.hpp - the runtime soak's shared pieces (bench/runtime_soak.cpp): the
// global ledger, the check that ends the process on a violation, tracked
// spawning, a small random generator and the workloads' entry points.
//
// Every workload runs as one fiber of a round, spawns its own fibers through
// soak::spawn, waits for them on its own WaitGroup and then checks its own
// ledger; the round (runtime_soak.cpp) then checks that every fiber spawned
// has ended and that gort::num_fibers() is back to its baseline.
#pragma once

#include <gort/debug.hpp>
#include <gort/gort.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>

namespace soak {

using namespace std::chrono_literals;

// Running totals over the whole run (printed every ~10 s and at the end).
// spawned/started/ended are the fiber ledger; the rest count work done.
struct Totals {
  std::atomic<std::uint64_t> rounds{0};
  std::atomic<std::uint64_t> spawned{0};  // soak::spawn calls, plus tracked after_func callbacks (on entry)
  std::atomic<std::uint64_t> started{0};  // tracked fiber bodies entered
  std::atomic<std::uint64_t> ended{0};    // tracked fiber bodies left (RAII)
  std::atomic<std::uint64_t> values{0};   // channel values delivered (each checked exactly once)
  std::atomic<std::uint64_t> unsent{0};   // select send cases that lost to a timer/ctx case (value must not arrive)
  std::atomic<std::uint64_t> close_wakes{0};  // receivers and senders woken by close
  std::atomic<std::uint64_t> timers{0};   // timers, tickers and after_funcs created
  std::atomic<std::uint64_t> fires{0};    // timer values received and after_func callbacks run
  std::atomic<std::uint64_t> stops{0};    // stop/reset calls that returned true (a fire cancelled)
  std::atomic<std::uint64_t> ticks{0};
  std::atomic<std::uint64_t> contexts{0};
  std::atomic<std::uint64_t> cancels{0};  // fibers woken from ctx.done()
  std::atomic<std::uint64_t> locks{0};    // Mutex-protected increments
  std::atomic<std::uint64_t> sem_ok{0};
  std::atomic<std::uint64_t> sem_cancelled{0};
  std::atomic<std::uint64_t> conns{0};    // client connections that completed their script
  std::atomic<std::uint64_t> dial_cancelled{0};
  std::atomic<std::uint64_t> read_timeouts{0};
  std::atomic<std::uint64_t> write_timeouts{0};
  std::atomic<std::uint64_t> closed_reads{0};  // reads unblocked by close() from another fiber
  std::atomic<std::uint64_t> bytes{0};    // payload bytes received and verified (both directions)
};
extern Totals g;

// The round being run and what each workload is doing, for the stall report.
extern std::atomic<std::uint64_t> g_round;
enum Workload { kChans, kTimers, kContexts, kSync, kConns, kNumWorkloads };
extern const char* const kWorkloadNames[kNumWorkloads];
extern std::atomic<const char*> g_phase[kNumWorkloads];
inline void phase(Workload w, const char* what) { g_phase[w].store(what, std::memory_order_relaxed); }

// Prints "LEDGER VIOLATION ..." (and the fiber dump) and exits with status 1
// at once, without unwinding: the state is evidence.
[[noreturn]] void fail(const char* file, int line, const std::string& msg);
std::string strf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

#define SOAK_CHECK(cond, ...)                                           \
  do {                                                                  \
    if (__builtin_expect(!(cond), 0)) ::soak::fail(__FILE__, __LINE__, ::soak::strf(__VA_ARGS__)); \
  } while (0)

// Counts a tracked fiber's body: started on entry, ended on exit.
struct Tracked {
  Tracked() noexcept { g.started.fetch_add(1, std::memory_order_relaxed); }
  ~Tracked() { g.ended.fetch_add(1, std::memory_order_relaxed); }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
};

// gort::go with the fiber ledger. An exception escaping f is a violation
// (the workloads catch the ones they expect).
template <class F>
void spawn(F&& f) {
  g.spawned.fetch_add(1, std::memory_order_relaxed);
  gort::go([f = std::forward<F>(f)]() mutable {
    Tracked t;
    try {
      f();
    } catch (const std::exception& e) {
      fail(__FILE__, __LINE__, strf("uncaught exception in a fiber: %s", e.what()));
    }
  });
}

// splitmix64: cheap, good enough, one per fiber (seeded from the round).
struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) noexcept { return n ? next() % n : 0; }
  bool one_in(std::uint64_t n) noexcept { return below(n) == 0; }
  std::chrono::microseconds us(std::uint64_t max) noexcept { return std::chrono::microseconds(below(max + 1)); }
};

// What a workload gets from its round.
struct Round {
  std::uint64_t index;
  std::uint64_t seed;
  std::uint64_t seed_for(std::uint64_t salt) const noexcept { return seed * 0x100000001b3ull ^ (salt + 1) * 0x9e37ull; }
};

// The workloads (one file each). Each returns after all its fibers have
// reported and its ledger checked.
void run_chans(const Round& r);
void run_timers(const Round& r);
void run_contexts(const Round& r);
void run_sync(const Round& r);
void run_conns(const Round& r);

// Descriptors open in this process now (/proc/self/fd).
int open_fds();

}  // namespace soak
