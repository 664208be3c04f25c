// g_free_set.hpp - the global list of dead G's of one stack size, handed out
// lowest address first.
//
// Go: sched.gFree (a LIFO list). Reuse order matters more for gort than for
// Go: a G sits at the top of its own stack region, hundreds of KiB from the
// next, so every fiber touches its own page. Handed out in address order,
// consecutive fibers share page-table pages and the TLB keeps up; handed out
// in the order they died, after a few thousand spawn/exit cycles consecutive
// fibers land anywhere in the stack area and every switch pays a page walk
// (BenchmarkWake10k got 2.5x slower over 100 rounds). So free G's are kept
// as one bitmap per stack-pool slab, and the slabs with free G's in an
// ordered set: put and take are O(1) (amortised), and take() returns the
// lowest free G. The per-P caches in front of it stay LIFO (hot G's).
//
// Not synchronised: sched.lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <vector>

#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/stack_pool.hpp"

namespace gort::detail {

class GFreeSet {
 public:
  std::size_t size() const noexcept { return nfree_; }
  bool empty() const noexcept { return nfree_ == 0; }

  void put(G* g) {
    Slab& s = slabs_[g->slab];
    if (s.gs.empty()) {
      std::size_t n = StackPool::slab_bytes(g->region_size) / g->region_size;
      s.gs.resize(n);
      s.bits.resize((n + 63) / 64);
    }
    std::size_t slot = static_cast<std::size_t>(g->region - g->slab) / g->region_size;
    if (s.nfree == 0) partial_.insert(g->slab);
    s.gs[slot] = g;
    s.bits[slot / 64] |= std::uint64_t{1} << (slot % 64);
    s.nfree++;
    nfree_++;
  }

  G* take() noexcept {
    if (nfree_ == 0) return nullptr;
    char* base = *partial_.begin();
    Slab& s = slabs_[base];
    for (std::size_t w = 0; w < s.bits.size(); w++) {
      if (s.bits[w] == 0) continue;
      std::size_t slot = w * 64 + static_cast<std::size_t>(__builtin_ctzll(s.bits[w]));
      s.bits[w] &= s.bits[w] - 1;
      if (--s.nfree == 0) partial_.erase(partial_.begin());
      nfree_--;
      return s.gs[slot];
    }
    return nullptr;  // unreachable: a partial slab has a set bit
  }

 private:
  struct Slab {
    std::vector<std::uint64_t> bits;  // 1 = free
    std::vector<G*> gs;               // slot -> G (set when first freed)
    std::size_t nfree = 0;
  };
  std::unordered_map<char*, Slab> slabs_;
  std::set<char*> partial_;  // slabs with a free G, by address
  std::size_t nfree_ = 0;
};

}  // namespace gort::detail
