// go.hpp - starting fibers: gort::go, yield, and questions about fibers.
//
//   gort::go([] { ... });                       // Go: go f()
//   gort::go(handle, std::move(conn));          // arguments are moved in
//   gort::go(gort::spawn_options{.stack_size = 1 << 20}, deep_recursion);
//
// A fiber's function and arguments are decayed and moved onto the top of the
// new fiber's stack. An exception escaping the function ends the process like
// an unrecovered Go panic (message naming the fiber, exit status 2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>

#include "gort/detail/entry.hpp"
#include "gort/scheduler/park.hpp"

namespace gort {

struct spawn_options {
  // Virtual size of the fiber's stack, rounded up to a power of two >= 16 KiB.
  // 0: the runtime default (256 KiB, or GORT_STACK_SIZE). Only touched pages
  // cost memory.
  std::size_t stack_size = 0;
};

// Starts a fiber running std::invoke(f, args...). Safe from any thread: from
// a thread that is not running fibers the fiber goes to the global run queue.
// Throws std::logic_error if no runtime is running (see gort::run).
template <class F, class... Args>
void go(spawn_options opts, F&& f, Args&&... args) {
  static_assert(std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>,
                "gort::go: the function cannot be called with these arguments");
  auto fn = [f = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable {
    std::invoke(std::move(f), std::move(args)...);
  };
  detail::spawn(detail::EntryOps<decltype(fn)>::entry, &fn, opts.stack_size);
}

template <class F, class... Args,
          class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, spawn_options>>>
void go(F&& f, Args&&... args) {
  go(spawn_options{}, std::forward<F>(f), std::forward<Args>(args)...);
}

// Go: runtime.Gosched. Lets other fibers run; this one continues later.
inline void yield() noexcept { detail::yield(); }

// Go: runtime.NumGoroutine. Fibers that exist now (0 without a runtime).
inline std::int64_t num_fibers() noexcept { return detail::num_fibers(); }

// Go: runtime.GOMAXPROCS(0). Number of P's of the running runtime (0 if none).
int gomaxprocs() noexcept;

namespace this_fiber {
// The running fiber's id (the main fiber is 1; ids are not reused within a
// run). 0 when called outside a fiber.
std::uint64_t id() noexcept;
}  // namespace this_fiber

}  // namespace gort
