// semaphore.cpp - golang.org/x/sync/semaphore Weighted (semaphore.go:
// Acquire, TryAcquire, Release, notifyWaiters). Invariants: semaphore.hpp.
//
// One difference in mechanics, none in behaviour: x/sync closes a waiter's
// ready channel under its mutex. Here mu_ is an OS mutex that must never be
// held across a fiber switch, so notify_waiters marks the waiter `acquired`
// under mu_ (that flag, not the channel, is what a canceled waiter checks,
// where x/sync does `select { case <-ready: ... default: }`) and the channels
// are closed after unlocking, through copies that keep them alive.
#include "gort/semaphore.hpp"

#include <stdexcept>

#include "gort/scheduler/park.hpp"
#include "gort/select.hpp"

namespace gort {

struct Semaphore::Waiter {
  explicit Waiter(std::int64_t units) : n(units), ready(0) {}
  const std::int64_t n;
  const DoneChan ready;  // closed once the units are granted (Go: ready chan struct{})
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  bool acquired = false;  // under mu_: the units were handed to this waiter
  detail::G* g = detail::current_g();  // null on a plain thread
};

void Semaphore::push_back(Waiter* w) noexcept {
  w->prev = tail_;
  w->next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = w;
  } else {
    head_ = w;
  }
  tail_ = w;
}

void Semaphore::unlink(Waiter* w) noexcept {
  if (w->prev != nullptr) {
    w->prev->next = w->next;
  } else {
    head_ = w->next;
  }
  if (w->next != nullptr) {
    w->next->prev = w->prev;
  } else {
    tail_ = w->prev;
  }
  w->prev = w->next = nullptr;
}

// Go: Weighted.notifyWaiters. Serves waiters from the head while they fit;
// stops at the first that does not (no barging past a large request: a
// semaphore used as a read-write lock would starve its writer otherwise).
void Semaphore::notify_waiters(std::vector<DoneChan>& wake) {
  while (Waiter* w = head_) {
    if (w->g != nullptr && detail::is_abandoned(w->g)) {
      unlink(w);  // its runtime ended: it never takes the units
      continue;
    }
    if (size_ - cur_ < w->n) break;
    wake.push_back(w->ready);  // first: if it throws, the waiter is untouched
    cur_ += w->n;
    unlink(w);
    w->acquired = true;
  }
}

// Go: Weighted.Acquire.
std::error_code Semaphore::acquire(const Context& ctx, std::int64_t n) {
  detail::UniqueLock lk(mu_);
  if (size_ - cur_ >= n && head_ == nullptr) {
    cur_ += n;
    return {};
  }
  if (n > size_) {
    // Don't make other acquire calls block on one that's doomed to fail.
    lk.unlock();
    ctx.done().recv();  // a nil channel (Background) blocks forever, as in Go
    return ctx.err();
  }

  Waiter w(n);
  push_back(&w);
  DoneChan ready = w.ready;
  lk.unlock();

  if (select(recv(ctx.done()), recv(ready)) == 1) return {};

  std::error_code err = ctx.err();
  std::vector<DoneChan> wake;
  lk.lock();
  if (w.acquired) {
    // Acquired the semaphore after we were canceled. Rather than trying to
    // fix up the queue, just pretend we didn't notice the cancelation.
    err = {};
  } else {
    bool front = head_ == &w;
    unlink(&w);
    // If we were at the front and there are units left, the waiters behind
    // us may fit now.
    if (front && size_ > cur_) notify_waiters(wake);
  }
  lk.unlock();
  for (const DoneChan& c : wake) c.close();
  return err;
}

// Go: Weighted.TryAcquire.
bool Semaphore::try_acquire(std::int64_t n) {
  detail::LockGuard lk(mu_);
  bool ok = size_ - cur_ >= n && head_ == nullptr;
  if (ok) cur_ += n;
  return ok;
}

// Go: Weighted.Release.
void Semaphore::release(std::int64_t n) {
  std::vector<DoneChan> wake;
  {
    detail::LockGuard lk(mu_);
    if (cur_ - n < 0) throw std::logic_error("semaphore: released more than held");
    cur_ -= n;
    notify_waiters(wake);
  }
  for (const DoneChan& c : wake) c.close();
}

namespace detail {
std::size_t semaphore_waiters(Semaphore& s) {
  LockGuard lk(s.mu_);
  std::size_t n = 0;
  for (Semaphore::Waiter* w = s.head_; w != nullptr; w = w->next) n++;
  return n;
}
}  // namespace detail

}  // namespace gort
