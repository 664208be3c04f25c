// poll_desc.cpp - the platform-independent half of the netpoller: the
// pollDesc cache, park/unpark on rg/wg, deadlines, close.
// Go: runtime/netpoll.go. The state machine and invariants: poll_desc.hpp.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <vector>

#include "gort/scheduler/os_mutex.hpp"

#include "gort/poller/netpoll.hpp"
#include "gort/poller/poll_desc.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/park.hpp"
#include "gort/scheduler/sched.hpp"

namespace gort::detail {

namespace {

// Go: netpollWaiters. seq_cst, as Go's atomics: the "a fiber waits on I/O,
// so some M must poll" decision (schedule.cpp) reads it after leaving the
// spinning count, and on weak-memory CPUs a relaxed load could see a stale 0
// and let every M sleep while no one polls (the review's L3). On x86 the
// loads cost nothing extra and the RMWs were locked already.
std::atomic<std::int64_t> g_waiters{0};

// ---- the type-stable cache (Go: pollCache) ----

void deadline_fire(Timer* t, std::int64_t now, std::uint64_t armed_seq) noexcept;
std::uint64_t deadline_pin(Timer* t) noexcept;

class PollCache {
 public:
  PollDesc* alloc() {
    LockGuard lk(mu_);
    if (first_ == nullptr) grow();
    PollDesc* pd = first_;
    first_ = pd->link;
    pd->link = nullptr;
    return pd;
  }
  void free(PollDesc* pd) {
    // An event arriving from now on for the old fd carries an old tag.
    pd->fdseq.fetch_add(1, std::memory_order_release);
    LockGuard lk(mu_);
    pd->link = first_;
    first_ = pd;
  }

  template <class F>
  void for_each(F&& f) {
    LockGuard lk(mu_);
    for (PollDesc* block : blocks_) {
      for (int i = 0; i < kBlock; i++) f(&block[i]);
    }
  }

 private:
  void grow() GORT_REQUIRES(mu_) {
    auto* block = new PollDesc[kBlock];  // never freed: events may name them forever
    blocks_.push_back(block);
    for (int i = kBlock - 1; i >= 0; i--) {
      PollDesc* pd = &block[i];
      pd->rt.fn = &deadline_fire;
      pd->rt.pin = &deadline_pin;
      pd->rt.arg = pd;
      pd->wt.fn = &deadline_fire;
      pd->wt.pin = &deadline_pin;
      pd->wt.arg = pd;
      pd->link = first_;
      first_ = pd;
    }
  }

  static constexpr int kBlock = 64;  // Go: a 4 KiB block's worth
  OsMutex mu_;
  PollDesc* first_ GORT_GUARDED_BY(mu_) = nullptr;  // free list, through PollDesc::link (also under mu_)
  std::vector<PollDesc*> blocks_ GORT_GUARDED_BY(mu_);
};

PollCache& cache() {
  static PollCache* c = new PollCache();  // never destroyed
  return *c;
}

// Go: pollDesc.publishInfo. Under pd->lock; keeps the event-error bit, which
// the backends set without the lock.
void publish_info(PollDesc* pd) noexcept GORT_REQUIRES(pd->lock) {
  std::uint32_t info = 0;
  if (pd->closing) info |= PollDesc::kInfoClosing;
  if (pd->rd < 0) info |= PollDesc::kInfoExpiredRead;
  if (pd->wd < 0) info |= PollDesc::kInfoExpiredWrite;
  info |= static_cast<std::uint32_t>(pd->fdseq.load(std::memory_order_relaxed) & PollDesc::kInfoSeqMask)
          << PollDesc::kInfoSeqShift;
  std::uint32_t x = pd->info.load(std::memory_order_relaxed);
  constexpr std::uint32_t kKept = PollDesc::kInfoEventErr | PollDesc::kInfoReadHup;
  while (!pd->info.compare_exchange_weak(x, (x & kKept) | info, std::memory_order_acq_rel)) {
  }
}

std::atomic<std::uintptr_t>& slot(PollDesc* pd, int mode) noexcept { return mode == 'r' ? pd->rg : pd->wg; }

// Go: netpollunblock. Returns the fiber to ready, if any; `delta` counts
// fibers leaving the waiter count.
G* unblock(PollDesc* pd, int mode, bool ioready, std::int32_t& delta) noexcept {
  auto& gpp = slot(pd, mode);
  for (;;) {
    std::uintptr_t old = gpp.load(std::memory_order_acquire);
    if (old == PollDesc::kReady) return nullptr;
    if (old == PollDesc::kNil && !ioready) return nullptr;  // only I/O readiness is latched
    std::uintptr_t next = ioready ? PollDesc::kReady : PollDesc::kNil;
    if (gpp.compare_exchange_weak(old, next, std::memory_order_acq_rel)) {
      if (old == PollDesc::kWait || old == PollDesc::kNil) return nullptr;  // the park commit will fail
      delta--;
      return reinterpret_cast<G*>(old);
    }
  }
}

void ready_all(G* a, G* b, std::int32_t delta) noexcept {
  if (a == nullptr && b == nullptr) return;
  RuntimeScope scope(false);
  if (a) ready(a);
  if (b) ready(b);
  poll_adjust_waiters(delta);
}

// Go: netpollblockcommit.
bool block_commit(G* g, void* arg) noexcept {
  auto* gpp = static_cast<std::atomic<std::uintptr_t>*>(arg);
  std::uintptr_t expected = PollDesc::kWait;
  if (gpp->compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(g), std::memory_order_acq_rel)) {
    // Counted only once parked: a count of 0 lets the scheduler skip polling.
    g_waiters.fetch_add(1, std::memory_order_seq_cst);
    return true;
  }
  return false;  // readiness or an error arrived meanwhile: do not sleep
}

// Go: netpollblock. Returns true if I/O is ready, false on error/timeout/close.
bool block(PollDesc* pd, int mode) noexcept {
  auto& gpp = slot(pd, mode);
  for (;;) {
    // Look before the compare-exchange: one locked instruction per attempt.
    std::uintptr_t v = gpp.load(std::memory_order_acquire);
    if (v == PollDesc::kReady) {
      if (gpp.compare_exchange_strong(v, PollDesc::kNil, std::memory_order_acq_rel)) return true;
    } else if (v == PollDesc::kNil) {
      if (gpp.compare_exchange_strong(v, PollDesc::kWait, std::memory_order_acq_rel)) break;
    } else {
      fatal("gort: netpollblock: double wait");
    }
  }
  // Re-check errors after setting wait: closers and deadline setters publish
  // first and look at rg/wg second (poll_desc.hpp), so one side sees the other.
  if (poll_check_err(pd, mode) == PollError::none) park(&block_commit, &gpp, WaitReason::io_wait);
  // Consume the wakeup. Only ready can be left to consume here, and nobody
  // else changes a ready slot (unblock leaves it; the next transition is
  // ours), so a plain store does what Go's exchange does. A nil slot (woken
  // by close or a deadline) may turn ready under us at any time: leave it, a
  // later block() consumes that readiness.
  std::uintptr_t old = gpp.load(std::memory_order_acquire);
  if (old > PollDesc::kWait) fatal("gort: netpollblock: corrupted polldesc");
  if (old == PollDesc::kReady) {
    gpp.store(PollDesc::kNil, std::memory_order_relaxed);
    return true;
  }
  if (old == PollDesc::kWait) {
    // The park was cancelled by an error seen above: undo the wait mark
    // unless readiness replaced it meanwhile.
    if (!gpp.compare_exchange_strong(old, PollDesc::kNil, std::memory_order_acq_rel) && old == PollDesc::kReady) {
      gpp.store(PollDesc::kNil, std::memory_order_relaxed);
      return true;
    }  // else nil: a closer or deadline cleared the mark itself
  }
  return false;
}

// A plain OS thread (no fiber) waits in poll(2), re-checking close and
// deadlines at least every 50 ms.
PollError thread_wait(PollDesc* pd, int mode) noexcept {
  auto& gpp = slot(pd, mode);
  for (;;) {
    PollError err = poll_check_err(pd, mode);
    if (err != PollError::none) return err;
    std::uintptr_t expected = PollDesc::kReady;
    if (gpp.compare_exchange_strong(expected, PollDesc::kNil)) return PollError::none;
    int timeout_ms = 50;
    {
      LockGuard lk(pd->lock);
      std::int64_t d = mode == 'r' ? pd->rd : pd->wd;
      if (d > 0) {
        std::int64_t left = (d - nanotime() + 999'999) / 1'000'000;
        timeout_ms = static_cast<int>(std::clamp<std::int64_t>(left, 0, 50));
      }
    }
    struct pollfd p{pd->fd, static_cast<short>(mode == 'r' ? POLLIN : POLLOUT), 0};
    if (::poll(&p, 1, timeout_ms) > 0) return PollError::none;
  }
}

// The sequence the popped timer was armed with (rt_seq/wt_seq, written
// before the heap add), handed to this fire's deadline_fire: a re-armed
// timer popping again on another heap has its own (timer_heap.hpp `pin`).
std::uint64_t deadline_pin(Timer* t) noexcept {
  auto* pd = static_cast<PollDesc*>(t->arg);
  return (t == &pd->rt ? pd->rt_seq : pd->wt_seq).load(std::memory_order_relaxed);
}

// Go: netpolldeadlineimpl.
void deadline_fire(Timer* t, std::int64_t, std::uint64_t armed_seq) noexcept {
  auto* pd = static_cast<PollDesc*>(t->arg);
  bool read = t == &pd->rt;
  std::int32_t delta = 0;
  G* g = nullptr;
  {
    LockGuard lk(pd->lock);
    if (armed_seq != (read ? pd->rseq : pd->wseq)) return;  // the deadline moved, or the fd was reused
    if (read) {
      if (pd->rd <= 0) return;
      pd->rd = -1;
    } else {
      if (pd->wd <= 0) return;
      pd->wd = -1;
    }
    publish_info(pd);
    g = unblock(pd, read ? 'r' : 'w', false, delta);
  }
  ready_all(g, nullptr, delta);
}

void arm_deadline(PollDesc* pd, bool read) noexcept GORT_REQUIRES(pd->lock) {
  Timer* t = read ? &pd->rt : &pd->wt;
  TimerHeap::stop(t);
  std::int64_t d = read ? pd->rd : pd->wd;
  if (d <= 0) return;
  (read ? pd->rt_seq : pd->wt_seq).store(read ? pd->rseq : pd->wseq, std::memory_order_relaxed);
  timer_add(t, d);
}

}  // namespace

PollDesc* poll_open(int fd) noexcept {
  PollDesc* pd = cache().alloc();
  {
    LockGuard lk(pd->lock);
    std::uintptr_t r = pd->rg.load(), w = pd->wg.load();
    if ((r != PollDesc::kNil && r != PollDesc::kReady) || (w != PollDesc::kNil && w != PollDesc::kReady)) {
      fatal("gort: poll_open: blocked operation on a free polldesc");
    }
    pd->fd = fd;
    if (pd->fdseq.load(std::memory_order_relaxed) == 0) pd->fdseq.store(1, std::memory_order_relaxed);
    pd->closing = false;
    pd->event_err = false;
    pd->info.fetch_and(~(PollDesc::kInfoEventErr | PollDesc::kInfoReadHup));
    pd->rseq++;
    pd->rg.store(PollDesc::kNil);
    pd->rd = 0;
    pd->wseq++;
    pd->wg.store(PollDesc::kNil);
    pd->wd = 0;
    publish_info(pd);
  }
  int err = netpoll_open(fd, pd);
  if (err != 0) {
    cache().free(pd);
    errno = err;
    return nullptr;
  }
  return pd;
}

void poll_close(PollDesc* pd) noexcept {
  bool closing;
  {
    // Not contended: the closer's poll_unblock set it, and no operation is
    // left (net/'s fd mutex orders them). Read under the lock all the same.
    LockGuard lk(pd->lock);
    closing = pd->closing;
  }
  if (!closing) fatal("gort: poll_close: close of a polldesc that was not unblocked");
  std::uintptr_t r = pd->rg.load(), w = pd->wg.load();
  if ((r != PollDesc::kNil && r != PollDesc::kReady) || (w != PollDesc::kNil && w != PollDesc::kReady)) {
    fatal("gort: poll_close: blocked operation on a closing polldesc");
  }
  netpoll_close(pd->fd);
  cache().free(pd);
}

void poll_note_read_hup(PollDesc* pd, std::uint64_t seq) noexcept {
  std::uint32_t x = pd->info.load(std::memory_order_relaxed);
  for (;;) {
    if (((x >> PollDesc::kInfoSeqShift) & 0xffff) != (seq & 0xffff)) return;  // stale
    if ((x & PollDesc::kInfoReadHup) != 0) return;
    if (pd->info.compare_exchange_weak(x, x | PollDesc::kInfoReadHup, std::memory_order_acq_rel)) return;
  }
}

PollError poll_wait(PollDesc* pd, int mode) noexcept {
  PollError err = poll_check_err(pd, mode);
  if (err != PollError::none) return err;
  if (current_g() == nullptr) return thread_wait(pd, mode);
  RuntimeScope scope;
  while (!block(pd, mode)) {
    err = poll_check_err(pd, mode);
    if (err != PollError::none) return err;
    // A timeout that fired and was then extended: pretend it did not happen.
  }
  return PollError::none;
}

void poll_set_deadline(PollDesc* pd, std::int64_t d, int mode) noexcept {
  RuntimeScope scope(false);
  std::int32_t delta = 0;
  G* rg = nullptr;
  G* wg = nullptr;
  {
    LockGuard lk(pd->lock);
    if (pd->closing) return;
    bool r = mode == 'r' || mode == 'r' + 'w';
    bool w = mode == 'w' || mode == 'r' + 'w';
    if (d < 0) d = -1;
    if (r && pd->rd != d) {
      pd->rd = d;
      pd->rseq++;
      arm_deadline(pd, true);
    }
    if (w && pd->wd != d) {
      pd->wd = d;
      pd->wseq++;
      arm_deadline(pd, false);
    }
    publish_info(pd);
    // A deadline set in the past unblocks the pending operations at once.
    if (pd->rd < 0) rg = unblock(pd, 'r', false, delta);
    if (pd->wd < 0) wg = unblock(pd, 'w', false, delta);
  }
  ready_all(rg, wg, delta);
}

void poll_unblock(PollDesc* pd) noexcept {
  RuntimeScope scope(false);
  std::int32_t delta = 0;
  G* rg;
  G* wg;
  {
    LockGuard lk(pd->lock);
    if (pd->closing) fatal("gort: poll_unblock: already closing");
    pd->closing = true;
    pd->rseq++;
    pd->wseq++;
    publish_info(pd);
    rg = unblock(pd, 'r', false, delta);
    wg = unblock(pd, 'w', false, delta);
    TimerHeap::stop(&pd->rt);
    TimerHeap::stop(&pd->wt);
  }
  ready_all(rg, wg, delta);
}

std::int32_t poll_deliver(GQueue& ready, std::uint64_t tag, int mode, bool hup, bool err) noexcept {
  std::uint64_t seq;
  PollDesc* pd = PollDesc::untag(tag, seq);
  if ((pd->fdseq.load(std::memory_order_acquire) & 0xffff) != seq) return 0;  // stale: the fd was closed
  // Before poll_ready publishes readiness (release), so a reader that sees
  // it sees this too.
  if (hup) poll_note_read_hup(pd, seq);
  poll_set_event_err(pd, err, seq);
  return poll_ready(ready, pd, mode);
}

std::int64_t poll_waiters() noexcept { return g_waiters.load(std::memory_order_seq_cst); }

void poll_adjust_waiters(std::int32_t delta) noexcept {
  if (delta != 0) g_waiters.fetch_add(delta, std::memory_order_seq_cst);
}

std::int32_t poll_ready(GQueue& ready, PollDesc* pd, int mode) noexcept {
  std::int32_t delta = 0;
  G* rg = nullptr;
  G* wg = nullptr;
  if (mode == 'r' || mode == 'r' + 'w') rg = unblock(pd, 'r', true, delta);
  if (mode == 'w' || mode == 'r' + 'w') wg = unblock(pd, 'w', true, delta);
  if (rg) ready.push_back(rg);
  if (wg) ready.push_back(wg);
  return delta;
}

void poll_set_event_err(PollDesc* pd, bool on, std::uint64_t seq) noexcept {
  std::uint32_t x = pd->info.load(std::memory_order_relaxed);
  for (;;) {
    if (((x >> PollDesc::kInfoSeqShift) & 0xffff) != (seq & 0xffff)) return;  // stale
    std::uint32_t next = on ? x | PollDesc::kInfoEventErr : x & ~PollDesc::kInfoEventErr;
    if (next == x || pd->info.compare_exchange_weak(x, next, std::memory_order_acq_rel)) return;
  }
}

void NetPollHook::poll(std::int64_t delay_ns, GQueue& ready) noexcept {
  std::int32_t delta = netpoll(delay_ns, ready);
  poll_adjust_waiters(delta);
}

void NetPollHook::abandon_waiters() noexcept {
  cache().for_each([](PollDesc* pd) {
    for (auto* slot : {&pd->rg, &pd->wg}) {
      std::uintptr_t v = slot->load();
      if (v > PollDesc::kWait) slot->compare_exchange_strong(v, PollDesc::kNil);
    }
  });
  g_waiters.store(0);
}

void netpoll_hook_install() noexcept {
  static std::once_flag once;
  static NetPollHook* hook = nullptr;
  std::call_once(once, [] {
    netpoll_init();
    hook = new NetPollHook();  // never destroyed: runtimes come and go, the poller stays
  });
  install_poll_hook(hook);
}

}  // namespace gort::detail
