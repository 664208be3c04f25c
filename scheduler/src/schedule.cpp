// schedule.cpp - finding the next fiber to run: the g0 loop, findRunnable
// and work stealing.
//
// Go: proc.go schedule, findRunnable, stealWork, checkRunqsNoP,
// checkTimersNoP, execute.
//
// find_runnable's order (the first hit wins), as in Go 1.23:
//   1. run this P's expired timers
//   2. every 61st time slice, one G from the global queue (fairness)
//   3. the local queue (runnext first)
//   4. the global queue (a batch)
//   5. non-blocking poll, when fibers wait for I/O and no M blocks in poll
//   6. steal (4 passes over the P's in random order; the last pass also runs
//      other P's expired timers and may take their runnext) - only while the
//      spinning M's are at most half the busy P's
//   7. give up the P; as a spinning M, re-check everything after leaving
//      the spinning state (the "delicate dance" that prevents lost wakeups)
//   8. block in poll until the earliest timer (one M at a time)
//   9. stop the M until somebody hands it a P
#include <algorithm>
#include <atomic>

#include "gort/scheduler/context.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/sched.hpp"
#include "gort/scheduler/spin_lock.hpp"

namespace gort::detail {

namespace {

constexpr int kStealTries = 4;  // Go: stealTries
constexpr std::int64_t kSpinWatchNs = 50'000;  // how long a spinning M watches for work before parking
constexpr std::int64_t kWatchPollNs = 5'000;   // and how often it looks
constexpr std::uint32_t kWatchBacklog = 4;     // polls' worth of a P's ring it leaves to its owner

// Go: checkTimersNoP. The earliest timer over all P's (0: none).
std::int64_t earliest_timer(Sched& s, std::int64_t pollUntil) noexcept {
  for (P* p : s.allp) {
    std::int64_t w = p->timers.min_when();
    if (w != 0 && (pollUntil == 0 || w < pollUntil)) pollUntil = w;
  }
  return pollUntil;
}

void become_spinning(M* m) noexcept {
  m->spinning = true;
  sched().nmspinning.fetch_add(1);
}

// Go: stealWork.
G* steal_work(M* m, P* p, std::int64_t now, std::int64_t& pollUntil, bool& new_work,
              bool& inherit) noexcept {
  Sched& s = sched();
  const std::uint32_t n = static_cast<std::uint32_t>(s.allp.size());
  new_work = false;
  inherit = false;
  for (int i = 0; i < kStealTries; i++) {
    bool last = i == kStealTries - 1;
    std::uint32_t pos = fastrand(m) % n;
    std::uint32_t inc = s.steal_coprimes[fastrand(m) % s.steal_coprimes.size()];
    for (std::uint32_t k = 0; k < n; k++, pos = (pos + inc) % n) {
      if (s.exiting.load(std::memory_order_relaxed)) return nullptr;
      P* p2 = s.allp[pos];
      if (p2 == p) continue;
      if (last) {
        // Run p2's expired timers; the fibers they ready land in our queue.
        std::int64_t w = p2->timers.min_when();
        if (w != 0 && w <= now) {
          w = p2->timers.run_expired(now);
          if (G* g = p->runq.pop(inherit)) return g;
          new_work = true;
        }
        if (w != 0 && (pollUntil == 0 || w < pollUntil)) pollUntil = w;
      }
      if (p2->status.load(std::memory_order_relaxed) != PStatus::idle) {
        bool running = p2->status.load(std::memory_order_relaxed) == PStatus::running;
        if (G* g = p->runq.steal_from(p2->runq, last, running)) {
          s.nsteals.fetch_add(1, std::memory_order_relaxed);
          return g;
        }
      }
    }
  }
  return nullptr;
}

// Work queued in some P's ring (the re-check of a spinning M that gives up;
// Go: checkRunqsNoP). A G in the runnext of a running P is left to its
// owner, as in the spin watch below (Go's stealWork also takes runnext only
// on its last pass, after backing off): a runnext that changes at every
// channel hand-off would send the checker stealing in a loop and make the
// owner's writes to it cross cores. But the owner of a P in the syscall
// state (its fiber is in gort::blocking, or lost the P to the hog signal)
// is not about to run it: that G counts, or it would wait for sysmon's
// retake, up to 10 ms (the review's L1).
bool any_local_work(Sched& s) noexcept {
  for (P* p : s.allp) {
    if (!p->runq.ring_empty()) return true;
    if (p->runq.has_runnext() && p->status.load(std::memory_order_relaxed) == PStatus::syscall) return true;
  }
  return false;
}

// The spin watch of find_runnable: polls, reading only, about every
// kWatchPollNs until `until`. Returns true (go back and look) when the global
// queue has work, a timer is due, or the runtime is exiting - or when some
// other P's ring holds work its owner is not getting to: its head did not
// move for a whole poll interval, or at the pace it moved the ring would
// last more than kWatchBacklog intervals. Work that its owner is draining is
// left to it: a fiber readied or spawned on a P has its descriptor and stack
// top in that P's cache, and when fibers are short, moving them to another
// core costs more than running them (BenchmarkSpawnJoin at GOMAXPROCS=2 went
// from 76 to ~50 ns when this watcher stopped snatching each new fiber).
// Work that sits is taken after one to two intervals, sooner than a parked M
// would be woken (tens of microseconds in a VM).
bool watch_for_work(Sched& s, M* m, P* p, std::int64_t until, std::int64_t pollUntil) noexcept {
  constexpr std::uint64_t kSeen = std::uint64_t{1} << 32;
  m->watch_heads.assign(s.allp.size(), 0);  // head seen at the last poll | kSeen, per P
  std::int64_t next_poll = nanotime() + kWatchPollNs;
  for (;;) {
    for (int i = 0; i < 32; i++) cpu_relax();
    std::int64_t now = nanotime();
    if (now < next_poll) continue;
    next_poll = now + kWatchPollNs;
    if (s.exiting.load(std::memory_order_relaxed) || s.runqsize.load(std::memory_order_relaxed) != 0 ||
        (pollUntil != 0 && now >= pollUntil)) {
      return true;
    }
    for (std::size_t k = 0; k < s.allp.size(); k++) {
      P* p2 = s.allp[k];
      if (p2 == p) continue;
      std::uint32_t h = p2->runq.head_acquire();
      std::uint32_t t = p2->runq.tail_relaxed();
      std::uint64_t seen = m->watch_heads[k];
      if (h == t) {
        m->watch_heads[k] = 0;
        continue;
      }
      if (seen & kSeen) {
        std::uint32_t moved = h - static_cast<std::uint32_t>(seen);  // pops since the last poll
        if (moved == 0) return true;  // its owner is not getting to it
        if (t - h > kWatchBacklog * moved) return true;  // nor soon enough
      }
      m->watch_heads[k] = kSeen | h;
    }
    if (now >= until) return false;
  }
}

}  // namespace

G* find_runnable(M* m, bool& inherit) {
  Sched& s = sched();
top:
  if (s.exiting.load()) return nullptr;
  if (m->p == nullptr) {  // lost it (blocking section exit, retake): wait for one
    stopm(m);
    goto top;
  }
  P* p = m->p;
  std::int64_t now = nanotime();
  std::int64_t pollUntil = p->timers.run_expired(now);

  if (p->schedtick.load(std::memory_order_relaxed) % 61 == 0 && s.runqsize.load() != 0) {
    LockGuard lk(s.lock);
    if (G* g = globrunq_get(s, p, 1)) {
      inherit = false;
      return g;
    }
  }
  if (G* g = p->runq.pop(inherit, s.gomaxprocs == 1)) return g;
  if (s.runqsize.load() != 0) {
    LockGuard lk(s.lock);
    if (G* g = globrunq_get(s, p, 0)) {
      inherit = false;
      return g;
    }
  }
  // Non-blocking poll: an optimisation before stealing.
  if (s.poll->has_waiters() && s.lastpoll.load() != 0) {
    GQueue q;
    s.poll->poll(0, q);
    if (!q.empty()) {
      G* g = q.pop_front();
      g->status.store(GStatus::runnable, std::memory_order_release);
      inject_glist(q);
      inherit = false;
      return g;
    }
  }
  // Steal, if spinning M's are at most half of the busy P's.
  if (m->spinning || 2 * s.nmspinning.load() < s.gomaxprocs - s.npidle.load()) {
    if (!m->spinning) become_spinning(m);
    bool new_work = false;
    if (G* g = steal_work(m, p, now, pollUntil, new_work, inherit)) return g;
    if (new_work) goto top;
    // Go parks here. gort first watches for work for a little while, still
    // counted as spinning: while it does, wakep() costs submitters one load
    // instead of a futex wake, which in a VM means an inter-processor
    // interrupt and tens of microseconds. Only with other P's to watch, and
    // not while fibers wait for I/O (the poller, blocking in the kernel,
    // reacts to that better). See watch_for_work.
    if (s.gomaxprocs > 1 && !s.poll->has_waiters()) {
      if (watch_for_work(s, m, p, now + kSpinWatchNs, pollUntil)) goto top;
    }
  }

  // Nothing: give up the P.
  {
    UniqueLock lk(s.lock);
    if (s.exiting.load()) return nullptr;
    if (!s.runq.empty()) {
      G* g = globrunq_get(s, p, 0);
      inherit = false;
      return g;
    }
    if (!m->spinning && s.needspinning.load() == 1) {
      s.needspinning.store(0);
      lk.unlock();
      become_spinning(m);
      goto top;
    }
    pidleput(s, releasep(m));
  }

  bool was_spinning = m->spinning;
  if (m->spinning) {
    m->spinning = false;
    if (s.nmspinning.fetch_sub(1) - 1 < 0) fatal("gort: find_runnable: negative nmspinning");
    // Delicate dance: we were spinning, so a submitter may have skipped
    // waking anybody. Having left the spinning count (a full barrier), look
    // at every source of work once more.
    if (s.runqsize.load() != 0) {
      P* p2;
      {
        LockGuard lk(s.lock);
        p2 = pidleget_spinning(s);
      }
      if (p2 != nullptr) {
        acquirep(m, p2);
        become_spinning(m);
        goto top;
      }
    }
    if (any_local_work(s)) {
      P* p2;
      {
        LockGuard lk(s.lock);
        p2 = pidleget_spinning(s);
      }
      if (p2 != nullptr) {
        acquirep(m, p2);
        become_spinning(m);
        goto top;
      }
    }
  }
  pollUntil = earliest_timer(s, pollUntil);

  // Block in poll until the earliest timer (or I/O); one M at a time.
  if ((s.poll->has_waiters() || pollUntil != 0) && s.lastpoll.exchange(0) != 0) {
    s.poll_until.store(pollUntil);
    std::int64_t delay = -1;
    if (pollUntil != 0) {
      delay = pollUntil - nanotime();
      if (delay < 0) delay = 0;
    }
    GQueue q;
    s.poll->poll(delay, q);
    now = nanotime();
    s.poll_until.store(0);
    s.lastpoll.store(now);
    if (s.exiting.load()) return nullptr;
    P* p2;
    {
      LockGuard lk(s.lock);
      p2 = pidleget(s);
    }
    if (p2 == nullptr) {
      inject_glist(q);
    } else {
      acquirep(m, p2);
      if (!q.empty()) {
        G* g = q.pop_front();
        g->status.store(GStatus::runnable, std::memory_order_release);
        inject_glist(q);
        if (was_spinning) become_spinning(m);
        inherit = false;
        return g;
      }
      if (was_spinning) become_spinning(m);
      goto top;
    }
  } else if (pollUntil != 0) {
    // Another M polls; make sure it wakes up for our earliest timer.
    std::int64_t until = s.poll_until.load();
    if (until == 0 || until > pollUntil) s.poll->wake();
  }
  stopm(m);
  goto top;
}

void schedule_loop(M* m) {
  for (;;) {
    bool inherit = false;
    G* g = find_runnable(m, inherit);
    if (g == nullptr) return;  // the runtime is exiting
    if (m->spinning) resetspinning(m);
    execute(m, g, inherit);
    SwitchRecord rec{nullptr};
    transfer_t t = jump(g->ctx, &rec, &m->g0_fake_stack, g->stack_lo,
                        static_cast<std::size_t>(g->stack_hi - g->stack_lo), tsan_fiber_of(g));
    finish_switch(m, t.fctx, t.data);
    if (m->zombie.load(std::memory_order_relaxed)) return;
  }
}

}  // namespace gort::detail
