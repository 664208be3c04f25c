// stack_pool.hpp - fiber stack regions: mmap'd in slabs, committed lazily,
// guarded at the bottom, pooled and reused.
//
// Go has growable 2 KiB stacks; C++ cannot move stacks (raw pointers into
// them), so every fiber gets a fixed virtual region (default 256 KiB) of
// which only the touched pages become resident (MAP_NORESERVE, no huge pages).
//
// Region layout (low to high addresses):
//   [guard][canary][ ... stack grows down ... ][entry object][G]
//
// Guards and vm.max_map_count. A guard made with mprotect() splits the slab's
// mapping, costing up to 2 VMAs per stack: with the stock limit of 65530 maps,
// creation fails near 32k fibers. So (GORT_STACK_GUARD, default auto):
//   madvise  MADV_GUARD_INSTALL (Linux >= 6.13): 16 KiB guard, no VMA split,
//            no resident memory. auto uses it whenever the kernel accepts it.
//   mprotect 4 KiB PROT_NONE page, but only for the first max_map_count/4
//            regions; regions beyond that budget rely on the canary.
//   none     canary only.
// The canary (a word just above the guard) is checked on every switch away
// from a fiber and catches overflows that skipped or lacked a guard page, a
// posteriori. A fault inside the current fiber's guard is reported by the
// SIGSEGV handler (signals.cpp) with the fiber's id.
//
// Thread safety: all members lock mu_. The pool is process-wide and outlives
// runtimes (gort::run may be called again); regions are never unmapped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "gort/scheduler/os_mutex.hpp"
#include "gort/scheduler/thread_annotations.hpp"

namespace gort::detail {

enum class GuardMode : std::uint8_t { madvise, mprotect, none };

class StackPool {
 public:
  static constexpr std::size_t kDefaultSize = 256 * 1024;
  static constexpr std::size_t kMinSize = 16 * 1024;
  static constexpr std::size_t kMaxSize = std::size_t{1} << 30;

  static StackPool& instance();

  // Rounds a requested size up to the region size used (a power of two within
  // [kMinSize, kMaxSize]).
  static std::size_t round_size(std::size_t requested) noexcept;

  struct Region {
    char* base = nullptr;
    std::size_t size = 0;
    std::size_t guard = 0;  // inaccessible bytes at the bottom (0: canary only)
    char* slab = nullptr;   // the mmap'd slab the region was carved from
    std::uint32_t slab_id = 0;  // dense number of that slab (0, 1, 2, ... in mmap order)
  };
  // Bytes of a slab holding regions of `size` (a multiple of size).
  static std::size_t slab_bytes(std::size_t size) noexcept;

  // A region of exactly `size` bytes (a value returned by round_size), guard
  // installed. Throws std::system_error if the address space is exhausted.
  Region allocate(std::size_t size) GORT_EXCLUDES(mu_);
  // Returns a region to the pool. Its pages stay resident until scavenged.
  void release(const Region& r) GORT_EXCLUDES(mu_);
  // Drops the resident pages of a region's stack, keeping the top page (which
  // holds the G). The region must not be in use by a running fiber.
  static void scavenge(const Region& r) noexcept;
  GuardMode mode() const noexcept { return mode_; }
  const char* mode_name() const noexcept;

  struct Stats {
    std::size_t regions = 0;         // carved so far
    std::size_t free_regions = 0;    // in the pool
    std::size_t guarded_regions = 0; // with a guard page or guard region
    std::size_t slabs = 0;           // mmap calls
  };
  Stats stats() const GORT_EXCLUDES(mu_);

 private:
  StackPool();
  std::size_t install_guard(char* base, std::size_t size) GORT_REQUIRES(mu_);

  mutable OsMutex mu_;
  GuardMode mode_;                  // set by the constructor
  std::size_t mprotect_budget_ = 0;  // set by the constructor
  Stats stats_ GORT_GUARDED_BY(mu_);
  std::unordered_map<std::size_t, std::vector<Region>> free_ GORT_GUARDED_BY(mu_);  // size -> regions
  // Slab space not yet carved into regions, per region size.
  struct Carve {
    char* slab = nullptr;
    std::uint32_t slab_id = 0;
    char* next = nullptr;
    char* end = nullptr;
  };
  std::unordered_map<std::size_t, Carve> carve_ GORT_GUARDED_BY(mu_);
};

}  // namespace gort::detail
