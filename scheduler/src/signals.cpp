// signals.cpp - the two signals the runtime handles itself.
//
// SIGURG: the preemption signal (Go: preemptM). sysmon sends it to an M whose
//   fiber has held its P for over 10 ms, unless that thread waits in the
//   kernel (thread_state.hpp): a signal would cut a raw nanosleep or poll
//   short with EINTR. C++ has no async safe points, so the
//   handler never switches fibers. If the fiber is in user code (the M's
//   in_runtime is 0) the handler puts the P in the syscall state, exactly as
//   gort::blocking's entry would, and returns: the fiber keeps running on its
//   thread, now without a P; sysmon's next tick hands the P (its queue and its
//   timers) to another M, and the fiber's next runtime call reacquires a P or
//   queues the fiber until one is free. If the fiber is inside the runtime,
//   the handler does nothing: the preempt flag is honoured at the next
//   safepoint. Only the thread itself reads in_runtime and clears m->p, so a
//   signal fence on the fiber side is enough (no atomic RMW on the hot path).
//   GORT_DEBUG=asyncpreemptoff=1 stops sysmon from sending it.
//
// SIGPIPE: ignored for the user's fds, as Go does (install_signal_handlers).
//
// SIGSEGV/SIGBUS: a fault inside the running fiber's guard region is a stack
//   overflow: print "fatal error: stack overflow in fiber N" and die by the
//   signal (core dump). Other faults go to the previously installed handler
//   (e.g. ASan's) or the default action.
//
// Both run on a per-M alternate signal stack (a fiber's stack may be the one
// that overflowed, and it may be small).
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "gort/scheduler/sched.hpp"

namespace gort::detail {

namespace {

struct sigaction g_prev_urg;
struct sigaction g_prev_segv;
struct sigaction g_prev_bus;

#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kAltStackSize = 256 * 1024;  // ASan's reporting runs on it too
#else
constexpr std::size_t kAltStackSize = 64 * 1024;
#endif

void chain(const struct sigaction& prev, int sig, siginfo_t* info, void* uctx) {
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction != nullptr) prev.sa_sigaction(sig, info, uctx);
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN && prev.sa_handler != nullptr) {
    prev.sa_handler(sig);
  }
}

void sigurg_handler(int sig, siginfo_t* info, void* uctx) {
  int saved = errno;
  M* m = current_m();
  if (m != nullptr) {
    m->signal_pending.store(false, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (m->in_runtime.load(std::memory_order_relaxed) == 0 && !m->blocking) {
      P* p = m->p;
      G* g = m->curg.load(std::memory_order_relaxed);
      if (p != nullptr && g != nullptr && g->preempt.load(std::memory_order_relaxed)) {
        // Emulate entering a blocking section (syscall.cpp).
        m->oldp = p;
        m->p = nullptr;
        p->m.store(nullptr, std::memory_order_relaxed);
        g->status.store(GStatus::syscall, std::memory_order_relaxed);
        p->hog_retaken.store(true, std::memory_order_relaxed);
        p->status.store(PStatus::syscall);
        if (g_sched != nullptr) g_sched->nretake_hog.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  chain(g_prev_urg, sig, info, uctx);
  errno = saved;
}

void sigpipe_handler(int) {}

void write_all(const char* s) {
  std::size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = ::write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

void sigsegv_handler(int sig, siginfo_t* info, void* uctx) {
  M* m = current_m();
  G* g = m != nullptr ? m->curg.load(std::memory_order_relaxed) : nullptr;
  char* addr = static_cast<char*>(info->si_addr);
  if (g != nullptr && g->guard > 0 && addr >= g->region && addr < g->region + g->guard) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "fatal error: stack overflow in fiber %llu (stack %zu bytes, fault at %p in its "
                  "guard region; raise the size with gort::spawn_options or GORT_STACK_SIZE)\n",
                  static_cast<unsigned long long>(g->id.load(std::memory_order_relaxed)), g->region_size,
                  static_cast<void*>(addr));
    write_all(msg);
    signal(sig, SIG_DFL);  // returning re-executes the faulting access: die by the signal
    return;
  }
  const struct sigaction& prev = sig == SIGBUS ? g_prev_bus : g_prev_segv;
  if ((prev.sa_flags & SA_SIGINFO) ? prev.sa_sigaction != nullptr
                                   : (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN)) {
    chain(prev, sig, info, uctx);
    return;
  }
  signal(sig, SIG_DFL);
}

}  // namespace

void install_signal_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = sigurg_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigaction(SIGURG, &sa, &g_prev_urg);
    sa.sa_sigaction = sigsegv_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, &g_prev_segv);
    sigaction(SIGBUS, &sa, &g_prev_bus);
    // Go ignores SIGPIPE from fds other than stdout and stderr (os/signal
    // docs): a write to a pipe or socket whose reader has gone fails with
    // EPIPE instead of killing the process. gort's own sockets use
    // MSG_NOSIGNAL; this covers the user's fds. A handler that does
    // nothing, not SIG_IGN: an ignored disposition would be inherited by
    // every program the process execs, a handler is reset by exec. A
    // handler the program installed itself stays.
    struct sigaction old;
    if (sigaction(SIGPIPE, nullptr, &old) == 0 && !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) {
      sa.sa_handler = sigpipe_handler;
      sa.sa_flags = SA_ONSTACK | SA_RESTART;
      sigaction(SIGPIPE, &sa, nullptr);
    }
  });
}

void m_signal_setup(M* m) {
  void* p = mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;  // no alt stack: overflow reports degrade to a plain SIGSEGV
  stack_t ss;
  ss.ss_sp = p;
  ss.ss_size = kAltStackSize;
  ss.ss_flags = 0;
  stack_t old;
  if (sigaltstack(&ss, &old) != 0) {
    munmap(p, kAltStackSize);
    return;
  }
  m->altstack = p;
  m->altstack_size = kAltStackSize;
  m->prev_altstack = old;
}

void m_signal_teardown(M* m) {
  if (m->altstack == nullptr) return;
  stack_t old = m->prev_altstack;
  if (old.ss_flags & SS_DISABLE) {
    stack_t dis;
    std::memset(&dis, 0, sizeof dis);
    dis.ss_flags = SS_DISABLE;
    sigaltstack(&dis, nullptr);
  } else {
    sigaltstack(&old, nullptr);
  }
  munmap(m->altstack, m->altstack_size);
  m->altstack = nullptr;
}

void preempt_m(M* m) noexcept {
  if (m->signal_pending.exchange(true, std::memory_order_relaxed)) return;  // one in flight
  if (pthread_kill(m->pthread, SIGURG) != 0) m->signal_pending.store(false, std::memory_order_relaxed);
}

}  // namespace gort::detail
