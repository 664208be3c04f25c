// sysmon.cpp - the system monitor: a thread without a P that keeps the
// scheduler honest.
//
// Go: proc.go sysmon, retake, preemptone.
//
// Each tick (20 us, doubling after 1 ms without retakes, up to 10 ms; deep
// sleep while every P is idle):
//   - poll for I/O if nobody did for 10 ms, and inject the ready fibers;
//   - retake: a P whose fiber has run for 10 ms gets a preemption request
//     (honoured at the fiber's next runtime call; if the fiber is in user code
//     the SIGURG handler hands its P over, see signals.cpp); a P left in a
//     blocking section for a whole tick is handed to another M when there is
//     work for it, or after 10 ms;
//   - schedtrace every GORT_DEBUG=schedtrace=N ms.
#include <pthread.h>

#include <vector>

#include "gort/scheduler/log.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/sched.hpp"
#include "gort/scheduler/stack_pool.hpp"
#include "thread_state.hpp"

namespace gort::detail {

namespace {

constexpr std::int64_t kForcePreemptNs = 10'000'000;  // Go: forcePreemptNS
constexpr std::int64_t kMinDelayNs = 20'000;
constexpr std::int64_t kMaxDelayNs = 10'000'000;
constexpr std::int64_t kDeepSleepNs = 60'000'000'000;  // Go: forcegcperiod / 2

// A fiber asked to yield gets this long to reach a runtime call before its
// P is taken by the preemption signal. Fibers that make runtime calls honour
// a request within microseconds; only one computing in user code is left.
constexpr std::int64_t kHardPreemptGraceNs = 100'000;

// Go: preemptone. The first call for a fiber sets its preempt flag (honoured
// at its next safepoint, as Go's synchronous preemption); if a later tick
// finds the same fiber still running with the flag set, it is in user code
// and the SIGURG retake takes its P (signals.cpp).
void preemptone(Sched& s, P* pp, std::int64_t now) noexcept {
  M* m = pp->m.load(std::memory_order_relaxed);
  if (m == nullptr) return;
  G* g = m->curg.load(std::memory_order_relaxed);
  if (g == nullptr) return;  // on g0: the M is scheduling
  if (!g->preempt.load(std::memory_order_relaxed) || pp->sm_preempt_g != g) {
    g->preempt.store(true, std::memory_order_relaxed);
    pp->sm_preempt_g = g;
    pp->sm_preempt_when = now;
    s.npreempt_requests.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!s.config.hard_preempt || now - pp->sm_preempt_when < kHardPreemptGraceNs) return;
  // A thread asleep in the kernel (a raw usleep, a blocking read outside
  // gort::blocking) is not computing: the signal would only make its call
  // fail with EINTR, which code that never asked for signals does not
  // expect. Its P waits for the call to return instead (reported once).
  if (thread_waits_in_kernel(m->tid)) {
    if (!g->kblock_logged.exchange(true, std::memory_order_relaxed)) {
      log_info("gort: fiber %llu has waited in a system call outside gort::blocking for over 10 ms; "
               "the other fibers of P%d wait for it (wrap blocking calls in gort::blocking)",
               static_cast<unsigned long long>(g->id), pp->id);
    }
    return;
  }
  preempt_m(m);
}

// A P taken from a fiber by the preemption signal is reported once per fiber.
void log_hog(P* pp) noexcept {
  G* g = pp->sm_preempt_g;
  if (g == nullptr || g->hog_logged.exchange(true, std::memory_order_relaxed)) return;
  log_info("gort: fiber %llu ran user code for over 10 ms without a runtime call; "
           "its P%d was handed to another thread",
           static_cast<unsigned long long>(g->id), pp->id);
}

// Go: retake. Returns how many P's were taken from blocking sections.
int retake(Sched& s, std::int64_t now) noexcept {
  int n = 0;
  bool pending = false;  // some running fiber has a preemption request
  for (P* pp : s.allp) {
    PStatus st = pp->status.load();
    bool sysretake = false;
    if (st == PStatus::running) {
      if (M* m = pp->m.load(std::memory_order_relaxed)) {
        G* g = m->curg.load(std::memory_order_relaxed);
        if (g != nullptr && g->preempt.load(std::memory_order_relaxed)) pending = true;
      }
    }
    if (st == PStatus::running || st == PStatus::syscall) {
      std::uint32_t t = pp->schedtick.load(std::memory_order_relaxed);
      if (pp->sm_schedtick != t) {
        pp->sm_schedtick = t;
        pp->sm_schedwhen = now;
        pp->sm_preempt_g = nullptr;
      } else if (pp->sm_schedwhen + kForcePreemptNs <= now) {
        preemptone(s, pp, now);
        pending = true;
        sysretake = true;  // a syscall P hogged this long: retake it now
      }
    }
    if (st != PStatus::syscall) continue;
    std::uint32_t t = pp->syscalltick.load(std::memory_order_relaxed);
    if (!sysretake && pp->sm_syscalltick != t) {
      // A new blocking section: it must last a whole tick before we act.
      pp->sm_syscalltick = t;
      pp->sm_syscallwhen = now;
      continue;
    }
    // Leave it alone if it has nothing to do, somebody else is looking for
    // work anyway, and the section is still young (Go's rule; gort also
    // counts pending timers as work, since its preemption is cooperative).
    if (!sysretake && pp->runq.empty() && pp->timers.min_when() == 0 &&
        s.nmspinning.load() + s.npidle.load() > 0 && pp->sm_syscallwhen + kForcePreemptNs > now) {
      continue;
    }
    PStatus expected = PStatus::syscall;
    if (pp->status.compare_exchange_strong(expected, PStatus::idle)) {
      n++;
      if (pp->hog_retaken.exchange(false, std::memory_order_relaxed)) log_hog(pp);
      pp->syscalltick.store(t + 1, std::memory_order_relaxed);
      s.nretake_syscall.fetch_add(1, std::memory_order_relaxed);
      handoffp(pp);
    }
  }
  if (g_preempt_hint.load(std::memory_order_relaxed) != pending) {
    g_preempt_hint.store(pending, std::memory_order_relaxed);
  }
  return n;
}

constexpr std::int64_t kScavengePeriodNs = 1'000'000'000;

}  // namespace

std::size_t scavenge_stacks() {
  Sched& s = sched();
  std::vector<G*> batch;
  {
    LockGuard lk(s.gfree_lock);
    s.gfree.take_aged(batch);
    for (auto& [size, set] : s.gfree_other) set.take_aged(batch);
    s.ngfree.store(s.gfree.size(), std::memory_order_relaxed);
  }
  if (batch.empty()) return 0;
  for (G* g : batch) StackPool::scavenge({g->region, g->region_size, g->guard, g->slab, g->slab_id});
  LockGuard lk(s.gfree_lock);
  for (G* g : batch) {
    if (g->region_size == s.config.stack_size) {
      s.gfree.put_scavenged(g);
    } else {
      s.gfree_other[g->region_size].put_scavenged(g);
    }
  }
  s.ngfree.store(s.gfree.size(), std::memory_order_relaxed);
  return batch.size();
}

void sysmon_main() {
  Sched& s = sched();
  pthread_setname_np(pthread_self(), "gort-sysmon");
  int idle = 0;
  std::int64_t delay = kMinDelayNs;
  std::int64_t last_trace = nanotime();
  std::int64_t last_scavenge = last_trace;
  std::uint64_t last_ticks = 0;
  for (;;) {
    if (idle == 0) {
      delay = kMinDelayNs;
    } else if (idle > 50) {
      delay *= 2;
    }
    if (delay > kMaxDelayNs) delay = kMaxDelayNs;
    s.sysmon_note.sleep_for(delay);
    s.sysmon_note.clear();
    if (s.exiting.load()) return;
    std::int64_t now = nanotime();

    if (now - last_scavenge >= kScavengePeriodNs) {
      scavenge_stacks();
      last_scavenge = now;
    }

    // Something ran since the last look: acquirep and schedule bump a P's
    // schedtick.
    std::uint64_t ticks = 0;
    for (P* pp : s.allp) ticks += pp->schedtick.load(std::memory_order_relaxed);
    bool quiet = ticks == last_ticks;
    last_ticks = ticks;
    if (s.config.schedtrace_ms <= 0 && s.npidle.load() == s.gomaxprocs && quiet) {
      // Every P is idle, and none ran during the whole last interval: sleep
      // until some M acquires a P (acquirep wakes us), or until the next
      // scavenge if free stacks still hold memory. (Go sleeps as soon as it
      // finds every P idle, and only syscalls wake it. gort's acquirep wakes
      // it, since its preemption is cooperative and sysmon must be watching
      // whenever a fiber runs; without the "quiet" test a request/response
      // load that leaves the P idle between messages would pay a sysmon
      // wakeup, a futex call and a context switch, per message.)
      std::int64_t sleep = kDeepSleepNs;
      {
        LockGuard lk(s.gfree_lock);  // the free-G sets' lock, not sched.lock
        if (s.gfree.unscavenged() > 0) sleep = kScavengePeriodNs;
      }
      s.sysmonwait.store(true);
      if (s.npidle.load() == s.gomaxprocs && !s.exiting.load()) s.sysmon_note.sleep_for(sleep);
      s.sysmonwait.store(false);
      s.sysmon_note.clear();
      if (s.exiting.load()) return;
      idle = 0;
      continue;
    }

    std::int64_t lastpoll = s.lastpoll.load();
    if (s.poll->has_waiters() && lastpoll != 0 && lastpoll + kMaxDelayNs < now &&
        s.lastpoll.compare_exchange_strong(lastpoll, now)) {
      GQueue q;
      s.poll->poll(0, q);
      inject_glist(q);  // no P here: to the global queue, starting idle P's
    }
    if (retake(s, now) != 0) {
      idle = 0;
    } else {
      idle++;
    }
    if (s.config.schedtrace_ms > 0 &&
        now - last_trace >= static_cast<std::int64_t>(s.config.schedtrace_ms) * 1'000'000) {
      last_trace = now;
      schedtrace(s.config.scheddetail);
    }
  }
}

}  // namespace gort::detail
