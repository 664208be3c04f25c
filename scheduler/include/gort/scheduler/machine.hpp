// machine.hpp - the M of G/M/P: an OS thread that runs fibers while it holds
// a P, and the way fiber code finds "its" M.
//
// Go: runtime2.go type m; proc.go mstart, stopm.
//
// The current M is reached only through current_m(), which is compiled so
// that no caller can cache the thread-local address across a fiber switch
// (the fiber may resume on another thread; see docs/scheduler.md). Never
// keep the result across anything that may switch (park, yield, go, sleep).
//
// Field ownership: everything is written by the M's own thread, except
//   park/nextp/spinning  set by the M that wakes this one (startm), under
//                        sched.lock, before park.wakeup();
//   curg                 atomic: sysmon, the /debug snapshots and the
//                        preemption signal read it. execute() stores it with
//                        release, so another thread that loads it with
//                        acquire also sees the G's fields newproc wrote;
//   p                    cleared by this thread's own SIGURG handler (a hog
//                        retake), which is why in_runtime exists;
//   in_runtime           written by this thread only; read by its signal
//                        handler (same thread: a signal fence is enough).
#pragma once

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <vector>
#include <cstdint>
#include <thread>

#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/note.hpp"

namespace gort::detail {

struct P;

struct alignas(64) M {
  std::uint64_t id = 0;
  fcontext_t g0ctx = nullptr;        // the scheduler loop's context on this thread's stack
  std::atomic<G*> curg{nullptr};     // fiber running on this M (null on g0)
  P* p = nullptr;                    // attached P (null: none, blocking, or retaken)
  P* nextp = nullptr;                // P handed over by startm
  P* oldp = nullptr;                 // P left in syscall state by entersyscall/retake
  bool spinning = false;             // looking for work (counted in sched.nmspinning)
  // Inside runtime code (1) or user code (0). Relaxed + signal fences: the
  // only concurrent reader on the hot path is this thread's signal handler.
  std::atomic<int> in_runtime{1};
  bool blocking = false;             // inside gort::blocking(): must not park
  bool exited = false;               // left its loop (guarded by sched.lock)
  std::atomic<bool> signal_pending{false};  // a SIGURG is on its way (dedupe)
  std::atomic<bool> zombie{false};   // runtime shut down while this M ran user code
  Note park;                         // stopm sleeps here
  M* schedlink = nullptr;            // idle list, under sched.lock
  M* alllink = nullptr;              // every M of this run
  std::thread thread;                // empty for M0 (the thread that called run)
  pthread_t pthread{};
  pid_t tid = 0;                     // kernel thread id (sysmon reads it; set before the M runs)
  std::uint64_t fastrand = 0;        // per-M xorshift state (steal order)
  std::vector<std::uint64_t> watch_heads;  // find_runnable's spin watch (schedule.cpp)

  // Addresses of this thread's errno and C++ exception globals, taken once
  // when the thread becomes an M. A fiber's copies are saved and restored
  // through them on every switch, without a thread-local lookup.
  int* errno_loc = nullptr;
  void* eh_globals = nullptr;

  // This thread's own stack (g0): ASan needs its bounds when switching back.
  const void* g0_stack_lo = nullptr;
  std::size_t g0_stack_size = 0;
  void* g0_fake_stack = nullptr;
#ifdef GORT_TSAN
  void* tsan_fiber = nullptr;        // ThreadSanitizer's context of this thread (tsan_fiber.hpp)
#endif
  void* altstack = nullptr;          // sigaltstack for SIGSEGV (overflow) and SIGURG
  std::size_t altstack_size = 0;
  stack_t prev_altstack{};           // restored when the M leaves (M0 is the caller's thread)
};

// The M of the calling thread, or null for threads that are not M's.
M* current_m() noexcept;
// Makes the calling thread m's thread (or no M's, for null): sets the
// thread-local pointer and m's errno_loc / eh_globals (and, under TSan, the
// thread's own fiber, the one switches back to g0 announce).
void set_current_m(M* m) noexcept;

// A cheap per-M random number (Go: cheaprand).
inline std::uint32_t fastrand(M* m) noexcept {
  std::uint64_t x = m->fastrand;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  m->fastrand = x;
  return static_cast<std::uint32_t>(x >> 16);
}

}  // namespace gort::detail
