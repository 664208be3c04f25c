// gort::debug: fiber dumps and the scheduler snapshot.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "gort/debug.hpp"
#include "gort/gort.hpp"
#include "gort/signal.hpp"

#include <csignal>

using namespace std::chrono_literals;

TEST_CASE("debug: fibers lists every live fiber with its state and wait reason", "[runtime][debug]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [procs] {
    gort::chan<int> never(0);
    gort::chan<int> parked(3);
    std::uint64_t receiver = 0, sleeper = 0;
    gort::WaitGroup started, received;
    started.add(2);
    received.add(1);
    gort::go([&] {
      receiver = gort::this_fiber::id();
      started.done();
      never.recv();
      received.done();
    });
    gort::go([&] {
      sleeper = gort::this_fiber::id();
      started.done();
      gort::sleep_for(1h);
    });
    started.wait();
    // Both have parked once their reasons show (they park right after done()).
    std::vector<gort::debug::Fiber> fs;
    for (int i = 0; i < 1000; i++) {
      fs = gort::debug::fibers();
      auto r = std::find_if(fs.begin(), fs.end(), [&](auto& f) { return f.id == receiver; });
      auto s = std::find_if(fs.begin(), fs.end(), [&](auto& f) { return f.id == sleeper; });
      if (r != fs.end() && s != fs.end() && r->waiting && s->waiting) break;
      gort::yield();
    }
    auto find = [&](std::uint64_t id) { return *std::find_if(fs.begin(), fs.end(), [&](auto& f) { return f.id == id; }); };
    REQUIRE(find(receiver).state == "chan receive");
    REQUIRE(find(sleeper).state == "sleep");
    auto self = find(gort::this_fiber::id());
    REQUIRE(self.state == "running");
    REQUIRE(self.main);
    std::string dump = gort::debug::fiber_dump();
    REQUIRE(dump.find("fiber " + std::to_string(receiver) + " [chan receive, ") != std::string::npos);
    REQUIRE(dump.find("fiber " + std::to_string(gort::this_fiber::id()) + " [running]: main\n") != std::string::npos);
    std::string js = gort::debug::sched_json();
    REQUIRE(js.find("\"gomaxprocs\":" + std::to_string(procs)) != std::string::npos);
    REQUIRE(js.find("\"fibers\":3") != std::string::npos);
    REQUIRE(std::count(js.begin(), js.end(), '{') == std::count(js.begin(), js.end(), '}'));
    never.close();
    // The receiver must leave recv() before main returns: fibers still
    // alive then are abandoned unwound (Go's exit), and its frame would leak.
    received.wait();
  });
  REQUIRE(gort::debug::fibers().empty());
  REQUIRE(gort::debug::sched_json() == "{\"running\":false}");
}

TEST_CASE("signal: notify delivers to channels, drops when full, and stop ends delivery", "[runtime][signal]") {
  gort::run([] {
    gort::chan<int> a(1), b(4);
    gort::signal_notify(a, {SIGUSR1});
    gort::signal_notify(b, {SIGUSR1, SIGUSR2});
    ::raise(SIGUSR1);
    REQUIRE(*a.recv() == SIGUSR1);
    REQUIRE(*b.recv() == SIGUSR1);
    ::raise(SIGUSR2);
    REQUIRE(*b.recv() == SIGUSR2);
    // a holds one; further signals are dropped for it, not queued.
    ::raise(SIGUSR1);
    ::raise(SIGUSR1);
    ::raise(SIGUSR1);
    REQUIRE(*b.recv() == SIGUSR1);
    REQUIRE(*b.recv() == SIGUSR1);
    REQUIRE(*b.recv() == SIGUSR1);
    REQUIRE(*a.recv() == SIGUSR1);
    REQUIRE(!a.try_recv());
    gort::signal_stop(a);
    ::raise(SIGUSR1);  // still caught: b wants it
    REQUIRE(*b.recv() == SIGUSR1);
    REQUIRE(!a.try_recv());
    gort::signal_stop(b);
    REQUIRE_THROWS_AS(gort::signal_notify(a, {SIGURG}), std::invalid_argument);
    REQUIRE_THROWS_AS(gort::signal_notify(a, {SIGSEGV}), std::invalid_argument);
  });
}
