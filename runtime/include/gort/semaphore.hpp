// semaphore.hpp - golang.org/x/sync/semaphore's Weighted: a counting
// semaphore whose callers take and give back any number of units.
//
//   gort::Semaphore sem(4);                    // semaphore.NewWeighted(4)
//   if (auto ec = sem.acquire(ctx, 2)) return ec;   // ctx done first: ctx.err()
//   ... use 2 units ...
//   sem.release(2);
//
// Semantics are x/sync's (semaphore/semaphore.go):
//   - Waiters are served strictly FIFO: a large request at the head blocks
//     smaller ones behind it even when enough units are free for them, so
//     large requests never starve. try_acquire fails while anyone waits.
//   - acquire succeeds without looking at ctx when it needs no waiting (a
//     done ctx does not prevent it), and a waiter that got its units just as
//     ctx was canceled keeps them and succeeds.
//   - acquire of more than the size can never succeed: it waits for ctx to
//     be done and returns its err() (forever with Background), without
//     blocking the queue for others.
//   - release of more than is held throws std::logic_error (x/sync panics);
//     the count is left unchanged.
// Waiting fibers park in a select on ctx.done() and their own ready channel;
// plain threads block. Every method is safe from any fiber or thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <system_error>
#include <vector>

#include "gort/context.hpp"
#include "gort/scheduler/os_mutex.hpp"

namespace gort {

class Semaphore;
namespace detail {
// Introspection for tests: how many acquire calls are queued (doomed ones,
// n > size, are never queued).
std::size_t semaphore_waiters(Semaphore& s);
}  // namespace detail

class Semaphore {
 public:
  // Go: semaphore.NewWeighted(n): n units, all free.
  explicit Semaphore(std::int64_t n) noexcept : size_(n) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Go: Weighted.Acquire. Takes n units, waiting until they are available or
  // ctx is done. Empty on success; ctx.err() on failure (nothing taken).
  std::error_code acquire(const Context& ctx, std::int64_t n = 1);
  std::error_code acquire(std::int64_t n = 1) { return acquire(Context::background(), n); }
  // Go: Weighted.TryAcquire. Takes n units only if that needs no waiting.
  bool try_acquire(std::int64_t n = 1);
  // Go: Weighted.Release. Gives n units back and wakes the waiters at the
  // head of the queue that now fit.
  void release(std::int64_t n = 1);

 private:
  friend std::size_t detail::semaphore_waiters(Semaphore& s);
  struct Waiter;
  void notify_waiters(std::vector<DoneChan>& wake) GORT_REQUIRES(mu_);
  void push_back(Waiter* w) noexcept GORT_REQUIRES(mu_);
  void unlink(Waiter* w) noexcept GORT_REQUIRES(mu_);

  // Invariants (all under mu_):
  //   0 <= cur_ <= size_ except while a doomed acquire (n > size_) waits,
  //   which takes nothing.
  //   The waiter list is FIFO; its nodes live on the waiting callers' stacks
  //   and are unlinked under mu_ either by notify_waiters (which sets
  //   `acquired` and hands over the units) or by their owner giving up. A
  //   waiter's ready channel is closed after mu_ is released, through a copy,
  //   so nothing switches under mu_ and the owner may return at once.
  const std::int64_t size_;
  detail::OsMutex mu_;
  std::int64_t cur_ GORT_GUARDED_BY(mu_) = 0;
  Waiter* head_ GORT_GUARDED_BY(mu_) = nullptr;
  Waiter* tail_ GORT_GUARDED_BY(mu_) = nullptr;
};

}  // namespace gort
