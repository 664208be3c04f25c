// stack_pool.cpp - see stack_pool.hpp for the layout and the guard policy.
#include "gort/scheduler/stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

#include "gort/scheduler/log.hpp"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13; Debian 12's headers lack it
#endif

namespace gort::detail {

namespace {
constexpr std::size_t kPage = 4096;
constexpr std::size_t kMadviseGuard = 16 * 1024;  // free with MADV_GUARD_INSTALL: be generous
constexpr std::size_t kMprotectGuard = kPage;
constexpr std::size_t kSlabBytes = 16 * 1024 * 1024;

std::size_t read_max_map_count() {
  std::ifstream f("/proc/sys/vm/max_map_count");
  std::size_t n = 0;
  if (f >> n && n > 0) return n;
  return 65530;
}

bool probe_guard_install() {
  void* p = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  bool ok = madvise(p, kPage, MADV_GUARD_INSTALL) == 0;
  munmap(p, 2 * kPage);
  return ok;
}
}  // namespace

StackPool& StackPool::instance() {
  static StackPool* pool = new StackPool();  // never destroyed: stacks may outlive main()
  return *pool;
}

StackPool::StackPool() {
  const char* env = std::getenv("GORT_STACK_GUARD");
  std::string want = env ? env : "auto";
  bool madvise_ok = probe_guard_install();
  if (want == "none") {
    mode_ = GuardMode::none;
  } else if (want == "mprotect" || !madvise_ok) {
    mode_ = GuardMode::mprotect;
    if (want == "madvise") {
      log_warn("GORT_STACK_GUARD=madvise: MADV_GUARD_INSTALL unsupported by this kernel; using mprotect");
    }
  } else {
    mode_ = GuardMode::madvise;
  }
  mprotect_budget_ = read_max_map_count() / 4;
}

const char* StackPool::mode_name() const noexcept {
  switch (mode_) {
    case GuardMode::madvise: return "madvise";
    case GuardMode::mprotect: return "mprotect";
    case GuardMode::none: return "none";
  }
  return "?";
}

std::size_t StackPool::slab_bytes(std::size_t size) noexcept { return std::max(kSlabBytes, size); }

std::size_t StackPool::round_size(std::size_t requested) noexcept {
  std::size_t s = kMinSize;
  while (s < requested && s < kMaxSize) s <<= 1;
  return s;
}

std::size_t StackPool::install_guard(char* base, std::size_t size) {
  // At most a quarter of the region: the smallest stacks (16 KiB) keep 12 KiB
  // usable instead of being all guard.
  std::size_t guard = std::min(kMadviseGuard, size / 4);
  if (mode_ == GuardMode::madvise && madvise(base, guard, MADV_GUARD_INSTALL) == 0) {
    stats_.guarded_regions++;
    return guard;
  }
  if (mode_ == GuardMode::mprotect && stats_.guarded_regions < mprotect_budget_ &&
      mprotect(base, kMprotectGuard, PROT_NONE) == 0) {
    stats_.guarded_regions++;
    return kMprotectGuard;
  }
  return 0;
}

StackPool::Region StackPool::allocate(std::size_t size) {
  LockGuard lk(mu_);
  auto& fl = free_[size];
  if (!fl.empty()) {
    Region r = fl.back();
    fl.pop_back();
    stats_.free_regions--;
    return r;
  }
  Carve& c = carve_[size];
  if (c.next == c.end) {
    std::size_t bytes = slab_bytes(size);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      throw std::system_error(errno, std::generic_category(),
                              "gort: cannot map " + std::to_string(bytes) + " bytes for fiber stacks");
    }
    madvise(p, bytes, MADV_NOHUGEPAGE);  // a touched stack page must not become 2 MiB resident
    c.slab = c.next = static_cast<char*>(p);
    c.slab_id = static_cast<std::uint32_t>(stats_.slabs);
    c.end = c.next + bytes;
    stats_.slabs++;
  }
  Region r{c.next, size, 0, c.slab, c.slab_id};
  c.next += size;
  r.guard = install_guard(r.base, size);
  stats_.regions++;
  return r;
}

void StackPool::release(const Region& r) {
  LockGuard lk(mu_);
  free_[r.size].push_back(r);
  stats_.free_regions++;
}

void StackPool::scavenge(const Region& r) noexcept {
  madvise(r.base + r.guard, r.size - r.guard - kPage, MADV_DONTNEED);
}

StackPool::Stats StackPool::stats() const {
  LockGuard lk(mu_);
  return stats_;
}

}  // namespace gort::detail
