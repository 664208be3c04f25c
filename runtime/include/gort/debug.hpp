// debug.hpp - what the runtime is doing, for dumps and /debug pages
// (Go: runtime.Stack(all) / the goroutine profile, and schedtrace).
//
//   std::fputs(gort::debug::fiber_dump().c_str(), stderr);
//
// Stacks are not unwound (a parked fiber's stack belongs to it); each fiber
// shows its id, its state or wait reason, and how long it has waited.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gort::debug {

struct Fiber {
  std::uint64_t id;
  // "running", "runnable", "syscall", or the wait reason of a parked fiber
  // ("chan receive", "IO wait", "sleep", "select", "sync.Mutex.Lock", ...).
  std::string_view state;
  bool waiting;                       // parked
  std::chrono::nanoseconds waited;    // how long it has been parked (ms resolution)
  bool main;                          // the fiber gort::run started
};

// Every live fiber, newest first. Empty when no runtime runs.
std::vector<Fiber> fibers();
// Go's goroutine dump, one line per fiber:
//   fiber 1 [chan receive, 2m3s]: main
//   fiber 7 [running]:
std::string fiber_dump();
// A JSON snapshot of the scheduler: gomaxprocs, threads, run queues, timer
// counts, I/O waiters, counters; one object per P and per M.
std::string sched_json();

}  // namespace gort::debug
