// proc.cpp - fiber life cycle and the switch protocol: newproc, goexit,
// park/ready, yield, the free-G cache, and the runtime-entry bracket.
//
// Go: proc.go newproc/newproc1/goexit0/gfput/gfget, gopark/park_m, goready.
//
// The switch protocol (docs/scheduler.md, "One switch"):
//   1. The running fiber G1 decides to stop (park, yield, exit) and picks the
//      next context: a G2 from its P's local queue (no trip through the
//      scheduler loop), or the M's g0 loop when local work is not enough.
//   2. It jumps, passing a SwitchRecord {from=G1, commit, arg} that lives on
//      its own (now frozen) stack.
//   3. Whoever resumes (G2 inside its own park, a new fiber's entry, or g0)
//      calls finish_switch: it stores G1's saved context into G1->ctx, then
//      runs the commit. Only the commit may make G1 reachable by a waker, so
//      nobody can resume G1 before its context is saved (Go: park_m runs
//      unlockf on g0, after the G left its stack).
//   4. A commit returning false cancels the park: G1 goes to runnext.
#include <sanitizer/asan_interface.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <exception>
#include <new>
#include <stdexcept>
#include <typeinfo>
#include <thread>
#include <unistd.h>

#include "gort/scheduler/context.hpp"
#include "gort/scheduler/log.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/prefetch.hpp"
#include "gort/scheduler/sched.hpp"
#include "gort/scheduler/stack_pool.hpp"
#include "gort/scheduler/tls_access.hpp"

namespace gort::detail {

namespace {

// initial-exec: one %fs-relative load even in position-independent code.
__attribute__((tls_model("initial-exec"))) thread_local M* tls_m = nullptr;

constexpr std::size_t kMinUsableStack = 8 * 1024;
constexpr int kGfreeBatch = 32;  // Go: gfput/gfget move G's between the lists in batches of 32
constexpr int kGfreeAhead = 8;   // gfget prefetches the G this many spawns ahead

inline char* align_down(char* p, std::size_t a) {
  return reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(p) & ~(a - 1));
}

void write_stderr(const char* s) noexcept {
  std::size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = ::write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

// An exception escaped a fiber: end the process as an unrecovered Go panic
// does (exit status 2), naming the fiber. GORT_TRACEBACK=crash aborts instead
// (core dump), like GOTRACEBACK=crash.
[[noreturn]] void fiber_panic(G* g) noexcept {
  char what[512] = "unknown exception";
  const char* type = nullptr;
  int status = 0;
  char* demangled = nullptr;
  if (std::type_info* t = abi::__cxa_current_exception_type()) {
    demangled = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
    type = demangled ? demangled : t->name();
  }
  try {
    throw;
  } catch (const std::exception& e) {
    std::snprintf(what, sizeof what, "%s", e.what());
  } catch (...) {
  }
  char msg[1024];
  std::snprintf(msg, sizeof msg, "panic: %s%s%s\n\nfiber %llu [running]:\n\tuncaught exception escaped the fiber's function\n",
                type ? type : "", type ? ": " : "", what,
                static_cast<unsigned long long>(g->id.load(std::memory_order_relaxed)));
  write_stderr(msg);
  const char* tb = std::getenv("GORT_TRACEBACK");
  if (tb && std::strcmp(tb, "crash") == 0) std::abort();
  std::_Exit(2);
}

void fiber_main(transfer_t t) noexcept;

G* galloc(std::size_t region_size) {
  StackPool::Region r = StackPool::instance().allocate(region_size);
  char* top = r.base + r.size;
  G* g = new (align_down(top - sizeof(G), alignof(G))) G();
  g->region = r.base;
  g->region_size = r.size;
  g->guard = r.guard;
  g->canary = r.guard == 0;
  g->slab = r.slab;
  g->slab_id = r.slab_id;
  g->stack_lo = r.base + r.guard;
  Sched& s = sched();
  LockGuard lk(s.allg_lock);
  g->allglink = s.allg;
  s.allg = g;
  s.allglen++;
  return g;
}

// What spawning g writes: its first two lines, its entry object and initial
// context just below it (see fiber.hpp).
inline void prefetch_spawn(G* g) noexcept {
  auto* top = reinterpret_cast<const char*>(g);
  prefetch_write(top);
  prefetch_write(top + 64);
  prefetch_write(top - 64);
  prefetch_write(top - 128);
}

G* gfget(P* p, std::size_t region_size) noexcept {
  Sched& s = sched();
  if (p != nullptr && region_size == s.config.stack_size) {
    if (p->ngfree == 0 && s.ngfree.load(std::memory_order_relaxed) > 0) {
      LockGuard lk(s.gfree_lock);
      p->ngfree = static_cast<int>(s.gfree.take_batch(p->gfree, kGfreeBatch));
      s.ngfree.store(s.gfree.size(), std::memory_order_relaxed);
      for (int i = 1; i <= kGfreeAhead && i <= p->ngfree; i++) prefetch_spawn(p->gfree[p->ngfree - i]);
    }
    if (p->ngfree == 0) return nullptr;
    G* g = p->gfree[--p->ngfree];
    if (p->ngfree >= kGfreeAhead) {
      // A later spawn will write this free G and the top of its stack: start
      // loading them now (exclusive: the G may have died on another P).
      prefetch_spawn(p->gfree[p->ngfree - kGfreeAhead]);
    }
    return g;
  }
  LockGuard lk(s.gfree_lock);
  if (region_size == s.config.stack_size) {
    G* g = s.gfree.take();
    s.ngfree.store(s.gfree.size(), std::memory_order_relaxed);
    return g;
  }
  auto it = s.gfree_other.find(region_size);
  return it == s.gfree_other.end() ? nullptr : it->second.take();
}

std::uint64_t new_goid(P* p) noexcept {
  Sched& s = sched();
  if (p == nullptr) return s.goid_gen.fetch_add(1, std::memory_order_relaxed);
  if (p->goid_next == p->goid_end) {
    p->goid_next = s.goid_gen.fetch_add(16, std::memory_order_relaxed);  // Go: _GoidCacheBatch
    p->goid_end = p->goid_next + 16;
  }
  return p->goid_next++;
}

__attribute__((always_inline)) inline void finish_switch_inline(M* m, void* fctx, void* data) noexcept {
  auto* rec = static_cast<SwitchRecord*>(data);
  G* from = rec->from;
  AfterSwitch after = rec->after;
  CommitFn commit = rec->commit;
  void* arg = rec->arg;
  if (from == nullptr) {
    m->g0ctx = fctx;
    return;
  }
  store_ctx(from, fctx);
  switch (after) {
    case AfterSwitch::none:
      return;
    case AfterSwitch::free_g:
#ifdef GORT_TSAN
      // The dead incarnation's TSan fiber: it will never run again.
      tsan::destroy_fiber(from->tsan_fiber);
      from->tsan_fiber = nullptr;
#endif
      gfput(m->p, from);
      return;
    case AfterSwitch::requeue_tail:
      break;
    case AfterSwitch::commit:
      if (commit(from, arg)) return;
      // Park cancelled (Go: park_m with unlockf returning false): run it soon.
      from->status.store(GStatus::runnable, std::memory_order_release);
      if (m->p != nullptr) {
        runq_put(m->p, from, true);
        return;
      }
      break;
  }
  if (m->p != nullptr) {
    runq_put(m->p, from, false);
  } else {
    Sched& s = sched();
    LockGuard lk(s.lock);
    globrunq_put(s, from);
  }
}

// Prefetches what resuming g touches first: the context saved on its stack
// and the frame that saved it, and the frames just below the G (its entry
// object and outermost calls). Fixed offsets, no loop: a fiber parked in I/O
// has ~0.6 KiB of frames between the two ends, so this covers most of it.
// Never above the G: it sits at the top of its region, and above it starts
// the next region's guard page, where a prefetch costs a page walk that
// finds nothing (SpawnJoin went from 50 to 76 ns when it did). Below the
// saved context is the fiber's own stack, always mapped. g may be stale (see
// RunQueue::peek); prefetches never fault. Reading g->ctx is a load, not a
// prefetch: g's own line must have been requested earlier (switch_to does it
// two switches ahead), or this waits for it - and a G spawned or last run on
// another core costs a cross-core miss (at GOMAXPROCS=2 with the vCPUs far
// apart, that wait was a sixth of SpawnJoin's time).
__attribute__((always_inline)) inline void prefetch_fiber(G* g) noexcept {
  auto* top = reinterpret_cast<const char*>(g);
  auto* sp = static_cast<const char*>(peek_ctx(g));  // racy on purpose (fiber.hpp)
  prefetch_write(sp);
  prefetch_write(sp + 64);
  for (int i = 1; i <= 6; i++) prefetch_write(top - 64 * i);
}

// Resumes execution on `next` (or g0 when null) after g stops. Returns the M
// g resumed on (never returns for a dying g).
__attribute__((always_inline)) inline M* switch_to(M* m, G* g, G* next, bool inherit, SwitchRecord* rec,
                                                bool dying) noexcept {
  if (g->canary) check_stack_canary(g);  // guarded stacks fault instead
  void** fake = dying ? nullptr : &g->asan_fake_stack;
  if (!dying) {
    g->saved_errno = *m->errno_loc;
    eh_save(m->eh_globals, g);
  }
  transfer_t t;
  if (next != nullptr) {
    // With many fibers in rotation (a connection each), the next one's
    // descriptor and the top of its stack are cold: start loading the one
    // after it now, so its misses overlap with this fiber's run, and the
    // descriptor of the one two further on, whose ctx the switch after next
    // reads.
    RunQueue& q = m->p->runq;
    if (G* later = q.peek(2)) prefetch_write(later);
    if (G* after = q.peek(0)) prefetch_fiber(after);
    execute(m, next, inherit);
    t = jump(next->ctx, rec, fake, next->stack_lo,
             static_cast<std::size_t>(next->stack_hi - next->stack_lo), tsan_fiber_of(next));
  } else {
    m->curg.store(nullptr, std::memory_order_relaxed);
    t = jump(m->g0ctx, rec, fake, m->g0_stack_lo, m->g0_stack_size, tsan_fiber_of(m));
  }
  // Running again, perhaps on another thread: `m` is stale from here on.
  M* now = current_m();
  finish_switch_inline(now, t.fctx, t.data);
  eh_restore(now->eh_globals, g);
  *now->errno_loc = g->saved_errno;
  return now;
}

void fiber_main(transfer_t t) noexcept {
  on_fiber_entry();
  M* m = current_m();
  finish_switch(m, t.fctx, t.data);
  G* g = m->curg.load(std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  m->in_runtime.store(0, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  try {
    g->entry_invoke(g->entry_obj);
  } catch (...) {
    fiber_panic(g);
  }
  g->entry_destroy(g->entry_obj);
  goexit();
}

[[noreturn]] void zombie_exit(M* m) noexcept {
  // The runtime this M belonged to has shut down while the fiber ran user
  // code. Leave the fiber frozen (its stack is leaked) and end the thread.
  G* g = m->curg.load(std::memory_order_relaxed);
  SwitchRecord rec{g};
  jump(m->g0ctx, &rec, nullptr, m->g0_stack_lo, m->g0_stack_size, tsan_fiber_of(m));
  __builtin_unreachable();
}

[[gnu::noinline]] void reenter_slow(M* m, bool safepoint) noexcept {
  if (m->zombie.load(std::memory_order_relaxed)) zombie_exit(m);
  if (m->blocking || m->curg.load(std::memory_order_relaxed) == nullptr) return;
  if (try_reacquire_p(m)) {
    G* g = m->curg.load(std::memory_order_relaxed);
    if (safepoint && g->preempt.load(std::memory_order_relaxed)) preempt_self(m);
    return;
  }
  if (safepoint) wait_for_p(m);
}

}  // namespace

// ---- thread-local access: never inlined, never analysed across calls ----

GORT_TLS_ACCESSOR M* current_m() noexcept { return tls_m; }
GORT_TLS_ACCESSOR void set_current_m(M* m) noexcept {
  tls_m = m;
  if (m != nullptr) {
    m->errno_loc = &errno;
    m->eh_globals = thread_eh_globals();
#ifdef GORT_TSAN
    m->tsan_fiber = tsan::current_fiber();  // the thread's own: g0 (tsan_fiber.hpp)
#endif
  }
}
GORT_TLS_ACCESSOR int get_errno() noexcept { return errno; }
GORT_TLS_ACCESSOR void set_errno(int e) noexcept { errno = e; }

G* current_g() noexcept {
  M* m = current_m();
  return m ? m->curg.load(std::memory_order_relaxed) : nullptr;
}

const char* to_string(GStatus s) noexcept {
  switch (s) {
    case GStatus::idle: return "idle";
    case GStatus::runnable: return "runnable";
    case GStatus::running: return "running";
    case GStatus::syscall: return "syscall";
    case GStatus::waiting: return "waiting";
    case GStatus::dead: return "dead";
    case GStatus::abandoned: return "abandoned";
  }
  return "?";
}

const char* to_string(WaitReason r) noexcept {
  switch (r) {
    case WaitReason::none: return "";
    case WaitReason::chan_receive: return "chan receive";
    case WaitReason::chan_send: return "chan send";
    case WaitReason::chan_receive_nil: return "chan receive (nil chan)";
    case WaitReason::chan_send_nil: return "chan send (nil chan)";
    case WaitReason::select: return "select";
    case WaitReason::select_no_cases: return "select (no cases)";
    case WaitReason::sleep: return "sleep";
    case WaitReason::io_wait: return "IO wait";
    case WaitReason::semacquire: return "semacquire";
    case WaitReason::sync_cond_wait: return "sync.Cond.Wait";
    case WaitReason::sync_mutex_lock: return "sync.Mutex.Lock";
    case WaitReason::sync_rwmutex_rlock: return "sync.RWMutex.RLock";
    case WaitReason::sync_rwmutex_lock: return "sync.RWMutex.Lock";
    case WaitReason::sync_wait_group_wait: return "sync.WaitGroup.Wait";
    case WaitReason::preempted: return "preempted";
    case WaitReason::wait_for_p: return "wait for P";
  }
  return "?";
}

[[noreturn]] void fatal(const char* msg) noexcept {
  write_stderr("fatal error: ");
  write_stderr(msg);
  write_stderr("\n");
  std::abort();
}

void check_stack_canary(G* g) noexcept {
  if (__builtin_expect(*reinterpret_cast<std::uint64_t*>(g->stack_lo) == kStackCanary, 1)) return;
  char msg[256];
  std::snprintf(msg, sizeof msg,
                "stack overflow in fiber %llu (stack canary overwritten; stack %zu bytes; "
                "raise it with gort::spawn_options or GORT_STACK_SIZE)",
                static_cast<unsigned long long>(g->id.load(std::memory_order_relaxed)), g->region_size);
  fatal(msg);
}

// ---- the runtime-entry bracket ----

RuntimeScope::RuntimeScope(bool safepoint) noexcept {
  M* m = current_m();
  if (m == nullptr || m->in_runtime.load(std::memory_order_relaxed) != 0) {
    outer_ = false;
    return;
  }
  outer_ = true;
  m->in_runtime.store(1, std::memory_order_relaxed);
  // Orders the store above before the loads below as seen by this thread's
  // signal handler, the only one that may clear m->p behind our back.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (__builtin_expect(m->p == nullptr || m->zombie.load(std::memory_order_relaxed), 0)) {
    reenter_slow(m, safepoint);
    return;
  }
  if (safepoint) {
    G* g = m->curg.load(std::memory_order_relaxed);
    if (g != nullptr && __builtin_expect(g->preempt.load(std::memory_order_relaxed), 0)) {
      preempt_self(m);
    }
  }
}

std::atomic<bool> g_preempt_hint{false};

void safepoint() noexcept { RuntimeScope scope; }

RuntimeScope::~RuntimeScope() {
  if (!outer_) return;
  M* m = current_m();  // may differ from the constructor's: the fiber may have moved
  std::atomic_signal_fence(std::memory_order_seq_cst);
  m->in_runtime.store(0, std::memory_order_relaxed);
}

// ---- spawning ----

G* newproc(const FiberEntry& e, void* src, std::size_t stack_size) {
  Sched& s = sched();
  std::size_t size = stack_size == 0 ? s.config.stack_size : StackPool::round_size(stack_size);
  M* m = current_m();
  P* p = m != nullptr ? m->p : nullptr;
  G* g = gfget(p, size);
  if (g == nullptr) g = galloc(size);

  char* obj = align_down(reinterpret_cast<char*>(g) - e.size, e.align > 16 ? e.align : 16);
  if (obj < g->stack_lo + kMinUsableStack) {
    gfput(p, g);
    throw std::length_error("gort::go: the function object does not fit on the fiber's stack");
  }
  try {
    e.relocate(obj, src);
  } catch (...) {
    gfput(p, g);
    throw;
  }
  g->entry_obj = obj;
  g->entry_invoke = e.invoke;
  g->entry_destroy = e.destroy;
  g->stack_hi = obj;
  // Unguarded stacks get a canary (checked on every switch away). Guarded
  // ones do not: writing it would touch one more cold page per spawn.
  if (g->canary) *reinterpret_cast<std::uint64_t*>(g->stack_lo) = kStackCanary;
#ifdef GORT_ASAN
  // Frames abandoned by the previous user of this stack left poisoned shadow.
  ASAN_UNPOISON_MEMORY_REGION(g->stack_lo, static_cast<std::size_t>(g->stack_hi - g->stack_lo));
#endif
  store_ctx(g, make_context(g->stack_hi, static_cast<std::size_t>(g->stack_hi - g->stack_lo), fiber_main));
#ifdef GORT_TSAN
  g->tsan_fiber = tsan::create_fiber();  // one per incarnation (tsan_fiber.hpp)
#endif
  g->id.store(new_goid(p), std::memory_order_relaxed);
  g->waitreason.store(WaitReason::none, std::memory_order_relaxed);
  g->preempt.store(false, std::memory_order_relaxed);
  g->hog_logged.store(false, std::memory_order_relaxed);
  g->kblock_logged.store(false, std::memory_order_relaxed);
  g->is_main.store(false, std::memory_order_relaxed);
  g->saved_errno = 0;
  g->eh_caught = nullptr;
  g->eh_uncaught = 0;
  g->asan_fake_stack = nullptr;
  g->m.store(nullptr, std::memory_order_relaxed);
  g->status.store(GStatus::runnable, std::memory_order_release);
  if (p != nullptr) {
    p->nspawned.store(p->nspawned.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    runq_put(p, g, true);
  } else {
    s.offp_spawned.fetch_add(1, std::memory_order_relaxed);
    LockGuard lk(s.lock);
    globrunq_put(s, g);
  }
  if (s.main_started.load(std::memory_order_relaxed)) wakep();
  return g;
}

void spawn(const FiberEntry& entry, void* src, std::size_t stack_size) {
  if (g_sched == nullptr) throw std::logic_error("gort::go: the gort runtime is not running (call gort::run)");
  RuntimeScope scope;
  newproc(entry, src, stack_size);
}

void gfput(P* p, G* g) noexcept {
  Sched& s = sched();
  if (p != nullptr && g->region_size == s.config.stack_size) {
    if (p->ngfree == P::kGfreeMax) {
      // Go: gfput moves half of a full local cache to the global list.
      LockGuard lk(s.gfree_lock);
      s.gfree.put_batch(p->gfree + kGfreeBatch, static_cast<std::size_t>(p->ngfree - kGfreeBatch));
      p->ngfree = kGfreeBatch;
      s.ngfree.store(s.gfree.size(), std::memory_order_relaxed);
    }
    p->gfree[p->ngfree++] = g;
    return;
  }
  LockGuard lk(s.gfree_lock);
  if (g->region_size == s.config.stack_size) {
    s.gfree.put(g);
    s.ngfree.store(s.gfree.size(), std::memory_order_relaxed);
  } else {
    s.gfree_other[g->region_size].put(g);
  }
}

std::int64_t num_fibers_now() noexcept {
  Sched& s = sched();
  std::int64_t n = s.offp_spawned.load(std::memory_order_relaxed) -
                   s.offp_exited.load(std::memory_order_relaxed);
  for (P* p : s.allp) {
    n += p->nspawned.load(std::memory_order_relaxed) - p->nexited.load(std::memory_order_relaxed);
  }
  return n < 1 ? 1 : n;
}

std::int64_t num_fibers() noexcept { return g_sched ? num_fibers_now() : 0; }

bool can_spin(int iter) noexcept {
  static const unsigned ncpu = std::thread::hardware_concurrency();
  if (iter >= 4 || ncpu <= 1 || g_sched == nullptr) return false;
  Sched& s = sched();
  if (s.gomaxprocs <= s.npidle.load(std::memory_order_relaxed) + s.nmspinning.load(std::memory_order_relaxed) + 1) {
    return false;
  }
  M* m = current_m();
  P* p = m != nullptr ? m->p : nullptr;
  return p != nullptr && p->runq.empty();
}

void do_spin() noexcept {
  for (int i = 0; i < 30; i++) cpu_relax();
}

int current_p_id() noexcept {
  M* m = current_m();
  P* p = m != nullptr ? m->p : nullptr;
  return p != nullptr ? p->id : -1;
}

// ---- exit ----

void goexit() noexcept {
  M* m = current_m();
  m->in_runtime.store(1, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (m->zombie.load(std::memory_order_relaxed)) zombie_exit(m);
  if (m->p == nullptr) try_reacquire_p(m);
  G* g = m->curg.load(std::memory_order_relaxed);
  g->status.store(GStatus::dead, std::memory_order_release);
  Sched& s = sched();
  if (P* p = m->p) {
    p->nexited.store(p->nexited.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  } else {
    s.offp_exited.fetch_add(1, std::memory_order_relaxed);
  }
  bool is_main = g->is_main.load(std::memory_order_relaxed);
  if (is_main) {
    // Go: main returning ends the program. Stop every M at its next
    // scheduling point; run_main tears down.
    s.exiting.store(true);
    {
      LockGuard lk(s.lock);
      for (M* x = s.midle; x != nullptr; x = x->schedlink) x->park.wakeup();
    }
    s.poll->wake();
    s.sysmon_note.wakeup();
    s.main_done.wakeup();
  }
  SwitchRecord rec{g, is_main ? AfterSwitch::none : AfterSwitch::free_g};
  switch_away(m, g, &rec, true);
  __builtin_unreachable();
}

// ---- park / ready / yield ----

M* switch_away(M* m, G* g, SwitchRecord* rec, bool dying) noexcept {
  bool inherit = false;
  G* next = m->p != nullptr ? next_local(m->p, inherit) : nullptr;
  return switch_to(m, g, next, inherit, rec, dying);
}

void finish_switch(M* m, void* fctx, void* data) noexcept { finish_switch_inline(m, fctx, data); }

void park(CommitFn commit, void* arg, WaitReason reason) noexcept {
  M* m = current_m();
  G* g = m->curg.load(std::memory_order_relaxed);
  if (g == nullptr) fatal("gort: park called outside a fiber");
  if (m->blocking) fatal("gort: a fiber parked inside gort::blocking()");
  g->waitreason.store(reason, std::memory_order_relaxed);
  g->waitsince.store(coarse_nanotime(), std::memory_order_relaxed);
  g->status.store(GStatus::waiting, std::memory_order_release);
  SwitchRecord rec{g, commit ? AfterSwitch::commit : AfterSwitch::none, commit, arg};
  switch_away(m, g, &rec, false);
  g->waitreason.store(WaitReason::none, std::memory_order_relaxed);
}

namespace {
void ready_impl(G* g, bool next) noexcept {
  GStatus st = g->status.load(std::memory_order_acquire);
  // A fiber abandoned by a runtime that has ended (docs/architecture.md,
  // "After gort::run returns"): a late wake from a cancel, send or close
  // finds its stale wait record. The fiber never runs again.
  if (st == GStatus::abandoned) return;
  if (st != GStatus::waiting) {
    char msg[128];
    std::snprintf(msg, sizeof msg, "gort: ready of fiber %llu in status %s (not waiting)",
                  static_cast<unsigned long long>(g->id.load(std::memory_order_relaxed)), to_string(st));
    fatal(msg);
  }
  g->status.store(GStatus::runnable, std::memory_order_release);
  M* m = current_m();
  P* p = m != nullptr ? m->p : nullptr;
  if (p != nullptr) {
    runq_put(p, g, next);
  } else {
    Sched& s = sched();
    LockGuard lk(s.lock);
    globrunq_put(s, g);
  }
  wakep();
}
}  // namespace

void ready(G* g) noexcept { ready_impl(g, true); }
bool is_abandoned(const G* g) noexcept { return g->status.load(std::memory_order_acquire) == GStatus::abandoned; }
bool runtime_running() noexcept { return g_sched != nullptr; }
void ready_tail(G* g) noexcept { ready_impl(g, false); }

void yield() noexcept {
  M* m = current_m();
  if (m == nullptr) {
    sched_yield();  // a plain thread
    return;
  }
  // RuntimeScope, unrolled: the hot path keeps `m` in a register.
  if (m->in_runtime.load(std::memory_order_relaxed) != 0) return;  // not from user code
  m->in_runtime.store(1, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  G* g = m->curg.load(std::memory_order_relaxed);
  if (__builtin_expect(m->p == nullptr || m->zombie.load(std::memory_order_relaxed) ||
                           g->preempt.load(std::memory_order_relaxed),
                       0)) {
    // Reacquiring a P or honouring a preemption request already yields.
    if (m->p == nullptr || m->zombie.load(std::memory_order_relaxed)) {
      reenter_slow(m, true);
    } else {
      preempt_self(m);
    }
  } else {
    bool inherit = false;
    G* next = next_local(m->p, inherit);
    bool nothing_else = false;
    if (next == nullptr && sched().runqsize.load(std::memory_order_relaxed) == 0) {
      // Nothing else is runnable here. Due timers or an exit request still
      // need the scheduler loop; otherwise there is nobody to yield to.
      std::int64_t w = m->p->timers.min_when();
      nothing_else = !sched().exiting.load(std::memory_order_relaxed) && (w == 0 || w > nanotime());
    }
    if (!nothing_else) {
      g->status.store(GStatus::runnable, std::memory_order_relaxed);
      SwitchRecord rec{g, AfterSwitch::requeue_tail};
      m = switch_to(m, g, next, inherit, &rec, false);  // the M we resumed on
    }
    std::atomic_signal_fence(std::memory_order_seq_cst);
    m->in_runtime.store(0, std::memory_order_relaxed);
    return;
  }
  m = current_m();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  m->in_runtime.store(0, std::memory_order_relaxed);
}

// ---- waiting for a P (exitsyscall slow path, preemption) ----

namespace {
bool wait_for_p_commit(G* g, void*) {
  M* m = current_m();  // g0 of the M g ran on; it has no P
  Sched& s = sched();
  UniqueLock lk(s.lock);
  if (P* p = pidleget(s)) {
    lk.unlock();
    acquirep(m, p);
    runq_put(p, g, true);
  } else {
    globrunq_put(s, g);
  }
  return true;
}

bool to_global_commit(G* g, void*) {
  Sched& s = sched();
  {
    LockGuard lk(s.lock);
    globrunq_put(s, g);
  }
  wakep();
  return true;
}
}  // namespace

bool yield_for_io_possible() noexcept {
  M* m = current_m();
  if (m == nullptr || m->in_runtime.load(std::memory_order_relaxed) != 0) return false;
  P* p = m->p;
  return p != nullptr && !(p->runq.empty() && sched().runqsize.load(std::memory_order_relaxed) == 0);
}

bool yield_for_io() noexcept {
  if (!yield_for_io_possible()) return false;
  Sched& s = sched();
  RuntimeScope scope(false);
  M* m = current_m();
  P* p = m->p;
  if (p == nullptr) return false;  // lost it to sysmon just now: park instead
  // A round is over when as many fibers have started as were runnable when
  // it began (schedtick counts starts). Then poll, as find_runnable would if
  // the queues ran dry; 128 events at most, as there (net/ switches the
  // events of deferring fds off, so what the kernel queues is real waiters).
  std::uint32_t tick = p->schedtick.load(std::memory_order_relaxed);
  if (static_cast<std::int32_t>(tick - p->io_poll_tick) >= 0) {
    if (s.poll->has_waiters() && s.lastpoll.load() != 0) {
      GQueue q;
      s.poll->poll(0, q);
      inject_glist(q);  // into the local ring: they run before the yielders
    }
    p->io_poll_tick = tick + p->runq.size_hint() + static_cast<std::uint32_t>(s.runqsize.load());
  }
  G* g = m->curg.load(std::memory_order_relaxed);
  g->status.store(GStatus::runnable, std::memory_order_release);
  SwitchRecord rec{g, AfterSwitch::commit, &to_global_commit, nullptr};
  switch_away(m, g, &rec, false);
  return true;
}

void wait_for_p(M* m) noexcept {
  G* g = m->curg.load(std::memory_order_relaxed);
  g->status.store(GStatus::runnable, std::memory_order_release);
  g->waitreason.store(WaitReason::wait_for_p, std::memory_order_relaxed);
  SwitchRecord rec{g, AfterSwitch::commit, &wait_for_p_commit, nullptr};
  switch_to(m, g, nullptr, false, &rec, false);
  g->waitreason.store(WaitReason::none, std::memory_order_relaxed);
}

void preempt_self(M* m) noexcept {
  G* g = m->curg.load(std::memory_order_relaxed);
  g->preempt.store(false, std::memory_order_relaxed);
  g->status.store(GStatus::runnable, std::memory_order_release);
  SwitchRecord rec{g, AfterSwitch::commit, &to_global_commit, nullptr};
  switch_away(m, g, &rec, false);
}

}  // namespace gort::detail
