// introspect.hpp - snapshots of the scheduler for dumps and /debug pages
// (Go: the data behind runtime.Stack(all), pprof's goroutine profile and
// schedtrace). Taken under the scheduler's locks; fields of running fibers
// are read racily (they change while we look, as in Go's schedtrace).
#pragma once

#include <cstdint>
#include <vector>

#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/processor.hpp"

namespace gort::detail {

struct FiberRecord {
  std::uint64_t id;
  GStatus status;
  WaitReason reason;     // meaningful while waiting
  std::int64_t waiting;  // ns since it parked (waiting only), else 0
  bool is_main;
};

struct PRecord {
  int id;
  PStatus status;
  std::uint32_t runq;
  std::size_t timers;
  int gfree;
  std::uint32_t schedtick;
  std::uint32_t syscalltick;
  long long m;  // -1: none
};

struct MRecord {
  std::uint64_t id;
  int p;          // -1: none
  long long curg;  // -1: none
  bool spinning;
  bool blocked;  // in a blocking section
};

struct SchedRecord {
  std::int64_t uptime_ns = 0;
  int gomaxprocs = 0;
  int idleprocs = 0;
  int threads = 0;
  int spinning = 0;
  int idlethreads = 0;
  std::size_t runqueue = 0;  // global run queue
  std::int64_t fibers = 0;   // live (Go: NumGoroutine)
  std::uint64_t fibers_created = 0;
  std::uint64_t steals = 0;
  std::uint64_t preempt_requests = 0;
  std::uint64_t retakes_syscall = 0;
  std::uint64_t retakes_hog = 0;
  std::vector<PRecord> ps;
  std::vector<MRecord> ms;
};

// Every fiber that is not dead, in creation order reversed (newest first).
// Empty when no runtime runs.
std::vector<FiberRecord> snapshot_fibers();
// False when no runtime runs.
bool snapshot_sched(SchedRecord& out);

}  // namespace gort::detail
