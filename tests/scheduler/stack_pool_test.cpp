// Stack pool unit tests.
#include <catch2/catch.hpp>

#include "gort/scheduler/stack_pool.hpp"

using gort::detail::StackPool;

TEST_CASE("StackPool: sizes round up to powers of two within bounds", "[scheduler][stacks]") {
  REQUIRE(StackPool::round_size(0) == StackPool::kMinSize);
  REQUIRE(StackPool::round_size(1) == StackPool::kMinSize);
  REQUIRE(StackPool::round_size(16 * 1024) == 16 * 1024);
  REQUIRE(StackPool::round_size(16 * 1024 + 1) == 32 * 1024);
  REQUIRE(StackPool::round_size(300 * 1024) == 512 * 1024);
  REQUIRE(StackPool::round_size(~std::size_t{0}) == StackPool::kMaxSize);
}

TEST_CASE("StackPool: regions are reused and usable", "[scheduler][stacks]") {
  auto& pool = StackPool::instance();
  auto r = pool.allocate(64 * 1024);
  REQUIRE(r.base != nullptr);
  REQUIRE(r.size == 64 * 1024);
  // The stack part is writable.
  for (char* p = r.base + r.guard; p < r.base + r.size; p += 4096) *p = 1;
  pool.release(r);
  auto again = pool.allocate(64 * 1024);
  REQUIRE(again.base == r.base);
  StackPool::scavenge(again);  // drops the pages; they read back as zero
  REQUIRE(again.base[again.guard] == 0);
  pool.release(again);
  if (pool.mode() == gort::detail::GuardMode::madvise) REQUIRE(r.guard == 16 * 1024);
  // The smallest region keeps most of itself usable: the guard takes at
  // most a quarter.
  auto small = pool.allocate(StackPool::kMinSize);
  REQUIRE(small.guard <= StackPool::kMinSize / 4);
  for (char* p = small.base + small.guard; p < small.base + small.size; p += 4096) *p = 1;
  pool.release(small);
}
