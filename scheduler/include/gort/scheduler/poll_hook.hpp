// poll_hook.hpp - how the scheduler waits for I/O and for timers without
// knowing about file descriptors.
//
// Go: netpoll.go's contract (netpoll(delay), netpollBreak, netpollAnyWaiters)
// as called from proc.go findRunnable and sysmon.
//
// The scheduler calls poll() exactly where Go calls netpoll():
//   - non-blocking (delay 0) in find_runnable before stealing, when
//     has_waiters() and no M is blocked in poll();
//   - blocking (delay = earliest timer - now, or -1) by the last M going
//     idle; only one M at a time (sched.lastpoll == 0 while it blocks);
//   - non-blocking by sysmon when nobody polled for 10 ms.
// Without a network poller the scheduler uses TimerSleeper (below): a futex
// wait bounded by the earliest timer, so an idle runtime sleeps until its
// next timer without a polling loop. The poller layer installs its own hook
// (epoll/kqueue + wakeup fd) with install_poll_hook before the runtime starts
// its M's.
#pragma once

#include <cstdint>

#include "gort/scheduler/g_queue.hpp"
#include "gort/scheduler/note.hpp"

namespace gort::detail {

class PollHook {
 public:
  virtual ~PollHook() = default;
  // True while some fiber is parked waiting for I/O (Go: netpollAnyWaiters).
  virtual bool has_waiters() const noexcept = 0;
  // Waits up to delay_ns (<0: until wake(); 0: do not block) and appends the
  // fibers made ready by I/O to `ready` (status already runnable). May return
  // early and empty-handed (wake(), EINTR): callers recompute and retry.
  virtual void poll(std::int64_t delay_ns, GQueue& ready) noexcept = 0;
  // Interrupts a blocked poll(); a burst of wake()s costs one syscall
  // (Go: netpollBreak with netpollWakeSig).
  virtual void wake() noexcept = 0;
  // The runtime is ending and its parked fibers are abandoned: forget every
  // fiber parked on I/O, so that a later event on a descriptor that outlives
  // the run (its owner was abandoned with the fiber) readies nobody.
  virtual void abandon_waiters() noexcept {}
};

// The hook used when no poller is installed: sleeps on a Note.
class TimerSleeper final : public PollHook {
 public:
  bool has_waiters() const noexcept override { return false; }
  void poll(std::int64_t delay_ns, GQueue& ready) noexcept override;
  void wake() noexcept override;

 private:
  Note note_;
  std::atomic<std::uint32_t> wake_sig_{0};
};

// Installs the hook used by the next gort::run (null: TimerSleeper). The
// hook must outlive that run.
void install_poll_hook(PollHook* hook) noexcept;

}  // namespace gort::detail
