// introspect.cpp - see introspect.hpp.
#include "gort/scheduler/introspect.hpp"

#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/park.hpp"
#include "gort/scheduler/sched.hpp"

namespace gort::detail {

std::vector<FiberRecord> snapshot_fibers() {
  std::vector<FiberRecord> out;
  if (g_sched == nullptr) return out;
  Sched& s = sched();
  std::int64_t now = coarse_nanotime();
  LockGuard lk(s.allg_lock);
  out.reserve(s.allglen);
  for (G* g = s.allg; g != nullptr; g = g->allglink) {
    GStatus st = g->status.load(std::memory_order_relaxed);
    if (st == GStatus::dead || st == GStatus::idle) continue;
    FiberRecord r{g->id.load(std::memory_order_relaxed), st, g->waitreason.load(std::memory_order_relaxed), 0,
                  g->is_main.load(std::memory_order_relaxed)};
    std::int64_t since = g->waitsince.load(std::memory_order_relaxed);
    if (st == GStatus::waiting && since != 0 && now > since) r.waiting = now - since;
    out.push_back(r);
  }
  return out;
}

bool snapshot_sched(SchedRecord& r) {
  if (g_sched == nullptr) return false;
  Sched& s = sched();
  r.fibers = num_fibers();
  r.fibers_created = s.goid_gen.load(std::memory_order_relaxed) - 1;
  r.steals = s.nsteals.load(std::memory_order_relaxed);
  r.preempt_requests = s.npreempt_requests.load(std::memory_order_relaxed);
  r.retakes_syscall = s.nretake_syscall.load(std::memory_order_relaxed);
  r.retakes_hog = s.nretake_hog.load(std::memory_order_relaxed);
  LockGuard lk(s.lock);
  r.uptime_ns = nanotime() - s.start_time;
  r.gomaxprocs = s.gomaxprocs;
  r.idleprocs = s.npidle.load();
  r.threads = s.mcount;
  r.spinning = s.nmspinning.load();
  r.idlethreads = s.nmidle;
  r.runqueue = s.runqsize.load();
  r.ps.clear();
  for (P* p : s.allp) {
    M* m = p->m.load(std::memory_order_relaxed);
    r.ps.push_back(PRecord{p->id, p->status.load(), p->runq.size_hint(), p->timers.size(), p->ngfree,
                           p->schedtick.load(std::memory_order_relaxed), p->syscalltick.load(std::memory_order_relaxed),
                           m ? static_cast<long long>(m->id) : -1LL});
  }
  r.ms.clear();
  for (M* m = s.allm; m != nullptr; m = m->alllink) {
    G* g = m->curg.load(std::memory_order_acquire);  // pairs with execute()
    // The M's P as the P's atomic `m` says (acquirep, releasep and the hog
    // retake set both sides together): m->p is a plain field that only its
    // own thread may read while it runs.
    int pid = -1;
    for (const PRecord& pr : r.ps) {
      if (pr.m == static_cast<long long>(m->id)) pid = pr.id;
    }
    long long curg = g ? static_cast<long long>(g->id.load(std::memory_order_relaxed)) : -1LL;
    r.ms.push_back(MRecord{m->id, pid, curg, m->spinning, m->blocking});
  }
  return true;
}

}  // namespace gort::detail
