// After gort::run returns (docs/architecture.md, "After gort::run returns"):
// fibers still parked are abandoned, and the objects they waited on may live
// on, into plain-thread code or a later run. Every later call on those
// objects does nothing harmful or fails clearly; none crashes or hangs, and
// no value, unit or signal is handed to a fiber that can never run.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "gort/debug.hpp"
#include "gort/gort.hpp"

using namespace std::chrono_literals;

namespace {

// Yields until `n` fibers are parked with wait reason `state` (no sleeps:
// the fibers' own records say they are parked).
void await_parked(std::string_view state, int n) {
  for (;;) {
    int k = 0;
    for (const auto& f : gort::debug::fibers()) {
      if (f.waiting && f.state == state) k++;
    }
    if (k >= n) return;
    gort::yield();
  }
}

// Receives one value from ch, or nothing within `limit` (a hang is the failure).
template <class T>
std::optional<T> recv_within(gort::chan<T>& ch, std::chrono::seconds limit) {
  std::optional<T> got;
  gort::select(gort::recv(ch, [&](T v) { got = v; }), gort::recv(gort::after(limit)));
  return got;
}

}  // namespace

TEST_CASE("a context cancelled after run returns does not touch the fibers that waited on it", "[runtime][lifecycle]") {
  // The review's scenario A: done_.close() readied a destroyed fiber.
  auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
  gort::run(gort::Config{.gomaxprocs = 2}, [ctx = ctx] {
    gort::chan<int> never;
    for (int i = 0; i < 8; i++) {
      gort::go([ctx, never] { gort::select(gort::recv(ctx.done()), gort::recv(never)); });
    }
    gort::go([ctx] { ctx.done().recv(); });
    await_parked("select", 8);
    await_parked("chan receive", 1);
  });
  cancel();  // from a plain thread, with nine abandoned waiters
  REQUIRE(ctx.err() == gort::errc::canceled);
  REQUIRE(gort::run([] { return 3; }) == 3);
}

namespace {
gort::chan<int> g_jobs;  // unbuffered, shared by two runs
}

TEST_CASE("values sent in a later run reach that run's receivers, not the abandoned ones of an earlier run", "[runtime][lifecycle]") {
  // The review's scenario B: the send moved the value into a stale waiter
  // (a freed stack) and queued a destroyed G in the new run.
  g_jobs = gort::chan<int>(0);
  gort::run(gort::Config{.gomaxprocs = 2}, [] {
    for (int i = 0; i < 4; i++) gort::go([] { g_jobs.recv(); });
    await_parked("chan receive", 4);
  });
  int total = 0;
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    gort::chan<int> sum(1);
    gort::go([sum] {
      int s = 0;
      for (int i = 0; i < 4; i++) s += *g_jobs.recv();
      sum.send(s);
    });
    for (int i = 1; i <= 4; i++) g_jobs.send(i);
    total = recv_within(sum, 10s).value_or(-1);
  });
  REQUIRE(total == 10);
  // After both runs: a close from a plain thread wakes nobody wrongly, and a
  // buffered channel still works between plain threads.
  g_jobs.close();
  gort::chan<int> buffered(2);
  buffered.send(5);
  REQUIRE(*buffered.recv() == 5);
}

namespace {
gort::Mutex g_mu;
gort::Cond g_cond;
gort::WaitGroup g_wg;
}  // namespace

TEST_CASE("a mutex and a condition and a wait group shared across runs skip abandoned waiters", "[runtime][lifecycle]") {
  gort::run(gort::Config{.gomaxprocs = 2}, [] {
    g_mu.lock();
    gort::go([] { g_mu.lock(); });  // abandoned while it waits
    await_parked("sync.Mutex.Lock", 1);
    g_wg.add(1);
    gort::go([] { g_wg.wait(); });
    await_parked("sync.WaitGroup.Wait", 1);
    gort::go([] {
      gort::Mutex m;
      std::unique_lock lk(m);
      g_cond.wait(lk);
    });
    await_parked("sync.Cond.Wait", 1);
  });
  g_wg.done();  // plain thread: the abandoned waiter stays asleep
  bool relocked = false, signalled = false;
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    // The unlock's unit must not go to the abandoned locker.
    g_mu.unlock();
    gort::chan<int> done(1);
    gort::go([done] {
      g_mu.lock();
      g_mu.unlock();
      done.send(1);
    });
    relocked = recv_within(done, 10s).has_value();
    // One signal, one live waiter: it must be the one woken.
    gort::go([done] {
      gort::Mutex m;
      std::unique_lock lk(m);
      g_cond.wait(lk);
      done.send(2);
    });
    await_parked("sync.Cond.Wait", 1);
    g_cond.notify_one();
    signalled = recv_within(done, 10s).has_value();
  });
  REQUIRE(relocked);
  REQUIRE(signalled);
}

TEST_CASE("timers and deadlines after run returns: a clear error or nothing, never a crash", "[runtime][lifecycle]") {
  std::optional<gort::Timer> timer, fired;
  gort::run([&] {
    timer.emplace(gort::new_timer(1h));
    fired.emplace(gort::new_timer(1ms));
    fired->c().recv();
  });
  // The review's M5: reset dereferenced a null scheduler.
  REQUIRE_THROWS_AS(timer->reset(1s), std::logic_error);
  REQUIRE_FALSE(timer->stop());  // abandoned with its runtime: not active
  REQUIRE_FALSE(fired->stop());
  REQUIRE_THROWS_AS(gort::new_timer(1s), std::logic_error);
  REQUIRE_THROWS_AS(gort::after_func(1s, [] {}), std::logic_error);
  timer.reset();
  fired.reset();
}

TEST_CASE("run twice in a row, and from several threads one after another", "[runtime][lifecycle]") {
  for (int i = 0; i < 3; i++) REQUIRE(gort::run([i] { return i; }) == i);
  std::atomic<int> sum{0};
  for (int t = 0; t < 4; t++) {
    std::thread th([&, t] {
      sum += gort::run(gort::Config{.gomaxprocs = 2}, [t] {
        gort::chan<int> c(1);
        gort::go([c, t] { c.send(t + 1); });
        return *c.recv();
      });
    });
    th.join();
  }
  REQUIRE(sum == 1 + 2 + 3 + 4);
}
