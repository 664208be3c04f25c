// wait_group.hpp - Go's sync.WaitGroup.
//
//   gort::WaitGroup wg;
//   for (auto& job : jobs) { wg.add(1); gort::go([&wg, &job] { run(job); wg.done(); }); }
//   wg.wait();
//
// Waiting fibers park (reason "sync.WaitGroup.Wait"); plain threads may wait
// too (they block). Misuse that Go panics on throws std::logic_error:
// a negative counter, add racing with wait, reuse before wait returned.
// Memory ordering: everything a fiber did before done() is visible to the
// fibers returning from wait().
#pragma once

#include <atomic>
#include <cstdint>

#include "gort/scheduler/sema.hpp"

namespace gort {

class WaitGroup {
 public:
  WaitGroup() = default;
  WaitGroup(const WaitGroup&) = delete;
  WaitGroup& operator=(const WaitGroup&) = delete;

  void add(int delta);
  void done() { add(-1); }
  void wait();

 private:
  // Counter in the high 32 bits, waiter count in the low 32 (Go's layout).
  std::atomic<std::uint64_t> state_{0};
  detail::Sema sema_;
};

}  // namespace gort
