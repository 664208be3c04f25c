// Run queue unit tests (Go: proc_test.go TestSchedLocalQueue,
// TestSchedLocalQueueSteal, TestSchedLocalQueueEmpty via export_test.go).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "gort/scheduler/g_queue.hpp"
#include "gort/scheduler/run_queue.hpp"

using gort::detail::G;
using gort::detail::GQueue;
using gort::detail::RunQueue;

TEST_CASE("RunQueue: FIFO ring, runnext first", "[scheduler][runq]") {
  auto q = std::make_unique<RunQueue>();
  std::vector<G> gs(10);
  bool inherit = false;
  REQUIRE(q->empty());
  REQUIRE(q->pop(inherit) == nullptr);
  for (auto& g : gs) REQUIRE(q->push_tail(&g));
  REQUIRE(q->swap_runnext(&gs[0]) == nullptr);  // (a G may not really be twice in a queue; fine for the test)
  REQUIRE(q->pop(inherit) == &gs[0]);
  REQUIRE(inherit);
  for (auto& g : gs) {
    REQUIRE(q->pop(inherit) == &g);
    REQUIRE_FALSE(inherit);
  }
  REQUIRE(q->empty());
}

TEST_CASE("RunQueue: full ring refuses, overflow grabs the older half", "[scheduler][runq]") {
  auto q = std::make_unique<RunQueue>();
  std::vector<G> gs(RunQueue::kSize);
  for (auto& g : gs) REQUIRE(q->push_tail(&g));
  G extra;
  REQUIRE_FALSE(q->push_tail(&extra));
  G* batch[RunQueue::kSize / 2 + 1];
  std::uint32_t n = q->grab_half_for_overflow(batch, q->head_acquire(), q->tail_relaxed());
  REQUIRE(n == RunQueue::kSize / 2);
  for (std::uint32_t i = 0; i < n; i++) REQUIRE(batch[i] == &gs[i]);
  REQUIRE(q->push_tail(&extra));
  bool inherit;
  REQUIRE(q->pop(inherit) == &gs[n]);
}

TEST_CASE("RunQueue: exclusive pop (single P) matches the CAS pop", "[scheduler][runq]") {
  auto q = std::make_unique<RunQueue>();
  std::vector<G> gs(5);
  for (auto& g : gs) q->push_tail(&g);
  q->swap_runnext(&gs[4]);
  bool inherit;
  REQUIRE(q->pop(inherit, true) == &gs[4]);
  REQUIRE(inherit);
  for (int i = 0; i < 5; i++) REQUIRE(q->pop(inherit, true) == &gs[static_cast<std::size_t>(i)]);
  REQUIRE(q->pop(inherit, true) == nullptr);
}

TEST_CASE("RunQueue: steal takes half, then runnext", "[scheduler][runq]") {
  auto victim = std::make_unique<RunQueue>();
  auto thief = std::make_unique<RunQueue>();
  std::vector<G> gs(8);
  for (auto& g : gs) victim->push_tail(&g);
  G* got = thief->steal_from(*victim, false, false);
  REQUIRE(got != nullptr);
  REQUIRE(thief->size_hint() == 3);   // 4 stolen: one returned, 3 queued
  REQUIRE(victim->size_hint() == 4);
  // Empty ring: runnext only when allowed.
  auto v2 = std::make_unique<RunQueue>();
  G next;
  v2->swap_runnext(&next);
  auto t2 = std::make_unique<RunQueue>();
  REQUIRE(t2->steal_from(*v2, false, false) == nullptr);
  REQUIRE(t2->steal_from(*v2, true, false) == &next);
  REQUIRE(v2->empty());
}

// Go: TestSchedLocalQueueSteal. One owner pushes and pops, thieves steal;
// every G must be taken exactly once.
TEST_CASE("RunQueue: concurrent steal loses and duplicates nothing", "[scheduler][runq]") {
  constexpr int kRounds = 2000;
  constexpr int kPerRound = 100;
  auto owner = std::make_unique<RunQueue>();
  std::vector<G> gs(kPerRound);
  std::vector<std::atomic<int>> taken(kPerRound);
  std::atomic<bool> stop{false};
  std::atomic<int> round_taken{0};
  std::vector<std::thread> thieves;
  for (int t = 0; t < 2; t++) {
    thieves.emplace_back([&] {
      auto mine = std::make_unique<RunQueue>();
      bool inherit;
      while (!stop.load(std::memory_order_relaxed)) {
        if (G* g = mine->steal_from(*owner, true, false)) {
          taken[static_cast<std::size_t>(g - gs.data())]++;
          round_taken++;
          while (G* h = mine->pop(inherit)) {
            taken[static_cast<std::size_t>(h - gs.data())]++;
            round_taken++;
          }
        }
      }
    });
  }
  bool ok = true;
  for (int r = 0; r < kRounds && ok; r++) {
    for (auto& t : taken) t = 0;
    round_taken = 0;
    for (int i = 0; i < kPerRound; i++) {
      if (i % 7 == 0) {
        if (G* old = owner->swap_runnext(&gs[static_cast<std::size_t>(i)])) owner->push_tail(old);
      } else {
        owner->push_tail(&gs[static_cast<std::size_t>(i)]);
      }
    }
    bool inherit;
    while (G* g = owner->pop(inherit)) {
      taken[static_cast<std::size_t>(g - gs.data())]++;
      round_taken++;
    }
    while (round_taken.load() < kPerRound) std::this_thread::yield();
    for (auto& t : taken) ok = ok && t.load() == 1;
  }
  stop = true;
  for (auto& t : thieves) t.join();
  REQUIRE(ok);
}

TEST_CASE("GQueue: push, append, pop", "[scheduler][runq]") {
  std::vector<G> gs(4);
  GQueue a, b;
  a.push_back(&gs[1]);
  a.push_front(&gs[0]);
  b.push_back(&gs[2]);
  b.push_back(&gs[3]);
  a.append(b);
  REQUIRE(b.empty());
  REQUIRE(a.size == 4);
  for (auto& g : gs) REQUIRE(a.pop_front() == &g);
  REQUIRE(a.empty());
  REQUIRE(a.pop_front() == nullptr);
}
