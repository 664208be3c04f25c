// sched.cpp - runtime life cycle, run queues, and handing P's and M's around.
//
// Go: proc.go schedinit/main, runqput/runqputslow, globrunqput/globrunqget,
// injectglist, acquirep/releasep, pidleput/pidleget, wakep, startm, stopm,
// handoffp, wakeNetPoller, resetspinning.
//
// Thread parking policy (Go's, verbatim in spirit): when work is submitted,
// wake an idle P only if there is an idle P and no spinning M. The submitter
// publishes the work, then (StoreLoad) checks nmspinning; a spinning M that
// gives up decrements nmspinning, then (StoreLoad) re-checks every source of
// work (schedule.cpp, "delicate dance"). One of the two always sees the other.
#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <system_error>

#include "thread_state.hpp"
#include "gort/scheduler/context.hpp"
#include "gort/scheduler/log.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/sched.hpp"
#include "gort/scheduler/stack_pool.hpp"

#ifdef GORT_ASAN
#include <sanitizer/lsan_interface.h>
#endif

namespace gort::detail {

__attribute__((visibility("hidden"))) Sched* g_sched = nullptr;

namespace {

PollHook* g_installed_hook = nullptr;
constexpr int kMaxMCount = 10000;  // Go: sched.maxmcount

void mstart(M* m);

M* newm_locked(Sched& s) GORT_REQUIRES(s.lock) {
  if (s.mcount >= kMaxMCount) fatal("gort: thread limit exceeded (10000 M's)");
  M* m = new M();
  m->id = s.mnext++;
  m->alllink = s.allm;
  s.allm = m;
  s.mcount++;
  s.mrunning++;
  m->fastrand = 0x9E3779B97F4A7C15ULL * (m->id + 1) ^ static_cast<std::uint64_t>(nanotime());
  return m;
}

void newm(P* p, bool spinning) {
  Sched& s = sched();
  M* m;
  {
    LockGuard lk(s.lock);
    m = newm_locked(s);
  }
  m->nextp = p;
  m->spinning = spinning;
  try {
    m->thread = std::thread(mstart, m);
  } catch (const std::system_error& e) {
    char msg[256];
    std::snprintf(msg, sizeof msg, "gort: cannot create an OS thread for M%llu: %s",
                  static_cast<unsigned long long>(m->id), e.what());
    fatal(msg);
  }
}

void record_g0_stack(M* m) {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    std::size_t size = 0;
    pthread_attr_getstack(&attr, &addr, &size);
    m->g0_stack_lo = addr;
    m->g0_stack_size = size;
    pthread_attr_destroy(&attr);
  }
}

void mstart(M* m) {
  set_current_m(m);
  m->pthread = pthread_self();
  m->tid = current_tid();
  record_g0_stack(m);
  m_signal_setup(m);
  if (m->nextp != nullptr) {
    P* p = m->nextp;
    m->nextp = nullptr;
    acquirep(m, p);
  }
  schedule_loop(m);
  if (m->zombie.load()) return;  // the runtime is gone; touch nothing
  m_signal_teardown(m);
  set_current_m(nullptr);
  Sched& s = sched();
  LockGuard lk(s.lock);
  m->exited = true;
  s.mrunning--;
  s.mexited.notify_all();
}

std::vector<std::uint32_t> coprimes(std::uint32_t n) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 1; i <= n; i++) {
    if (std::gcd(i, n) == 1) out.push_back(i);
  }
  return out;
}

// Tears the runtime down after the main fiber returned. Returns false if some M
// could not be stopped (its fiber is still running user code): then nothing
// is freed, because that M may still read it.
bool teardown(Sched& s) {
  std::int64_t deadline = nanotime() + s.config.exit_grace_ns;
  {
    UniqueLock lk(s.lock);
    while (s.mrunning > 0) {
      std::int64_t left = deadline - nanotime();
      if (left <= 0) break;
      s.mexited.wait_for(lk, std::chrono::nanoseconds(left));
    }
  }
  s.sysmon_note.wakeup();
  if (s.sysmon.joinable()) s.sysmon.join();
  // The M list and the G list, read under their locks: a plain thread's
  // late gort::go may still add to them.
  auto all_ms = [&s] {
    LockGuard lk(s.lock);
    return s.allm;
  };
  auto all_gs = [&s] {
    LockGuard lk(s.allg_lock);
    return s.allg;
  };
  bool zombies = false;
  for (M* m = all_ms(); m != nullptr; m = m->alllink) {
    bool exited;
    {
      LockGuard lk(s.lock);
      exited = m->exited;
      if (!exited) m->zombie.store(true);
    }
    if (exited) {
      if (m->thread.joinable()) m->thread.join();
    } else {
      zombies = true;
      G* g = m->curg.load();
      log_warn("gort::run: main returned while fiber %llu still runs on M%llu; abandoning that thread",
               g ? static_cast<unsigned long long>(g->id) : 0ULL, static_cast<unsigned long long>(m->id));
      m->thread.detach();
    }
  }
  if (zombies) return false;

  for (P* p : s.allp) p->timers.abandon_all();
  s.poll->abandon_waiters();
  // Every fiber still alive is abandoned, as Go's exit abandons goroutines:
  // objects on their stacks are not destroyed. Unlike Go's, this process
  // goes on, and their wait records stay linked in channels, semaphores,
  // condition variables and contexts that may outlive the runtime. So each
  // such G is marked abandoned and keeps its stack: a later send, close,
  // cancel or release reads the stale record safely, skips it (wait queues
  // test is_abandoned) and ready() of it does nothing. The cost is the
  // abandoned fibers' stacks, never reused. Dead fibers' stacks hold only
  // stale frames and go back to the pool.
  StackPool& pool = StackPool::instance();
  for (G* g = all_gs(); g != nullptr;) {
    G* next = g->allglink;
    if (g->status.load(std::memory_order_relaxed) != GStatus::dead) {
      g->status.store(GStatus::abandoned, std::memory_order_release);
#ifdef GORT_ASAN
      // Under LeakSanitizer, scan the kept stacks as roots: what they
      // reference is reachable (as it would be for a Go program at exit),
      // not leaked.
      __lsan_register_root_region(g->stack_lo, static_cast<std::size_t>(g->region + g->region_size - g->stack_lo));
#endif
      g = next;
      continue;
    }
    StackPool::Region r{g->region, g->region_size, g->guard, g->slab, g->slab_id};
    g->~G();
    pool.release(r);
    g = next;
  }
  for (P* p : s.allp) delete p;
  for (M* m = all_ms(); m != nullptr;) {
    M* next = m->alllink;
    delete m;
    m = next;
  }
  return true;
}

}  // namespace

void install_poll_hook(PollHook* hook) noexcept { g_installed_hook = hook; }

void run_main(const SchedConfig& config_in, const FiberEntry& entry, void* obj) {
  static std::mutex run_mu;
  std::unique_lock run_lk(run_mu, std::try_to_lock);
  if (!run_lk.owns_lock() || g_sched != nullptr) {
    throw std::logic_error("gort::run: a gort runtime is already running in this process");
  }
  log_init();
  SchedConfig config = resolve_config(config_in);
  config.stack_size = StackPool::round_size(config.stack_size);
  install_signal_handlers();

  auto* s = new Sched(config);
  s->gomaxprocs = config.gomaxprocs;
  s->poll = g_installed_hook != nullptr ? g_installed_hook : &s->default_poll;
  s->steal_coprimes = coprimes(static_cast<std::uint32_t>(s->gomaxprocs));
  for (int i = 0; i < s->gomaxprocs; i++) {
    P* p = new P();
    p->id = i;
    s->allp.push_back(p);
  }
  g_sched = s;
  {
    LockGuard lk(s->lock);  // nobody else runs yet: for the analysis
    for (int i = s->gomaxprocs - 1; i >= 0; i--) pidleput(*s, s->allp[static_cast<std::size_t>(i)]);
  }
  s->start_time = nanotime();
  s->lastpoll.store(s->start_time);

  // The main fiber starts on a fresh M. The calling thread does not run
  // fibers itself: it waits for the main fiber to return, so that run() can
  // return even while other threads are still busy in user code.
  G* main_g = newproc(entry, obj, 0);  // no P here: onto the global queue
  main_g->is_main = true;
  s->main_g = main_g;
  s->main_started.store(true);
  s->sysmon = std::thread(sysmon_main);
  log_debug("gort: runtime started: GOMAXPROCS=%d stack=%zu guard=%s", s->gomaxprocs,
            config.stack_size, StackPool::instance().mode_name());
  startm(nullptr, false);
  s->main_done.sleep();

  bool freed = teardown(*s);
  g_sched = nullptr;
  if (freed) {
    delete s;
  } else {
    // Leaked on purpose: abandoned threads may still read it. Kept reachable
    // so that leak checkers do not report it.
    static auto* abandoned = new std::vector<Sched*>();  // never destroyed
    abandoned->push_back(s);
  }
}

// ---- run queues ----

// Go: runqputslow. Moves half of the full local ring plus g to the global queue.
bool runq_put_slow(P* p, G* g) noexcept {
  G* batch[RunQueue::kSize / 2 + 1];
  std::uint32_t h = p->runq.head_acquire();
  std::uint32_t t = p->runq.tail_relaxed();
  std::uint32_t n = p->runq.grab_half_for_overflow(batch, h, t);
  if (n == 0) return false;
  batch[n] = g;
  Sched& s = sched();
  LockGuard lk(s.lock);
  globrunq_put_batch(s, batch, n + 1);
  return true;
}

void globrunq_put(Sched& s, G* g) noexcept {
  s.runq.push_back(g);
  s.runqsize.store(s.runq.size());
}

void globrunq_put_batch(Sched& s, GQueue& q) noexcept {
  while (G* g = q.pop_front()) s.runq.push_back(g);
  s.runqsize.store(s.runq.size());
}

void globrunq_put_batch(Sched& s, G* const* gs, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; i++) s.runq.push_back(gs[i]);
  s.runqsize.store(s.runq.size());
}

G* globrunq_get(Sched& s, P* p, int max) noexcept {
  std::size_t size = s.runq.size();
  if (size == 0) return nullptr;
  std::size_t n = std::min(size, size / static_cast<std::size_t>(s.gomaxprocs) + 1);
  if (max > 0 && n > static_cast<std::size_t>(max)) n = static_cast<std::size_t>(max);
  if (n > RunQueue::kSize / 2) n = RunQueue::kSize / 2;
  G* g = s.runq.pop_front();
  n--;
  for (; n > 0; n--) runq_put(p, s.runq.pop_front(), false);
  s.runqsize.store(s.runq.size());
  return g;
}

void inject_glist(GQueue& q) noexcept {
  if (q.empty()) return;
  Sched& s = sched();
  for (G* g = q.head; g != nullptr; g = g->schedlink) {
    g->status.store(GStatus::runnable, std::memory_order_release);
  }
  M* m = current_m();
  P* p = m != nullptr ? m->p : nullptr;
  std::size_t qsize = q.size;
  if (p == nullptr) {
    {
      LockGuard lk(s.lock);
      globrunq_put_batch(s, q);
    }
    for (std::size_t n = qsize; n > 0 && s.npidle.load() != 0; n--) startm(nullptr, false);
    return;
  }
  std::size_t npidle = static_cast<std::size_t>(s.npidle.load());
  std::size_t n = std::min(npidle, qsize);
  if (n > 0) {
    GQueue global;
    for (std::size_t i = 0; i < n; i++) global.push_back(q.pop_front());
    {
      LockGuard lk(s.lock);
      globrunq_put_batch(s, global);
    }
    for (; n > 0 && s.npidle.load() != 0; n--) startm(nullptr, false);
  }
  while (G* g = q.pop_front()) runq_put(p, g, false);
  wakep();
}

// ---- P's ----

void acquirep(M* m, P* p) noexcept {
  m->p = p;
  p->m.store(m, std::memory_order_relaxed);
  // A new time slice as far as sysmon is concerned: an idle P keeps its old
  // schedtick, which would otherwise look like one fiber running all along.
  p->schedtick.store(p->schedtick.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  p->status.store(PStatus::running, std::memory_order_release);
  if (__builtin_expect(sched().sysmonwait.load(), 0)) wake_sysmon();  // seq_cst: pairs with sysmon's deep sleep
}

P* releasep(M* m) noexcept {
  P* p = m->p;
  m->p = nullptr;
  p->m.store(nullptr, std::memory_order_relaxed);
  p->status.store(PStatus::idle, std::memory_order_release);
  return p;
}

void pidleput(Sched& s, P* p) noexcept {
  p->status.store(PStatus::idle, std::memory_order_release);
  p->link = s.pidle;
  s.pidle = p;
  s.npidle.fetch_add(1);
}

P* pidleget(Sched& s) noexcept {
  P* p = s.pidle;
  if (p != nullptr) {
    s.pidle = p->link;
    p->link = nullptr;
    s.npidle.fetch_sub(1);
  }
  return p;
}

P* pidleget_spinning(Sched& s) noexcept {
  P* p = pidleget(s);
  if (p == nullptr) s.needspinning.store(1);  // see find_runnable's delicate dance
  return p;
}

// ---- M's ----

void wakep() noexcept {
  Sched& s = sched();
  if (s.nmspinning.load() != 0) return;
  if (s.npidle.load() == 0) {
    if (s.gomaxprocs == 1) return;  // the only P is busy and will see the work
    // Every P is busy and one has already been asked to spin when it next
    // runs out of work (needspinning, set below under the lock by an earlier
    // wakep): asking again changes nothing. Without this check, a P that
    // spawns or readies while all others run takes the CAS and sched.lock on
    // every call (Go 1.21+ does; it cost SpawnJoin at GOMAXPROCS=2 a third of
    // its time). The flag is read after the work was published, like
    // nmspinning above; whoever clears it becomes spinning and rescans every
    // queue afterwards. A race lost here costs parallelism, never the work:
    // it sits in the caller's own queue.
    if (s.needspinning.load() != 0) return;
  }
  int zero = 0;
  if (!s.nmspinning.compare_exchange_strong(zero, 1)) return;
  P* p;
  {
    LockGuard lk(s.lock);
    p = pidleget_spinning(s);
    if (p == nullptr) {
      s.nmspinning.fetch_sub(1);
      return;
    }
  }
  startm(p, true);
}

void startm(P* p, bool spinning) noexcept {
  Sched& s = sched();
  UniqueLock lk(s.lock);
  if (s.exiting.load()) {
    if (p != nullptr) pidleput(s, p);
    if (spinning) s.nmspinning.fetch_sub(1);
    return;
  }
  if (p == nullptr) {
    p = pidleget(s);
    if (p == nullptr) {
      lk.unlock();
      if (spinning) s.nmspinning.fetch_sub(1);  // the caller's increment, undone
      return;
    }
  }
  M* m = s.midle;
  if (m == nullptr) {
    lk.unlock();
    newm(p, spinning);
    return;
  }
  s.midle = m->schedlink;
  s.nmidle--;
  m->spinning = spinning;
  m->nextp = p;
  lk.unlock();
  m->park.wakeup();
}

void stopm(M* m) noexcept {
  Sched& s = sched();
  {
    LockGuard lk(s.lock);
    if (s.exiting.load()) return;
    m->schedlink = s.midle;
    s.midle = m;
    s.nmidle++;
  }
  m->park.sleep();
  m->park.clear();
  if (m->nextp != nullptr) {
    P* p = m->nextp;
    m->nextp = nullptr;
    acquirep(m, p);
  }
}

void resetspinning(M* m) noexcept {
  m->spinning = false;
  if (sched().nmspinning.fetch_sub(1) - 1 < 0) fatal("gort: resetspinning: negative nmspinning");
  wakep();  // hand the search for work to a fresh spinning M
}

void handoffp(P* p) noexcept {
  Sched& s = sched();
  // Local or global work: start an M for it straight away.
  if (!p->runq.empty() || s.runqsize.load() != 0) {
    startm(p, false);
    return;
  }
  // No spinning or idle M's: this P should look for work itself.
  if (s.nmspinning.load() + s.npidle.load() == 0) {
    int zero = 0;
    if (s.nmspinning.compare_exchange_strong(zero, 1)) {
      s.needspinning.store(0);
      startm(p, true);
      return;
    }
  }
  UniqueLock lk(s.lock);
  if (s.runqsize.load() != 0) {
    lk.unlock();
    startm(p, false);
    return;
  }
  // The last running P and nobody polls: someone must wait for timers/I/O.
  if (s.npidle.load() == s.gomaxprocs - 1 && s.lastpoll.load() != 0) {
    lk.unlock();
    startm(p, false);
    return;
  }
  std::int64_t when = p->timers.min_when();
  pidleput(s, p);
  lk.unlock();
  if (when != 0) wake_netpoller(when);
}

void wake_netpoller(std::int64_t when) noexcept {
  Sched& s = sched();
  if (s.lastpoll.load() == 0) {
    // An M blocks in poll: interrupt it if it would sleep past `when`.
    std::int64_t until = s.poll_until.load();
    if (until == 0 || until > when) s.poll->wake();
  } else {
    wakep();  // nobody polls: get an M there so it handles the new timer
  }
}

void timer_add(Timer* t, std::int64_t when) noexcept {
  M* m = current_m();
  P* p = m != nullptr && m->p != nullptr ? m->p : sched().allp[0];
  if (p->timers.add(t, when)) wake_netpoller(when);
}

void wake_sysmon() noexcept {
  Sched& s = sched();
  if (s.sysmonwait.exchange(false)) s.sysmon_note.wakeup();
}

// ---- the default poll hook ----

void TimerSleeper::poll(std::int64_t delay_ns, GQueue&) noexcept {
  if (delay_ns == 0) return;
  note_.sleep_for(delay_ns);
  note_.clear();
  wake_sig_.store(0);
}

void TimerSleeper::wake() noexcept {
  std::uint32_t zero = 0;
  if (wake_sig_.compare_exchange_strong(zero, 1)) note_.wakeup();
}

const char* to_string(PStatus s) noexcept {
  switch (s) {
    case PStatus::idle: return "idle";
    case PStatus::running: return "running";
    case PStatus::syscall: return "syscall";
  }
  return "?";
}

}  // namespace gort::detail
