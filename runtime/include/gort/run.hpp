// run.hpp - starting the runtime.
//
//   int main() {
//     return gort::run([] {
//       gort::WaitGroup wg;
//       wg.add(2);
//       gort::go([&] { ...; wg.done(); });
//       gort::go([&] { ...; wg.done(); });
//       wg.wait();
//       return 0;
//     });
//   }
//
// run() starts the runtime, runs fn as the main fiber on GOMAXPROCS P's, and
// returns fn's result (0 for void) when fn returns; the calling thread only
// waits meanwhile (it runs no fibers). As
// when Go's main returns, fibers still alive are abandoned: they never run
// again, their stacks return to the pool, and objects on those stacks are not
// destroyed. A fiber still executing user code (or inside gort::blocking)
// after a 100 ms grace period keeps its thread, which is detached; the
// runtime's memory is then leaked on purpose. An exception escaping the main
// fiber is rethrown by run(). run() may be called again afterwards, but not
// concurrently (std::logic_error).
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <type_traits>

#include "gort/detail/entry.hpp"

namespace gort {

struct Config {
  // Number of P's: fibers running in parallel. 0: $GOMAXPROCS, else the CPUs
  // in the process's affinity mask, capped by its cgroup CPU quota (Go's rule).
  int gomaxprocs = 0;
  // Default fiber stack size. 0: $GORT_STACK_SIZE, else 256 KiB.
  std::size_t stack_size = 0;
};

namespace detail {
void run_entry(const Config& config, const FiberEntry& entry, void* obj);
}

template <class F>
int run(const Config& config, F&& fn) {
  int result = 0;
  std::exception_ptr error;
  auto main_fn = [&] {
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        std::invoke(fn);
      } else {
        result = static_cast<int>(std::invoke(fn));
      }
    } catch (...) {
      error = std::current_exception();
    }
  };
  detail::run_entry(config, detail::EntryOps<decltype(main_fn)>::entry, &main_fn);
  if (error) std::rethrow_exception(error);
  return result;
}

template <class F>
int run(F&& fn) {
  return run(Config{}, std::forward<F>(fn));
}

}  // namespace gort
