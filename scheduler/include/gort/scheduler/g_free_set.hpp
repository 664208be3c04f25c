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
// bitmap of their own (by slab number): put and take are O(1) (amortised),
// and take() returns the lowest free G of the lowest slab. The per-P caches in front of it stay LIFO (hot G's).
//
// In front of the ordered set sits a short LIFO of recently freed G's
// (`recent_`, at most kRecentMax). Per-P caches spill into it and refill from
// it a batch at a time with one copy, so a P that spawns while another one
// reaps (work stealing spreads short fibers over P's) moves 32 G's per lock
// hold without touching each G or the bitmaps; those G's are hot anyway.
// Whatever outlives a scavenge period joins the ordered set.
//
// It also drives stack scavenging: G's free for a whole sysmon scavenge
// period get their stack pages released (take_aged / put_scavenged), so a
// burst of fibers does not pin its peak memory forever.
//
// Not synchronised: Sched::gfree_lock guards every instance (sched.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/stack_pool.hpp"

namespace gort::detail {

class GFreeSet {
 public:
  static constexpr std::size_t kRecentMax = 1024;

  // The recent LIFO's room is reserved up front: spills happen under the
  // lock on the spawn/exit path, which must not allocate.
  GFreeSet() { recent_.reserve(kRecentMax); }

  std::size_t size() const noexcept { return nfree_ + recent_.size(); }
  bool empty() const noexcept { return size() == 0; }
  // Free G's whose stack pages have not been released yet.
  std::size_t unscavenged() const noexcept { return size() - nscavenged_; }

  // A dead G whose stack was just in use.
  void put(G* g) { insert(g, false); }

  // A per-P cache's spill: n dead G's, hottest last.
  void put_batch(G* const* gs, std::size_t n) {
    if (recent_.size() + n <= kRecentMax) {
      recent_.insert(recent_.end(), gs, gs + n);
      return;
    }
    for (std::size_t i = 0; i < n; i++) insert(gs[i], false);
  }

  // A per-P cache's refill: up to max G's into out[0..n), returns n. Recent
  // ones first (hottest last, as a LIFO cache pops them), else lowest
  // addresses, ordered so that the cache pops the lowest first.
  std::size_t take_batch(G** out, std::size_t max) noexcept {
    if (!recent_.empty()) {
      std::size_t n = recent_.size() < max ? recent_.size() : max;
      std::size_t from = recent_.size() - n;
      for (std::size_t i = 0; i < n; i++) out[i] = recent_[from + i];
      recent_.resize(from);
      return n;
    }
    std::size_t n = 0;
    while (n < max && nfree_ > 0) out[max - 1 - n++] = take_ordered();
    for (std::size_t i = 0; i < n; i++) out[i] = out[max - n + i];
    return n;
  }

  G* take() noexcept {
    if (!recent_.empty()) {
      G* g = recent_.back();
      recent_.pop_back();
      return g;
    }
    return take_ordered();
  }

  // Scavenging (Go: the background scavenger / freeing the stacks of dead
  // G's at GC). Removes and returns, in `out`, the G's that were already free
  // at the previous call and whose stack pages have not been released yet;
  // the caller releases them outside the lock and gives them back with
  // put_scavenged(). Every G free now counts as aged for the next call.
  void take_aged(std::vector<G*>& out) {
    for (G* g : recent_) insert(g, false);  // not aged yet: next period
    recent_.clear();
    for (std::size_t id = 0; id < slabs_.size(); id++) {
      Slab& s = slabs_[id];
      for (std::size_t w = 0; w < s.free.size(); w++) {
        std::uint64_t pick = s.free[w] & s.aged[w] & ~s.scavenged[w];
        s.aged[w] = s.free[w] & ~pick;
        if (pick == 0) continue;
        s.free[w] &= ~pick;
        for (std::uint64_t b = pick; b != 0; b &= b - 1) {
          out.push_back(s.gs[w * 64 + static_cast<std::size_t>(__builtin_ctzll(b))]);
        }
        std::size_t n = static_cast<std::size_t>(__builtin_popcountll(pick));
        s.nfree -= n;
        nfree_ -= n;
        if (s.nfree == 0) clear_partial(id);
      }
    }
  }
  void put_scavenged(G* g) { insert(g, true); }

 private:
  G* take_ordered() noexcept {
    if (nfree_ == 0) return nullptr;
    std::size_t id = first_partial();
    Slab& s = slabs_[id];
    for (std::size_t w = 0; w < s.free.size(); w++) {
      if (s.free[w] == 0) continue;
      std::uint64_t bit = s.free[w] & -s.free[w];
      std::size_t slot = w * 64 + static_cast<std::size_t>(__builtin_ctzll(bit));
      s.free[w] &= ~bit;
      s.aged[w] &= ~bit;
      if (s.scavenged[w] & bit) nscavenged_--;
      if (--s.nfree == 0) clear_partial(id);
      nfree_--;
      return s.gs[slot];
    }
    return nullptr;  // unreachable: a partial slab has a set bit
  }

  struct Slab {
    std::vector<std::uint64_t> free;       // 1 = free
    std::vector<std::uint64_t> aged;       // 1 = free since the last take_aged
    std::vector<std::uint64_t> scavenged;  // 1 = stack pages released since last use
    std::vector<G*> gs;                    // slot -> G (set when first freed)
    std::size_t nfree = 0;
  };

  void insert(G* g, bool scavenged) {
    if (g->slab_id >= slabs_.size()) {
      slabs_.resize(g->slab_id + 1);
      partial_.resize(slabs_.size() / 64 + 1);
    }
    Slab& s = slabs_[g->slab_id];
    if (s.gs.empty()) {
      std::size_t n = StackPool::slab_bytes(g->region_size) / g->region_size;
      s.gs.resize(n);
      s.free.resize((n + 63) / 64);
      s.aged.resize((n + 63) / 64);
      s.scavenged.resize((n + 63) / 64);
    }
    std::size_t slot = static_cast<std::size_t>(g->region - g->slab) / g->region_size;
    std::uint64_t bit = std::uint64_t{1} << (slot % 64);
    if (s.nfree == 0) set_partial(g->slab_id);
    s.gs[slot] = g;
    s.free[slot / 64] |= bit;
    s.aged[slot / 64] &= ~bit;
    if (scavenged) {
      s.scavenged[slot / 64] |= bit;
      nscavenged_++;
    } else {
      s.scavenged[slot / 64] &= ~bit;
    }
    s.nfree++;
    nfree_++;
  }

  void set_partial(std::size_t id) noexcept {
    partial_[id / 64] |= std::uint64_t{1} << (id % 64);
    if (id / 64 < first_word_) first_word_ = id / 64;
  }
  void clear_partial(std::size_t id) noexcept { partial_[id / 64] &= ~(std::uint64_t{1} << (id % 64)); }
  std::size_t first_partial() noexcept {  // precondition: nfree_ > 0
    while (partial_[first_word_] == 0) first_word_++;
    return first_word_ * 64 + static_cast<std::size_t>(__builtin_ctzll(partial_[first_word_]));
  }

  std::vector<Slab> slabs_;              // by slab id
  std::vector<std::uint64_t> partial_;   // 1 = the slab has a free G
  std::size_t first_word_ = 0;           // no partial slab below this word
  std::size_t nfree_ = 0;
  std::size_t nscavenged_ = 0;  // free G's with the scavenged bit
  std::vector<G*> recent_;      // LIFO of recent spills, never scavenged
};

}  // namespace gort::detail
