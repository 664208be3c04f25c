// sync.cpp - the Mutex / WaitGroup / Semaphore workload of the runtime soak.
//
// Checks, every round:
//   - Mutex: many fibers increment a plain (non-atomic) counter under one
//     gort::Mutex, some yielding or sleeping inside the critical section
//     (so waiters park and the mutex enters starvation mode). Never two
//     holders at once, and the final count is exact.
//   - WaitGroup: one WaitGroup reused for several waves; each fiber writes
//     its own plain slot before done(), and after wait() returns every slot
//     of the wave is visible and set.
//   - Semaphore: fibers acquire 1-3 of 4 units with contexts that time out
//     or are cancelled by another fiber, hold them briefly, release. The
//     units held never exceed 4; a failed acquire returns its context's
//     err(); every attempt ends as exactly one success or one failure; an
//     acquire of more than the size waits until its context is cancelled;
//     at the end all 4 units are free again (try_acquire(4)).
#include "soak.hpp"

#include <mutex>
#include <tuple>
#include <vector>

namespace soak {
namespace {

constexpr int kLockers = 16;
constexpr int kIncrements = 400;
constexpr int kWaves = 6;
constexpr int kWaveSize = 24;
constexpr int kSemSize = 4;
constexpr int kSemFibers = 24;
constexpr int kSemAttempts = 20;

void mutex_counter(Rng& rng) {
  gort::Mutex mu;
  std::uint64_t counter = 0;   // only under mu
  std::atomic<int> holders{0};
  gort::WaitGroup wg;
  wg.add(kLockers);
  for (int f = 0; f < kLockers; f++) {
    spawn([&, seed = rng.next()] {
      Rng r(seed);
      for (int i = 0; i < kIncrements; i++) {
        std::lock_guard lk(mu);
        int h = holders.fetch_add(1, std::memory_order_relaxed);
        SOAK_CHECK(h == 0, "sync: %d other fibers inside the Mutex", h);
        counter++;
        std::uint64_t x = r.below(64);
        if (x == 0) {
          gort::sleep_for(r.us(100));
        } else if (x < 4) {
          gort::yield();
        }
        holders.fetch_sub(1, std::memory_order_relaxed);
      }
      wg.done();
    });
  }
  wg.wait();
  std::lock_guard lk(mu);
  SOAK_CHECK(counter == std::uint64_t(kLockers) * kIncrements, "sync: Mutex counter %llu, want %d",
             (unsigned long long)counter, kLockers * kIncrements);
  g.locks.fetch_add(counter, std::memory_order_relaxed);
}

void wait_group_waves(Rng& rng) {
  gort::WaitGroup wg;
  std::vector<std::uint64_t> slots(kWaveSize);  // plain: visibility comes from done() -> wait()
  for (int wave = 1; wave <= kWaves; wave++) {
    wg.add(kWaveSize);
    for (int i = 0; i < kWaveSize; i++) {
      spawn([&, i, wave, d = rng.one_in(2) ? rng.us(200) : 0us] {
        if (d.count()) gort::sleep_for(d);
        slots[i] = static_cast<std::uint64_t>(wave) << 32 | static_cast<std::uint64_t>(i);
        wg.done();
      });
    }
    wg.wait();
    for (int i = 0; i < kWaveSize; i++) {
      SOAK_CHECK(slots[i] == (static_cast<std::uint64_t>(wave) << 32 | static_cast<std::uint64_t>(i)),
                 "sync: WaitGroup wave %d: slot %d not written when wait() returned", wave, i);
    }
  }
}

void semaphore(Rng& rng) {
  gort::Semaphore sem(kSemSize);
  std::atomic<int> held{0};
  std::atomic<int> ok{0}, failed{0};
  gort::WaitGroup wg;
  wg.add(kSemFibers + 1);
  // A doomed acquire (more than the size): waits until cancelled, takes nothing.
  auto [doomed_ctx, doomed_cancel] = gort::with_cancel(gort::Context::background());
  spawn([&, ctx = doomed_ctx] {
    std::error_code ec = sem.acquire(ctx, kSemSize + 1);
    SOAK_CHECK(ec == gort::errc::canceled, "sync: acquire(size + 1) returned '%s', want canceled",
               ec.message().c_str());
    wg.done();
  });
  for (int f = 0; f < kSemFibers; f++) {
    spawn([&, seed = rng.next()] {
      Rng r(seed);
      for (int a = 0; a < kSemAttempts; a++) {
        std::int64_t n = 1 + static_cast<std::int64_t>(r.below(3));
        gort::Context ctx;
        gort::CancelFunc cancel;
        gort::Timer killer;
        if (r.one_in(2)) {
          std::tie(ctx, cancel) = gort::with_timeout(gort::Context::background(), r.us(400));
        } else {
          std::tie(ctx, cancel) = gort::with_cancel(gort::Context::background());
          killer = gort::after_func(r.us(400), cancel);  // cancelled from a timer's fiber
        }
        std::error_code ec = sem.acquire(ctx, n);
        if (!ec) {
          int h = held.fetch_add(static_cast<int>(n)) + static_cast<int>(n);
          SOAK_CHECK(h <= kSemSize, "sync: %d semaphore units held, size %d", h, kSemSize);
          if (r.one_in(3)) {
            gort::sleep_for(r.us(150));
          } else {
            gort::yield();
          }
          held.fetch_sub(static_cast<int>(n));
          sem.release(n);
          ok.fetch_add(1, std::memory_order_relaxed);
        } else {
          SOAK_CHECK(ec == ctx.err(), "sync: acquire failed with '%s' but ctx.err() is '%s'", ec.message().c_str(),
                     ctx.err().message().c_str());
          failed.fetch_add(1, std::memory_order_relaxed);
        }
        killer.stop();
        cancel();
      }
      wg.done();
    });
  }
  // Cancel the doomed acquire once the others are under way.
  gort::sleep_for(rng.us(1000));
  doomed_cancel();
  wg.wait();
  SOAK_CHECK(ok.load() + failed.load() == kSemFibers * kSemAttempts, "sync: %d acquires ok + %d failed != %d",
             ok.load(), failed.load(), kSemFibers * kSemAttempts);
  SOAK_CHECK(held.load() == 0, "sync: %d semaphore units still counted as held", held.load());
  SOAK_CHECK(sem.try_acquire(kSemSize), "sync: not all %d semaphore units came back", kSemSize);
  sem.release(kSemSize);
  std::size_t w = gort::detail::semaphore_waiters(sem);
  SOAK_CHECK(w == 0, "sync: %zu semaphore waiters left", w);
  g.sem_ok.fetch_add(ok.load(), std::memory_order_relaxed);
  g.sem_cancelled.fetch_add(failed.load(), std::memory_order_relaxed);
}

}  // namespace

void run_sync(const Round& r) {
  Rng rng(r.seed_for(kSync));
  phase(kSync, "mutex");
  mutex_counter(rng);
  phase(kSync, "wait group waves");
  wait_group_waves(rng);
  phase(kSync, "semaphore");
  semaphore(rng);
  phase(kSync, "done");
}

}  // namespace soak
