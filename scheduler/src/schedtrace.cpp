// schedtrace.cpp - GORT_DEBUG=schedtrace=N[,scheddetail=1]: Go's scheduler
// trace line, printed by sysmon every N ms to stderr.
//
// Go: proc.go schedtrace. Format (Go 1.23):
//   SCHED 1004ms: gomaxprocs=2 idleprocs=2 threads=5 spinningthreads=0 needspinning=0 idlethreads=3 runqueue=0 [0 0]
// scheddetail adds one line per P, M and G.
#include <cstdio>
#include <string>

#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/sched.hpp"

namespace gort::detail {

void schedtrace(bool detail) {
  Sched& s = sched();
  std::int64_t now = nanotime();
  std::string out;
  char buf[512];
  {
    LockGuard lk(s.lock);
    std::snprintf(buf, sizeof buf,
                  "SCHED %lldms: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d "
                  "needspinning=%d idlethreads=%d runqueue=%zu",
                  static_cast<long long>((now - s.start_time) / 1'000'000), s.gomaxprocs,
                  s.npidle.load(), s.mcount, s.nmspinning.load(), s.needspinning.load(), s.nmidle,
                  s.runqsize.load());
    out += buf;
    if (detail) {
      std::snprintf(buf, sizeof buf, " sysmonwait=%d steals=%llu preemptrequests=%llu retakes=%llu hogretakes=%llu\n",
                    s.sysmonwait.load() ? 1 : 0, static_cast<unsigned long long>(s.nsteals.load()),
                    static_cast<unsigned long long>(s.npreempt_requests.load()),
                    static_cast<unsigned long long>(s.nretake_syscall.load()),
                    static_cast<unsigned long long>(s.nretake_hog.load()));
      out += buf;
    } else {
      out += " [";
    }
    for (std::size_t i = 0; i < s.allp.size(); i++) {
      P* p = s.allp[i];
      std::uint32_t n = p->runq.size_hint();
      if (detail) {
        M* m = p->m.load(std::memory_order_relaxed);
        std::snprintf(buf, sizeof buf,
                      "  P%d: status=%s schedtick=%u syscalltick=%u m=%lld runqsize=%u gfreecnt=%d timerslen=%zu\n",
                      p->id, to_string(p->status.load()), p->schedtick.load(std::memory_order_relaxed),
                      p->syscalltick.load(std::memory_order_relaxed),
                      m ? static_cast<long long>(m->id) : -1LL, n, p->ngfree, p->timers.size());
      } else {
        std::snprintf(buf, sizeof buf, "%u%s", n, i + 1 == s.allp.size() ? "]\n" : " ");
      }
      out += buf;
    }
    if (detail) {
      for (M* m = s.allm; m != nullptr; m = m->alllink) {
        G* g = m->curg.load(std::memory_order_acquire);  // pairs with execute()
        int pid = -1;  // from the P's atomic side, as snapshot_sched does (introspect.cpp)
        for (P* p : s.allp) {
          if (p->m.load(std::memory_order_relaxed) == m) pid = p->id;
        }
        std::snprintf(buf, sizeof buf, "  M%llu: p=%d curg=%lld spinning=%s blocked=%s\n",
                      static_cast<unsigned long long>(m->id), pid,
                      g ? static_cast<long long>(g->id.load(std::memory_order_relaxed)) : -1LL,
                      m->spinning ? "true" : "false", m->blocking ? "true" : "false");
        out += buf;
      }
    }
  }
  if (detail) {
    LockGuard lk(s.allg_lock);
    for (G* g = s.allg; g != nullptr; g = g->allglink) {
      GStatus st = g->status.load(std::memory_order_relaxed);
      if (st == GStatus::dead) continue;
      M* m = g->m.load(std::memory_order_relaxed);
      std::snprintf(buf, sizeof buf, "  G%llu: status=%d(%s) m=%lld\n",
                    static_cast<unsigned long long>(g->id.load(std::memory_order_relaxed)), static_cast<int>(st),
                    to_string(g->waitreason.load(std::memory_order_relaxed)),
                    st == GStatus::running && m ? static_cast<long long>(m->id) : -1LL);
      out += buf;
    }
  }
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

}  // namespace gort::detail
