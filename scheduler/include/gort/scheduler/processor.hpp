// processor.hpp - the P of G/M/P: the right to run fibers, with its local run
// queue, its timers and its caches. There are exactly GOMAXPROCS P's.
//
// Go: runtime2.go type p, _Pidle/_Prunning/_Psyscall.
//
// Status (atomic, Go's machine without GC states):
//
//            acquirep                     entersyscall / hog retake (signals.cpp)
//   idle ------------> running -----------------------------------> syscall
//    ^  <-- pidleput -- |  ^   <---- exitsyscall fast path (CAS) -------|
//    |                     |                                              |
//    +------------------------- sysmon retake (CAS) + handoffp -----------+
//
// Field ownership:
//   status     atomic. running -> other: only the owner M. syscall -> idle:
//              whoever wins the CAS (sysmon, or the M itself via -> running).
//   m          the owning M (null when idle or syscall); atomic for sysmon.
//   schedtick  bumped by the owner when a fiber starts a new time slice;
//              read by sysmon (relaxed) to detect a fiber running > 10 ms.
//   syscalltick bumped by the owner on each entersyscall and by whoever
//              retakes the P; read by sysmon.
//   sm_*       sysmon only.
//   runq       see run_queue.hpp. timers: see timer_heap.hpp.
//   gfree, ngfree, goid_*, nspawned, nexited: owner only (n* read racily by
//              num_fibers()).
//   io_poll_tick owner only: the schedtick at which yield_for_io polls the
//              network next (proc.cpp).
#pragma once

#include <atomic>
#include <cstdint>

#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/run_queue.hpp"
#include "gort/scheduler/timer_heap.hpp"

namespace gort::detail {

enum class PStatus : std::uint32_t { idle = 0, running = 1, syscall = 2 };
const char* to_string(PStatus s) noexcept;

struct alignas(64) P {
  int id = 0;
  std::atomic<PStatus> status{PStatus::idle};
  std::atomic<M*> m{nullptr};
  P* link = nullptr;  // idle list, under sched.lock
  std::atomic<std::uint32_t> schedtick{0};
  std::atomic<std::uint32_t> syscalltick{0};

  // sysmon's last observation (Go: sysmontick)
  std::uint32_t sm_schedtick = 0;
  std::int64_t sm_schedwhen = 0;
  std::uint32_t sm_syscalltick = 0;
  std::int64_t sm_syscallwhen = 0;
  G* sm_preempt_g = nullptr;       // the fiber asked to yield, and when
  std::int64_t sm_preempt_when = 0;
  // Set by the preemption signal handler when it put this P in the syscall
  // state (before the status store-release that publishes it); read and
  // cleared by whoever then takes the P.
  std::atomic<bool> hog_retaken{false};

  std::uint32_t io_poll_tick = 0;

  RunQueue runq;
  TimerHeap timers;

  // Dead G's of the default stack size, ready for reuse (Go: p.gFree). A
  // LIFO array: taking one reads no G memory.
  static constexpr int kGfreeMax = 64;
  G* gfree[kGfreeMax];
  int ngfree = 0;
  // Fiber ids handed out in batches (Go: p.goidcache).
  std::uint64_t goid_next = 0;
  std::uint64_t goid_end = 0;
  // num_fibers() = sum over P's of nspawned - nexited (+ off-P spawns).
  std::atomic<std::int64_t> nspawned{0};
  std::atomic<std::int64_t> nexited{0};
};

}  // namespace gort::detail
