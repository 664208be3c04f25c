// sched.hpp - the global scheduler state and the scheduler's internal API.
//
// Go: runtime2.go type schedt; proc.go (the functions named after each
// declaration below). docs/scheduler.md draws the whole picture.
//
// Locking (checked by clang's thread-safety analysis: GORT_GUARDED_BY on
// each field, GORT_REQUIRES on the functions that expect a lock held; see
// thread_annotations.hpp):
//   lock (Go: sched.lock) guards the global run queue, the idle P and idle M
//   lists, the M list and needspinning writes. It is never held across a
//   context switch or a blocking call. Lock order:
//   sched.lock -> TimerHeap::mu_ (never the reverse); allg_lock is a leaf.
//   gfree_lock (Go: sched.gFree.lock) guards the global free-G sets (gfree,
//   gfree_other); it is a leaf too, taken by gfget/gfput and sysmon's
//   scavenger, never together with lock.
//   The links of the idle lists (P::link, M::schedlink) and M::exited are
//   under lock too; the analysis cannot say so from inside P and M.
//
// Atomics read without the lock (all seq_cst unless noted, because the
// spinning protocol relies on StoreLoad ordering between "publish work" and
// "check nmspinning", see wakep/find_runnable):
//   runqsize, npidle, nmspinning, needspinning, lastpoll, poll_until,
//   exiting, sysmonwait.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gort/scheduler/config.hpp"
#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/g_free_set.hpp"
#include "gort/scheduler/g_queue.hpp"
#include "gort/scheduler/g_ring.hpp"
#include "gort/scheduler/machine.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/note.hpp"
#include "gort/scheduler/os_mutex.hpp"
#include "gort/scheduler/park.hpp"
#include "gort/scheduler/poll_hook.hpp"
#include "gort/scheduler/processor.hpp"
#include "gort/scheduler/runtime_mutex.hpp"
#include "gort/scheduler/thread_annotations.hpp"

namespace gort::detail {

// Fields are grouped by who writes them, one group per cache line (alignas),
// so that the hot read-mostly fields checked on every switch (exiting,
// runqsize, gomaxprocs) do not share a line with the mutex word or with the
// spinning counters other M's write.
struct Sched {
  explicit Sched(const SchedConfig& c) : config(c) {}

  // Read-mostly after start.
  SchedConfig config;
  int gomaxprocs = 1;
  std::vector<P*> allp;
  std::vector<std::uint32_t> steal_coprimes;  // increments for the random steal order
  PollHook* poll = nullptr;
  G* main_g = nullptr;
  std::int64_t start_time = 0;
  std::atomic<bool> main_started{false};
  std::atomic<bool> exiting{false};

  // Global run queue (Go: sched.runq, runqsize): the mirror is read
  // lock-free on every switch, so it lives apart from the queue and the lock.
  alignas(64) std::atomic<std::size_t> runqsize{0};

  // Spinning protocol (see wakep/find_runnable).
  alignas(64) std::atomic<int> nmspinning{0};
  std::atomic<int> needspinning{0};
  alignas(64) std::atomic<int> npidle{0};

  alignas(64) RuntimeMutex lock GORT_ACQUIRED_BEFORE(TimerHeap::mu_);
  GRing runq GORT_GUARDED_BY(lock);
  P* pidle GORT_GUARDED_BY(lock) = nullptr;
  M* midle GORT_GUARDED_BY(lock) = nullptr;
  int nmidle GORT_GUARDED_BY(lock) = 0;
  // Every M; count of M threads still running.
  M* allm GORT_GUARDED_BY(lock) = nullptr;
  int mcount GORT_GUARDED_BY(lock) = 0;
  std::uint64_t mnext GORT_GUARDED_BY(lock) = 0;
  int mrunning GORT_GUARDED_BY(lock) = 0;  // threads still in their loop
  std::condition_variable_any mexited;     // signalled when mrunning drops (waits hold lock)
  // Free G's: default stack size (Go: sched.gFree) and other sizes, lowest
  // address first (g_free_set.hpp). Their own lock, as Go's sched.gFree.lock:
  // a spawning P refills its cache while another spills its dead G's, and
  // neither should wait behind run queue or idle-list traffic.
  alignas(64) RuntimeMutex gfree_lock;
  GFreeSet gfree GORT_GUARDED_BY(gfree_lock);
  std::unordered_map<std::size_t, GFreeSet> gfree_other GORT_GUARDED_BY(gfree_lock);
  alignas(64) std::atomic<std::size_t> ngfree{0};  // mirror of gfree.size()

  // Every G carved in this run (Go: allgs), for dumps and teardown.
  alignas(64) OsMutex allg_lock;
  G* allg GORT_GUARDED_BY(allg_lock) = nullptr;  // linked through G::allglink
  std::size_t allglen GORT_GUARDED_BY(allg_lock) = 0;

  // Poller (Go: sched.lastpoll, pollUntil; 0 lastpoll = an M blocks in poll).
  alignas(64) std::atomic<std::int64_t> lastpoll{0};
  std::atomic<std::int64_t> poll_until{0};
  TimerSleeper default_poll;

  // Fiber ids and counts.
  alignas(64) std::atomic<std::uint64_t> goid_gen{1};
  std::atomic<std::int64_t> offp_spawned{0};  // spawns/exits without a P
  std::atomic<std::int64_t> offp_exited{0};

  // Lifecycle and sysmon.
  alignas(64) Note main_done;  // run()'s thread sleeps here until the main fiber returns
  std::thread sysmon;
  Note sysmon_note;
  std::atomic<bool> sysmonwait{false};

  // Counters for schedtrace and /debug (relaxed).
  alignas(64) std::atomic<std::uint64_t> nsteals{0};
  std::atomic<std::uint64_t> npreempt_requests{0};
  std::atomic<std::uint64_t> nretake_syscall{0};
  std::atomic<std::uint64_t> nretake_hog{0};
};

// The running runtime, or null. Set by run_main for the duration of a run.
// Hidden: reached PC-relative, without a GOT load, even in PIC builds.
extern Sched* g_sched __attribute__((visibility("hidden")));
inline Sched& sched() noexcept { return *g_sched; }

// ---- lifecycle (sched.cpp) ----
// Runs `entry` as the main fiber on a fresh runtime; returns when the main
// fiber returns. Throws std::logic_error if a runtime is already running.
void run_main(const SchedConfig& config, const FiberEntry& entry, void* obj);

// ---- run queues (sched.cpp) ----
bool runq_put_slow(P* p, G* g) noexcept;            // Go: runqputslow
// Go: runqput. Inline: it is on every spawn, ready and yield.
__attribute__((always_inline)) inline void runq_put(P* p, G* g, bool next) noexcept {
  if (next) {
    g = p->runq.swap_runnext(g);
    if (g == nullptr) return;  // the displaced runnext (if any) goes to the tail
  }
  while (!p->runq.push_tail(g) && !runq_put_slow(p, g)) {
  }
}
// The global run queue (s is sched(); the parameter lets the analysis
// check that the caller holds s.lock).
void globrunq_put(Sched& s, G* g) noexcept GORT_REQUIRES(s.lock);
void globrunq_put_batch(Sched& s, GQueue& q) noexcept GORT_REQUIRES(s.lock);
void globrunq_put_batch(Sched& s, G* const* gs, std::size_t n) noexcept GORT_REQUIRES(s.lock);
G* globrunq_get(Sched& s, P* p, int max) noexcept GORT_REQUIRES(s.lock);
void inject_glist(GQueue& q) noexcept;              // Go: injectglist

// ---- P's and M's (sched.cpp) ----
void acquirep(M* m, P* p) noexcept;
P* releasep(M* m) noexcept;
// The idle P list (s is sched()).
void pidleput(Sched& s, P* p) noexcept GORT_REQUIRES(s.lock);
P* pidleget(Sched& s) noexcept GORT_REQUIRES(s.lock);
P* pidleget_spinning(Sched& s) noexcept GORT_REQUIRES(s.lock);  // sets needspinning when none
void wakep() noexcept;
void startm(P* p, bool spinning) noexcept;
void stopm(M* m) noexcept;
void handoffp(P* p) noexcept;
void wake_netpoller(std::int64_t when) noexcept;
void wake_sysmon() noexcept;
void resetspinning(M* m) noexcept;

// ---- scheduling (schedule.cpp) ----
void schedule_loop(M* m);  // an M's g0 loop; returns when the runtime exits
G* find_runnable(M* m, bool& inherit);
// The next G to run without going through g0 (local work only), or null
// when find_runnable has something to do first (fairness, timers, exit).
__attribute__((always_inline)) inline G* next_local(P* p, bool& inherit) noexcept {
  Sched& s = sched();
  if (__builtin_expect(s.exiting.load(std::memory_order_relaxed), 0)) return nullptr;
  if (s.runqsize.load(std::memory_order_relaxed) != 0 &&
      p->schedtick.load(std::memory_order_relaxed) % 61 == 0) {
    return nullptr;  // fairness: let find_runnable take from the global queue
  }
  std::int64_t w = p->timers.min_when();
  if (w != 0 && w <= nanotime()) return nullptr;  // timers due: find_runnable runs them
  return p->runq.pop(inherit, s.gomaxprocs == 1);
}

// Go: execute. g starts (inherit: continues the current time slice) on m.
__attribute__((always_inline)) inline void execute(M* m, G* g, bool inherit) noexcept {
  // Release: other threads (sysmon, the /debug snapshots) reach a running G
  // through curg and read what newproc wrote into it on another thread; an
  // acquire load of curg makes those writes visible (a plain move on x86).
  m->curg.store(g, std::memory_order_release);
  g->m.store(m, std::memory_order_relaxed);
  g->status.store(GStatus::running, std::memory_order_relaxed);
  if (!inherit) {
    P* p = m->p;
    p->schedtick.store(p->schedtick.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    g->preempt.store(false, std::memory_order_relaxed);
  }
}

// ---- fibers (proc.cpp) ----
G* newproc(const FiberEntry& e, void* src, std::size_t stack_size);
[[noreturn]] void goexit() noexcept;
void gfput(P* p, G* g) noexcept;
// Switches away from g (the running fiber of m) to the next local G or to
// g0, passing rec to whoever resumes. Returns when g runs again (never for a
// dying g).
// Returns the M it resumed on.
M* switch_away(M* m, G* g, SwitchRecord* rec, bool dying) noexcept;
// Completes a switch on the resuming side: saves the suspended context and
// does rec->after. m is the resumer's M.
void finish_switch(M* m, void* fctx, void* data) noexcept;
void check_stack_canary(G* g) noexcept;
std::int64_t num_fibers_now() noexcept;

// ---- blocking sections and retakes (syscall.cpp) ----
bool try_reacquire_p(M* m) noexcept;
// At a safepoint without a P: queue the current fiber for a P and stop the M.
void wait_for_p(M* m) noexcept;
void preempt_self(M* m) noexcept;  // Go: gopreempt_m

// ---- sysmon (sysmon.cpp) ----
void sysmon_main();
// Releases the stack pages of G's that stayed free since the previous call
// (sysmon calls it about once a second). Returns how many were released.
std::size_t scavenge_stacks();

// ---- signals (signals.cpp) ----
void install_signal_handlers();
void m_signal_setup(M* m);    // per thread: sigaltstack
void m_signal_teardown(M* m);
void preempt_m(M* m) noexcept;  // SIGURG with dedupe

// ---- schedtrace (schedtrace.cpp) ----
void schedtrace(bool detail);

[[noreturn]] void fatal(const char* msg) noexcept;

}  // namespace gort::detail
