// wait_group.cpp - Go's sync.WaitGroup (sync/waitgroup.go) on gort's Sema.
#include "gort/wait_group.hpp"

#include <stdexcept>

#include "gort/scheduler/park.hpp"

namespace gort {

void WaitGroup::add(int delta) {
  std::uint64_t state = state_.fetch_add(static_cast<std::uint64_t>(static_cast<std::int64_t>(delta)) << 32,
                                         std::memory_order_acq_rel) +
                        (static_cast<std::uint64_t>(static_cast<std::int64_t>(delta)) << 32);
  auto v = static_cast<std::int32_t>(state >> 32);
  auto w = static_cast<std::uint32_t>(state);
  if (v < 0) throw std::logic_error("sync: negative WaitGroup counter");
  if (w != 0 && delta > 0 && v == delta) {
    throw std::logic_error("sync: WaitGroup misuse: add called concurrently with wait");
  }
  if (v > 0 || w == 0) return;
  // The counter reached 0 with waiters: nobody may add or wait meanwhile.
  if (state_.load(std::memory_order_relaxed) != state) {
    throw std::logic_error("sync: WaitGroup misuse: add called concurrently with wait");
  }
  state_.store(0, std::memory_order_relaxed);
  for (; w != 0; w--) sema_.release();
}

void WaitGroup::wait() {
  std::uint64_t state = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((state >> 32) == 0) return;
    if (state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel)) {
      sema_.acquire(detail::WaitReason::sync_wait_group_wait);
      if (state_.load(std::memory_order_acquire) != 0) {
        throw std::logic_error("sync: WaitGroup is reused before previous wait has returned");
      }
      return;
    }
  }
}

}  // namespace gort
