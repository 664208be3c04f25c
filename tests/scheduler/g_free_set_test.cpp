// GFreeSet unit tests: the recent-spill LIFO in front of the address-ordered
// set, and scavenging's view of both.
#include <catch2/catch.hpp>

#include <vector>

#include "gort/scheduler/g_free_set.hpp"
#include "gort/scheduler/stack_pool.hpp"

using gort::detail::G;
using gort::detail::GFreeSet;
using gort::detail::StackPool;

namespace {

constexpr std::size_t kRegion = 64 * 1024;

// G's that describe consecutive regions of fake stack-pool slabs, in
// address order. The set reads only their region fields; nothing here
// touches the fake memory.
struct FakeSlab {
  std::vector<G> gs;
  explicit FakeSlab(std::size_t n) : gs(n) {
    std::size_t slab_bytes = StackPool::slab_bytes(kRegion);
    std::size_t per_slab = slab_bytes / kRegion;
    char* base = reinterpret_cast<char*>(std::uintptr_t{1} << 40);
    for (std::size_t i = 0; i < n; i++) {
      std::size_t id = i / per_slab;
      gs[i].slab = base + id * slab_bytes;
      gs[i].slab_id = static_cast<std::uint32_t>(id);
      gs[i].region = gs[i].slab + (i % per_slab) * kRegion;
      gs[i].region_size = kRegion;
    }
  }
};

}  // namespace

TEST_CASE("GFreeSet: spilled batches come back whole, hottest popped first", "[scheduler][gfree]") {
  REQUIRE(StackPool::slab_bytes(kRegion) / kRegion >= 64);
  FakeSlab slab(64);
  GFreeSet set;
  G* spill[32];
  for (int i = 0; i < 32; i++) spill[i] = &slab.gs[40 - i];  // hottest last: gs[9]
  set.put_batch(spill, 32);
  REQUIRE(set.size() == 32);

  G* out[32];
  REQUIRE(set.take_batch(out, 32) == 32);
  REQUIRE(set.empty());
  for (int i = 0; i < 32; i++) REQUIRE(out[i] == spill[i]);  // a LIFO cache pops out[31] = gs[9] first

  set.put_batch(spill, 32);
  REQUIRE(set.take() == &slab.gs[9]);
  REQUIRE(set.take_batch(out, 8) == 8);
  REQUIRE(out[7] == &slab.gs[10]);
  REQUIRE(set.size() == 23);
}

TEST_CASE("GFreeSet: without recent spills, refills hand out the lowest addresses first", "[scheduler][gfree]") {
  FakeSlab slab(64);
  GFreeSet set;
  for (int i = 63; i >= 0; i--) set.put(&slab.gs[i]);
  G* out[32];
  REQUIRE(set.take_batch(out, 32) == 32);
  REQUIRE(out[31] == &slab.gs[0]);  // popped first
  REQUIRE(out[0] == &slab.gs[31]);
  REQUIRE(set.take() == &slab.gs[32]);
}

TEST_CASE("GFreeSet: a spill beyond the recent LIFO's room joins the ordered set", "[scheduler][gfree]") {
  FakeSlab slab(GFreeSet::kRecentMax + 32);
  GFreeSet set;
  std::vector<G*> all;
  for (G& g : slab.gs) all.push_back(&g);
  for (std::size_t i = 0; i < GFreeSet::kRecentMax; i += 32) set.put_batch(&all[i], 32);
  set.put_batch(&all[GFreeSet::kRecentMax], 32);  // no room: ordered
  REQUIRE(set.size() == all.size());
  std::vector<bool> seen(all.size());
  G* out[32];
  for (std::size_t n; (n = set.take_batch(out, 32)) > 0;) {
    for (std::size_t i = 0; i < n; i++) {
      auto k = static_cast<std::size_t>(out[i] - &slab.gs[0]);
      REQUIRE(!seen[k]);
      seen[k] = true;
    }
  }
  for (bool b : seen) REQUIRE(b);
}

TEST_CASE("GFreeSet: scavenging ages recent spills like any free G", "[scheduler][gfree]") {
  FakeSlab slab(32);
  GFreeSet set;
  G* spill[32];
  for (int i = 0; i < 32; i++) spill[i] = &slab.gs[i];
  set.put_batch(spill, 32);
  std::vector<G*> aged;
  set.take_aged(aged);  // free since now: not aged yet
  REQUIRE(aged.empty());
  REQUIRE(set.size() == 32);
  REQUIRE(set.unscavenged() == 32);
  set.take_aged(aged);  // free for a whole period
  REQUIRE(aged.size() == 32);
  REQUIRE(set.empty());
  for (G* g : aged) set.put_scavenged(g);
  REQUIRE(set.size() == 32);
  REQUIRE(set.unscavenged() == 0);
}
