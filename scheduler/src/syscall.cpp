// syscall.cpp - blocking sections: a fiber gives up its P around a call that
// may block the thread, and takes one back afterwards.
//
// Go: proc.go entersyscall/reentersyscall, exitsyscall, exitsyscallfast,
// exitsyscall0. The same machinery serves the hog retake (signals.cpp): a
// fiber that ran user code for > 10 ms has its P put in the syscall state by
// the preemption signal, exactly as if it had entered a blocking section.
//
//   fiber (M holds P)                         sysmon
//   blocking_enter: P.status = syscall  ...>  retake: CAS syscall -> idle,
//     m->oldp = P, m->p = null                 handoffp(P) (another M runs
//   ... blocking call ...                      the queued fibers)
//   blocking_leave: CAS P syscall -> running (fast path, P unused meanwhile)
//     else an idle P, else queue the fiber on the global run queue and stop
//     the M (wait_for_p).
#include "gort/scheduler/sched.hpp"

namespace gort::detail {

bool try_reacquire_p(M* m) noexcept {
  G* g = m->curg.load(std::memory_order_relaxed);
  P* op = m->oldp;
  m->oldp = nullptr;
  bool got = false;
  if (op != nullptr) {
    PStatus expected = PStatus::syscall;
    if (op->status.compare_exchange_strong(expected, PStatus::running)) {
      op->hog_retaken.store(false, std::memory_order_relaxed);
      m->p = op;
      op->m.store(m, std::memory_order_relaxed);
      // Tells sysmon this is a new syscall period (Go: exitsyscall).
      op->syscalltick.store(op->syscalltick.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
      // The blocking call was a scheduling event: do not count its duration
      // as time the fiber hogged the P.
      op->schedtick.store(op->schedtick.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      got = true;
    }
  }
  if (!got && sched().npidle.load() > 0) {
    Sched& s = sched();
    P* p;
    {
      LockGuard lk(s.lock);
      p = pidleget(s);
    }
    if (p != nullptr) {
      acquirep(m, p);
      got = true;
    }
  }
  if (got) {
    if (g != nullptr) g->status.store(GStatus::running, std::memory_order_relaxed);
  }
  return got;
}

bool blocking_enter() noexcept {
  M* m = current_m();
  if (m == nullptr || m->curg.load(std::memory_order_relaxed) == nullptr || m->blocking) return false;
  RuntimeScope scope;  // safepoint: we hold a P when it returns
  m = current_m();
  G* g = m->curg.load(std::memory_order_relaxed);
  m->blocking = true;
  g->status.store(GStatus::syscall, std::memory_order_relaxed);
  if (P* p = m->p) {
    m->oldp = p;
    m->p = nullptr;
    p->m.store(nullptr, std::memory_order_relaxed);
    p->status.store(PStatus::syscall);  // seq_cst: sysmon may retake from now on
    if (sched().sysmonwait.load(std::memory_order_relaxed)) wake_sysmon();
  }
  return true;
}

void blocking_leave() noexcept {
  current_m()->blocking = false;
  // The fiber ran user code without a P: entering the runtime at a safepoint
  // takes the exitsyscall path (RuntimeScope -> reenter_slow): the old P if
  // sysmon left it alone, else an idle P, else wait_for_p.
  RuntimeScope scope;
}

}  // namespace gort::detail
