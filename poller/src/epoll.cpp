// epoll.cpp - the Linux netpoll backend (Go: runtime/netpoll_epoll.go).
// Contract: netpoll.hpp.
//
// One epoll instance per process. Every fd is registered once, for its whole
// life, edge-triggered for both directions (EPOLLIN|EPOLLOUT|EPOLLRDHUP|
// EPOLLPRI|EPOLLET; RDHUP, HUP, ERR and PRI also set the pollDesc's sticky
// kInfoReadHup, see poll_desc.hpp); the event data is the pollDesc pointer tagged with its sequence,
// so events for a closed and reused fd are recognised and dropped. An eventfd
// interrupts a blocked wait; a burst of netpoll_break() calls costs one write
// (Go: netpollWakeSig). Waits use epoll_pwait2 (nanosecond timeouts, Linux
// 5.11) when the kernel has it, so an idle runtime's timers are not rounded up
// to a millisecond as Go's are (golang/go#44343); else epoll_wait.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

#include "gort/poller/netpoll.hpp"
#include "gort/scheduler/log.hpp"
#include "gort/scheduler/prefetch.hpp"
#include "gort/scheduler/sched.hpp"

namespace gort::detail {

namespace {

int g_epfd = -1;
int g_eventfd = -1;
std::atomic<std::uint32_t> g_wake_sig{0};
std::atomic<bool> g_have_pwait2{true};
constexpr std::uint64_t kEventfdTag = 1;  // no pollDesc lives at address 1

int wait(epoll_event* evs, int n, std::int64_t delay_ns) noexcept {
  if (g_have_pwait2.load(std::memory_order_relaxed)) {
    struct timespec ts;
    struct timespec* tsp = nullptr;
    if (delay_ns >= 0) {
      ts.tv_sec = delay_ns / 1'000'000'000;
      ts.tv_nsec = delay_ns % 1'000'000'000;
      tsp = &ts;
    }
#ifdef SYS_epoll_pwait2
    long r = syscall(SYS_epoll_pwait2, g_epfd, evs, n, tsp, nullptr, 0);
    if (r >= 0 || errno == EINTR) return static_cast<int>(r);
    // ENOSYS (kernel < 5.11), or EPERM from a seccomp profile older than
    // the call (podman#10337): use epoll_wait from now on, starting with
    // this wait. Go never uses epoll_pwait2. A real error (EBADF) shows
    // again below.
#endif
    g_have_pwait2.store(false, std::memory_order_relaxed);
  }
  int ms;
  if (delay_ns < 0) {
    ms = -1;
  } else if (delay_ns == 0) {
    ms = 0;
  } else if (delay_ns < 1'000'000) {
    ms = 1;  // Go: round sub-millisecond waits up, never spin
  } else if (delay_ns < 1'000'000'000'000'000) {
    ms = static_cast<int>(delay_ns / 1'000'000);
  } else {
    ms = 1'000'000'000;  // about 11.5 days
  }
  return epoll_wait(g_epfd, evs, n, ms);
}

}  // namespace

void netpoll_init() noexcept {
  g_epfd = epoll_create1(EPOLL_CLOEXEC);
  if (g_epfd < 0) fatal("gort: netpoll_init: epoll_create1 failed");
  g_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (g_eventfd < 0) fatal("gort: netpoll_init: eventfd failed");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kEventfdTag;
  if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, g_eventfd, &ev) != 0) fatal("gort: netpoll_init: epoll_ctl failed");
}

int netpoll_open(int fd, PollDesc* pd) noexcept {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
  ev.data.u64 = pd->tag();
  return epoll_ctl(g_epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

// Off: EPOLLET alone, which the kernel treats as a disabled entry (its wakeup
// callback returns at once, nothing is queued or reported, not even
// EPOLLHUP/EPOLLERR). On: what netpoll_open registered; re-enabling polls the
// fd once and queues it if it is ready, so nothing that happened meanwhile
// is lost.
int netpoll_arm(int fd, PollDesc* pd, bool on) noexcept {
  epoll_event ev{};
  ev.events = on ? (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET) : EPOLLET;
  ev.data.u64 = pd->tag();
  return epoll_ctl(g_epfd, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : errno;
}

void netpoll_close(int fd) noexcept {
  epoll_event ev{};
  epoll_ctl(g_epfd, EPOLL_CTL_DEL, fd, &ev);
}

void netpoll_break() noexcept {
  std::uint32_t expected = 0;
  if (!g_wake_sig.compare_exchange_strong(expected, 1)) return;  // a wakeup is already on its way
  std::uint64_t one = 1;
  for (;;) {
    ssize_t n = write(g_eventfd, &one, sizeof one);
    if (n == sizeof one || errno == EAGAIN) return;  // EAGAIN: the counter is full, still readable
    if (errno != EINTR) {
      log_error("gort: netpoll_break: write to eventfd: errno %d", errno);
      return;
    }
  }
}

std::int32_t netpoll(std::int64_t delay_ns, GQueue& ready) noexcept {
  if (g_epfd < 0) return 0;
  epoll_event evs[128];  // Go reads at most 128 events per call
  int saved = errno;
  int n = wait(evs, 128, delay_ns);
  if (n < 0) {
    if (errno != EINTR) log_error("gort: netpoll: epoll wait failed: errno %d", errno);
    errno = saved;
    return 0;  // the caller recomputes its delay and retries
  }
  std::int32_t delta = 0;
  for (int i = 0; i < n; i++) {
    // The pollDescs of a large batch are cold: start loading a few ahead
    // (not the eventfd's tag, which is no address).
    if (i + 4 < n && evs[i + 4].data.u64 != kEventfdTag) {
      std::uint64_t ignored;
      prefetch_write(PollDesc::untag(evs[i + 4].data.u64, ignored));
    }
    const epoll_event& ev = evs[i];
    if (ev.events == 0) continue;
    if (ev.data.u64 == kEventfdTag) {
      if (ev.events != EPOLLIN) log_error("gort: netpoll: eventfd events 0x%x", ev.events);
      if (delay_ns != 0) {
        // Only a blocking poll consumes the wakeup; a non-blocking one leaves
        // it for the poller it was meant for (Go does the same).
        std::uint64_t buf;
        ssize_t r = read(g_eventfd, &buf, sizeof buf);
        (void)r;
        g_wake_sig.store(0);
      }
      continue;
    }
    int mode = 0;
    if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) mode += 'r';
    if (ev.events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) mode += 'w';
    if (mode == 0) continue;
    // Go: only EPOLLERR alone is an event error (not with IN/OUT/HUP).
    delta += poll_deliver(ready, ev.data.u64, mode, (ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) != 0,
                          ev.events == EPOLLERR);
  }
  errno = saved;
  return delta;
}

}  // namespace gort::detail
