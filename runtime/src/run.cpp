// run.cpp - gort::run and the small queries about fibers.
#include "gort/run.hpp"

#include "gort/go.hpp"
#include "gort/poller/netpoll.hpp"
#include "gort/scheduler/sched.hpp"

namespace gort {

namespace detail {
void run_entry(const Config& config, const FiberEntry& entry, void* obj) {
  netpoll_hook_install();  // the scheduler waits in epoll/kqueue from now on
  SchedConfig c;
  c.gomaxprocs = config.gomaxprocs;
  c.stack_size = config.stack_size;
  run_main(c, entry, obj);
}
}  // namespace detail

int gomaxprocs() noexcept { return detail::g_sched ? detail::g_sched->gomaxprocs : 0; }

namespace this_fiber {
std::uint64_t id() noexcept {
  detail::G* g = detail::current_g();
  return g ? g->id.load(std::memory_order_relaxed) : 0;
}
}  // namespace this_fiber

}  // namespace gort
