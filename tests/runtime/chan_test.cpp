// Channels and select. Behaviour ported from Go's runtime/chan_test.go
// (TestChan, TestNonblockRecvRace, TestSelfSelect, TestSelectStress,
// TestSelectFairness) plus gort specifics (plain threads, move-only values).
//
// Catch2 assertions run only on the main fiber or after run() returns.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gort/gort.hpp"

using namespace std::chrono_literals;

namespace {
// Fibers or threads blocked on c (receivers or senders).
template <class T>
int waiters(const gort::chan<T>& c, bool senders) {
  gort::detail::ChanCore* core = c.core();
  core->lock.lock();
  int n = 0;
  for (auto* s = (senders ? core->sendq : core->recvq).first.load(std::memory_order_relaxed); s != nullptr; s = s->next) n++;
  core->lock.unlock();
  return n;
}
}  // namespace

TEST_CASE("chan: FIFO, blocking and non-blocking operations, any capacity", "[runtime][chan]") {
  auto procs = GENERATE(1, 2);
  auto cap = GENERATE(0, 1, 2, 8, 128);
  INFO("GOMAXPROCS=" << procs << " cap=" << cap);
  gort::run(gort::Config{.gomaxprocs = procs}, [&] {
    gort::chan<int> c(static_cast<std::size_t>(cap));
    REQUIRE(c.cap() == static_cast<std::size_t>(cap));
    // Receiving from an empty channel does not proceed.
    REQUIRE_FALSE(c.try_recv().has_value());
    // A sender fills the buffer, then blocks; the values arrive in order.
    constexpr int kN = 1000;
    gort::WaitGroup wg;
    wg.add(1);
    gort::go([&] {
      for (int i = 0; i < kN; i++) c.send(i);
      wg.done();
    });
    gort::yield();
    REQUIRE(c.len() <= c.cap());
    bool ordered = true;
    for (int i = 0; i < kN; i++) ordered = ordered && *c.recv() == i;
    REQUIRE(ordered);
    wg.wait();
    // Non-blocking send succeeds exactly cap times on an empty channel.
    int sent = 0;
    while (c.try_send(7)) sent++;
    REQUIRE(sent == cap);
    REQUIRE(c.len() == static_cast<std::size_t>(cap));
  });
}

TEST_CASE("chan: close lets receivers drain, then wakes them all with nullopt", "[runtime][chan]") {
  auto procs = GENERATE(1, 2);
  std::atomic<int> closed_seen{0};
  std::vector<int> drained;
  gort::run(gort::Config{.gomaxprocs = procs}, [&] {
    gort::chan<int> c(4);
    c.send(1);
    c.send(2);
    c.close();
    REQUIRE(c.closed());
    for (int v : c) drained.push_back(v);  // range-for stops at close
    bool ok = true;
    REQUIRE(c.recv(ok) == 0);              // Go's zero value, ok = false
    REQUIRE_FALSE(ok);

    gort::chan<int> u(0);
    gort::WaitGroup wg;
    wg.add(10);
    for (int i = 0; i < 10; i++) {
      gort::go([&] {
        if (!u.recv()) closed_seen++;
        wg.done();
      });
    }
    while (waiters(u, false) < 10) gort::yield();  // all ten are parked
    u.close();
    wg.wait();
  });
  REQUIRE(drained == std::vector<int>{1, 2});
  REQUIRE(closed_seen == 10);
}

TEST_CASE("chan: misuse throws like Go panics", "[runtime][chan]") {
  gort::run([] {
    gort::chan<int> c(1);
    c.close();
    REQUIRE_THROWS_WITH(c.send(1), "send on closed channel");
    REQUIRE_THROWS_WITH(c.try_send(1), "send on closed channel");
    REQUIRE_THROWS_WITH(c.close(), "close of closed channel");
    gort::chan<int> nil;
    REQUIRE_THROWS_WITH(nil.close(), "close of nil channel");
    REQUIRE_FALSE(nil.try_send(1));
    REQUIRE_FALSE(nil.try_recv().has_value());
    REQUIRE_FALSE(static_cast<bool>(nil));
    // A sender blocked on a channel that gets closed throws.
    gort::chan<int> u(0);
    std::string error;
    gort::WaitGroup wg;
    wg.add(1);
    gort::go([&] {
      try {
        u.send(5);
      } catch (const std::logic_error& e) {
        error = e.what();
      }
      wg.done();
    });
    while (waiters(u, true) < 1) gort::yield();  // the sender is parked
    u.close();
    wg.wait();
    REQUIRE(error == "send on closed channel");
  });
}

TEST_CASE("chan: a send hands the value to a waiting receiver, which runs next", "[runtime][chan]") {
  std::vector<std::string> order;
  gort::run(gort::Config{.gomaxprocs = 1}, [&] {
    gort::chan<int> c(0);
    gort::WaitGroup wg;
    wg.add(3);
    gort::go([&] {
      order.push_back("recv " + std::to_string(*c.recv()));
      wg.done();
    });
    gort::yield();  // the receiver parks
    gort::go([&] {
      order.push_back("other");
      wg.done();
    });
    gort::go([&] {
      c.send(42);  // readies the receiver into runnext: it runs before "other"
      order.push_back("sent");
      wg.done();
    });
    wg.wait();
  });
  REQUIRE(order == std::vector<std::string>{"sent", "recv 42", "other"});
}

TEST_CASE("chan: waiting receivers are served first come, first served", "[runtime][chan]") {
  std::vector<int> got(5, -1);
  gort::run(gort::Config{.gomaxprocs = 1}, [&] {
    gort::chan<int> c(0);
    gort::WaitGroup wg;
    wg.add(5);
    for (int i = 0; i < 5; i++) {
      gort::go([&, i] {
        got[static_cast<std::size_t>(i)] = *c.recv();
        wg.done();
      });
      gort::yield();  // receiver i parks before receiver i+1
    }
    for (int v = 0; v < 5; v++) c.send(v * 10);
    wg.wait();
  });
  REQUIRE(got == std::vector<int>{0, 10, 20, 30, 40});
}

TEST_CASE("chan: move-only values through channels and select", "[runtime][chan]") {
  int sum = 0;
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    gort::chan<std::unique_ptr<int>> buffered(2), unbuffered(0);
    gort::WaitGroup wg;
    wg.add(1);
    gort::go([&] {
      for (int i = 1; i <= 100; i++) {
        if (i % 2) {
          buffered.send(std::make_unique<int>(i));
        } else {
          unbuffered.send(std::make_unique<int>(i));
        }
      }
      wg.done();
    });
    for (int n = 0; n < 100; n++) {
      gort::select(gort::recv(buffered, [&](std::optional<std::unique_ptr<int>> p) { sum += **p; }),
                   gort::recv(unbuffered, [&](std::optional<std::unique_ptr<int>> p) { sum += **p; }));
    }
    wg.wait();
  });
  REQUIRE(sum == 5050);
}

// Go: TestNonblockRecvRace. A non-blocking receive racing with close must
// see either the value or the close, never "not ready".
TEST_CASE("chan: non-blocking receive never misses a value racing with close", "[runtime][chan]") {
  std::atomic<int> not_ready{0};
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    for (int i = 0; i < 2000; i++) {
      gort::chan<int> c(1);
      c.send(1);
      gort::WaitGroup wg;
      wg.add(1);
      gort::go([&] {
        int k = gort::select(gort::recv(c), gort::default_());
        if (k == 1) not_ready++;
        wg.done();
      });
      c.close();
      c.recv();
      wg.wait();
    }
  });
  REQUIRE(not_ready == 0);
}

// Go: TestSelfSelect. A select that can both send and receive on one channel
// must not match itself, nor deadlock.
TEST_CASE("select: send and receive on the same channel in one select", "[runtime][select]") {
  auto cap = GENERATE(0, 10);
  std::atomic<int> self_received{0};
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    gort::chan<int> c(static_cast<std::size_t>(cap));
    gort::WaitGroup wg;
    wg.add(2);
    for (int p = 0; p < 2; p++) {
      gort::go([&, p] {
        for (int i = 0; i < 1000; i++) {
          if (p == 0 || i % 2 == 0) {
            gort::select(gort::send(c, p),
                         gort::recv(c, [&](int v) {
                           if (cap == 0 && v == p) self_received++;
                         }));
          } else {
            gort::select(gort::recv(c, [&](int v) {
                           if (cap == 0 && v == p) self_received++;
                         }),
                         gort::send(c, p));
          }
        }
        wg.done();
      });
    }
    wg.wait();
  });
  REQUIRE(self_received == 0);
}

// Go: TestSelectStress. Four channels, some nil at times, many selects.
TEST_CASE("select: stress with nil and closed channels", "[runtime][select]") {
  auto procs = GENERATE(1, 2);
  constexpr int kN = 5000;
  std::atomic<long> received{0};
  gort::run(gort::Config{.gomaxprocs = procs}, [&] {
    gort::chan<int> c[4] = {gort::chan<int>(0), gort::chan<int>(0), gort::chan<int>(2), gort::chan<int>(3)};
    gort::WaitGroup wg;
    // Senders: one per channel, plus one that sends to all via select.
    wg.add(5);
    for (int k = 0; k < 4; k++) {
      gort::go([&, k] {
        for (int i = 0; i < kN; i++) c[k].send(i);
        wg.done();
      });
    }
    gort::go([&] {
      gort::chan<int> cs[4] = {c[0], c[1], c[2], c[3]};
      for (int i = 0; i < 4 * kN; i++) {
        int k = gort::select(gort::send(cs[0], 3), gort::send(cs[1], 3), gort::send(cs[2], 3), gort::send(cs[3], 3));
        if (i % kN == kN - 1) cs[k] = gort::chan<int>();  // stop using a channel now and then
        (void)k;
      }
      wg.done();
    });
    // Receivers: select over all four until everything arrived.
    gort::WaitGroup rg;
    rg.add(2);
    for (int r = 0; r < 2; r++) {
      gort::go([&] {
        while (received.load() < 8L * kN) {
          gort::select(gort::recv(c[0], [&](int) { received++; }), gort::recv(c[1], [&](int) { received++; }),
                       gort::recv(c[2], [&](int) { received++; }), gort::recv(c[3], [&](int) { received++; }),
                       gort::recv(gort::after(1ms)));
        }
        rg.done();
      });
    }
    wg.wait();
    rg.wait();
  });
  REQUIRE(received == 8L * kN);
}

// Go: TestSelectFairness. With two ready channels, each is chosen about half
// the time. The bound is 6 standard deviations: a false failure has odds
// below one in 10^8.
TEST_CASE("select: chooses uniformly among ready cases", "[runtime][select]") {
  constexpr int kTrials = 10000;
  int cnt[2] = {0, 0};
  gort::run([&] {
    gort::chan<int> c1(kTrials), c2(kTrials);
    for (int i = 0; i < kTrials; i++) {
      c1.send(1);
      c2.send(2);
    }
    gort::chan<int> nil;
    for (int i = 0; i < kTrials; i++) {
      gort::select(gort::recv(c1, [&](int) { cnt[0]++; }), gort::recv(nil), gort::recv(c2, [&](int) { cnt[1]++; }));
    }
  });
  double r = static_cast<double>(cnt[0]) / kTrials;
  INFO("c1 chosen " << cnt[0] << " times, c2 " << cnt[1]);
  REQUIRE(cnt[0] + cnt[1] == kTrials);
  REQUIRE(std::abs(r - 0.5) < 6 * 0.5 / std::sqrt(static_cast<double>(kTrials)));
}

TEST_CASE("select: default, timeouts, and a chosen send moves its value", "[runtime][select]") {
  gort::run([] {
    gort::chan<int> c(0);
    bool dflt = false;
    REQUIRE(gort::select(gort::recv(c), gort::default_([&] { dflt = true; })) == 1);
    REQUIRE(dflt);
    auto t0 = gort::Clock::now();
    bool timed_out = false;
    int k = gort::select(gort::recv(c), gort::recv(gort::after(20ms), [&](auto) { timed_out = true; }));
    REQUIRE(k == 1);
    REQUIRE(timed_out);
    REQUIRE(gort::Clock::now() - t0 >= 20ms);
    // A send case on a buffered channel with room is chosen at once.
    gort::chan<std::string> s(1);
    REQUIRE(gort::select(gort::send(s, std::string("hello")), gort::default_()) == 0);
    REQUIRE(*s.recv() == "hello");
    // A select with only nil channels and a default takes the default.
    gort::chan<int> nil;
    REQUIRE(gort::select(gort::recv(nil), gort::send(nil, 1), gort::default_()) == 2);
    // Send on a closed channel through select throws.
    gort::chan<int> closed(1);
    closed.close();
    REQUIRE_THROWS_WITH(gort::select(gort::send(closed, 1)), "send on closed channel");
    // A closed channel's receive case is ready, with ok = false.
    bool ok = true;
    gort::select(gort::recv(closed, [&](int, bool o) { ok = o; }));
    REQUIRE_FALSE(ok);
  });
}

TEST_CASE("chan: plain threads send to and receive from fibers", "[runtime][chan]") {
  long total = 0;
  int selected = -1;
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    gort::chan<int> in(0), out(4);
    std::thread producer([&] {
      for (int i = 1; i <= 1000; i++) in.send(i);
      in.close();
    });
    std::thread consumer([&] {
      for (int v : out) total += v;
      // A plain thread can select too (it blocks until a case is ready).
      gort::chan<int> late(0);
      std::thread([late] { std::this_thread::sleep_for(5ms), late.send(9); }).detach();
      selected = gort::select(gort::recv(gort::chan<int>()), gort::recv(late));
    });
    for (int v : in) out.send(v);
    out.close();
    gort::blocking([&] {
      producer.join();
      consumer.join();
    });
  });
  REQUIRE(total == 500500);
  REQUIRE(selected == 1);
}
