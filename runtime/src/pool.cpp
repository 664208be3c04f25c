// pool.cpp - see pool.hpp (Go: sync/pool.go, minus the GC victim cache).
//
// Invariants: slots_[i] (i < kSlots - 1) belongs to P i and slots_[kSlots -
// 1] to threads without a P. A slot's items are read and written only under
// its SpinLock: normally only the thread holding P i touches slot i, so the
// lock is uncontended, but sysmon may hand P i to another M while a fiber
// that lost it is still inside get/put, and then the lock keeps the two
// apart. Nothing inside the lock can switch fibers.
#include "gort/pool.hpp"

#include "gort/scheduler/park.hpp"
#include "gort/scheduler/spin_lock.hpp"

namespace gort::detail {

namespace {
constexpr int kMaxProcs = 256;  // GOMAXPROCS's cap (config.cpp)
constexpr int kSlots = kMaxProcs + 1;
constexpr std::size_t kMaxPerP = 16;
}  // namespace

struct alignas(64) PoolCore::Slot {
  SpinLock lock;
  std::size_t n GORT_GUARDED_BY(lock) = 0;
  void* items[kMaxPerP] GORT_GUARDED_BY(lock);
};

PoolCore::PoolCore(std::size_t per_p, void (*destroy)(void*))
    : slots_(new Slot[kSlots]), per_p_(per_p > kMaxPerP ? kMaxPerP : per_p), destroy_(destroy) {}

PoolCore::~PoolCore() {
  for (int i = 0; i < kSlots; i++) {
    for (std::size_t k = 0; k < slots_[i].n; k++) destroy_(slots_[i].items[k]);
  }
}

namespace {
int slot_index() noexcept {
  int p = current_p_id();
  return p >= 0 && p < kMaxProcs ? p : kSlots - 1;
}
}  // namespace

void* PoolCore::get() noexcept {
  Slot& s = slots_[slot_index()];
  s.lock.lock();
  void* p = s.n > 0 ? s.items[--s.n] : nullptr;
  s.lock.unlock();
  return p;
}

void PoolCore::put(void* obj) noexcept {
  Slot& s = slots_[slot_index()];
  s.lock.lock();
  if (s.n < per_p_) {
    s.items[s.n++] = obj;
    obj = nullptr;
  }
  s.lock.unlock();
  if (obj != nullptr) destroy_(obj);
}

}  // namespace gort::detail
