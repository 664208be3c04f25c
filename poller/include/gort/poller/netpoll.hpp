// netpoll.hpp - the OS poller backend contract, and the hook that plugs the
// poller into the scheduler.
//
// Go: runtime/netpoll.go's list of functions every platform provides:
//
//   netpoll_init()            create the poller and its wakeup channel (once per process)
//   netpoll_open(fd, pd)      register fd, edge-triggered, both directions, for its whole life
//   netpoll_close(fd)         unregister fd (before it is closed)
//   netpoll_arm(fd, pd, on)   switch fd's events off (nothing queued or reported) or back on
//                             (re-enabling reports what is ready now); 0 or errno
//   netpoll(delay_ns, ready)  wait up to delay (<0 forever, 0 not at all); for each event call
//                             poll_ready and append the woken fibers; returns the waiter delta
//   netpoll_break()           interrupt a blocked netpoll; many calls collapse into one wakeup
//
// Backends: epoll.cpp (Linux) and kqueue.cpp (macOS/BSD; compiled there); the
// build picks exactly one, so backend files hold no #ifdef ladders.
#pragma once

#include <cstdint>

#include "gort/poller/poll_desc.hpp"
#include "gort/scheduler/g_queue.hpp"
#include "gort/scheduler/poll_hook.hpp"

namespace gort::detail {

void netpoll_init() noexcept;
// 0 or an errno.
int netpoll_open(int fd, PollDesc* pd) noexcept;
void netpoll_close(int fd) noexcept;
int netpoll_arm(int fd, PollDesc* pd, bool on) noexcept;
std::int32_t netpoll(std::int64_t delay_ns, GQueue& ready) noexcept;
void netpoll_break() noexcept;

// The PollHook the scheduler calls (find_runnable, sysmon); installed by
// netpoll_hook_install(), which gort::run calls before starting.
class NetPollHook final : public PollHook {
 public:
  bool has_waiters() const noexcept override { return poll_waiters() > 0; }
  void poll(std::int64_t delay_ns, GQueue& ready) noexcept override;
  void wake() noexcept override { netpoll_break(); }
  void abandon_waiters() noexcept override;
};
void netpoll_hook_install() noexcept;

}  // namespace gort::detail
