// Timer heap unit tests.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "gort/scheduler/timer_heap.hpp"

using gort::detail::Timer;
using gort::detail::TimerHeap;

namespace {
std::vector<std::int64_t>* g_fired;
void record(Timer* t, std::int64_t, std::uint64_t) { g_fired->push_back(t->when); }
}  // namespace

TEST_CASE("TimerHeap: fires in deadline order, only when due", "[scheduler][timers]") {
  TimerHeap h;
  std::vector<std::int64_t> fired;
  g_fired = &fired;
  std::vector<Timer> ts(200);
  std::vector<std::int64_t> whens;
  std::mt19937 rng(42);
  for (auto& t : ts) {
    t.fn = &record;
    std::int64_t w = 1 + static_cast<std::int64_t>(rng() % 1000);
    whens.push_back(w);
    h.add(&t, w);
  }
  std::sort(whens.begin(), whens.end());
  REQUIRE(h.min_when() == whens.front());
  REQUIRE(h.run_expired(0) == whens.front());  // nothing due
  REQUIRE(fired.empty());
  std::int64_t next = h.run_expired(500);
  REQUIRE(std::is_sorted(fired.begin(), fired.end()));
  REQUIRE(std::all_of(fired.begin(), fired.end(), [](std::int64_t w) { return w <= 500; }));
  REQUIRE(next > 500);
  h.run_expired(1000);
  REQUIRE(fired == whens);
  REQUIRE(h.min_when() == 0);
  REQUIRE(h.size() == 0);
}

TEST_CASE("TimerHeap: stop removes from anywhere, once", "[scheduler][timers]") {
  TimerHeap h;
  std::vector<std::int64_t> fired;
  g_fired = &fired;
  std::vector<Timer> ts(50);
  for (std::size_t i = 0; i < ts.size(); i++) {
    ts[i].fn = &record;
    h.add(&ts[i], static_cast<std::int64_t>(100 + i));
  }
  for (std::size_t i = 0; i < ts.size(); i += 3) REQUIRE(TimerHeap::stop(&ts[i]));
  for (std::size_t i = 0; i < ts.size(); i += 3) REQUIRE_FALSE(TimerHeap::stop(&ts[i]));
  h.run_expired(1000);
  REQUIRE(fired.size() == ts.size() - (ts.size() + 2) / 3);
  REQUIRE(std::is_sorted(fired.begin(), fired.end()));
  REQUIRE_FALSE(TimerHeap::stop(&ts[1]));  // already fired
}

TEST_CASE("TimerHeap: periodic timers skip missed periods", "[scheduler][timers]") {
  TimerHeap h;
  std::vector<std::int64_t> fired;
  g_fired = &fired;
  Timer t;
  t.fn = &record;
  t.period = 10;
  h.add(&t, 10);
  h.run_expired(10);   // fires at 10, next 20
  h.run_expired(55);   // late: fires once, next 60 (20..50 skipped)
  REQUIRE(fired.size() == 2);
  REQUIRE(h.min_when() == 60);
  REQUIRE(TimerHeap::stop(&t));
}

TEST_CASE("TimerHeap: abandon_all calls the abandon hook", "[scheduler][timers]") {
  TimerHeap h;
  static int abandoned;
  abandoned = 0;
  std::vector<Timer> ts(5);
  for (auto& t : ts) {
    t.fn = &record;
    t.abandon = [](Timer*) noexcept { abandoned++; };
    h.add(&t, 100);
  }
  h.abandon_all();
  REQUIRE(abandoned == 5);
  REQUIRE(h.min_when() == 0);
  REQUIRE_FALSE(TimerHeap::stop(&ts[0]));
}
