// kqueue.cpp - the macOS/BSD netpoll backend (Go: runtime/netpoll_kqueue.go,
// netpoll_kqueue_event.go). Contract: netpoll.hpp. Compiled on those
// systems only (poller/CMakeLists.txt picks the backend).
//
// Every fd gets EVFILT_READ and EVFILT_WRITE with EV_ADD|EV_CLEAR (edge-
// triggered) in one kevent call; close(2) removes them, so netpoll_close is
// empty. The wakeup is an EVFILT_USER event (macOS, FreeBSD, DragonFly);
// NetBSD/OpenBSD use a pipe, as Go does. An EV_EOF on the read filter also
// wakes the writer. Timeouts are capped at 1e6 s (Darwin rejects larger).
#include <fcntl.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "gort/poller/netpoll.hpp"
#include "gort/scheduler/log.hpp"
#include "gort/scheduler/sched.hpp"

namespace gort::detail {

namespace {

int g_kq = -1;
std::atomic<std::uint32_t> g_wake_sig{0};
constexpr std::uintptr_t kWakeIdent = 0xee1eb9f4;  // Go's ident for the user event

#if defined(EVFILT_USER)
constexpr bool kUserEvent = true;
int g_pipe[2] = {-1, -1};
#else
constexpr bool kUserEvent = false;
int g_pipe[2] = {-1, -1};
#endif

}  // namespace

void netpoll_init() noexcept {
  g_kq = kqueue();
  if (g_kq < 0) fatal("gort: netpoll_init: kqueue failed");
  fcntl(g_kq, F_SETFD, FD_CLOEXEC);
  struct kevent ev;
  if constexpr (kUserEvent) {
#if defined(EVFILT_USER)
    EV_SET(&ev, kWakeIdent, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, nullptr);
#endif
  } else {
    if (pipe(g_pipe) != 0) fatal("gort: netpoll_init: pipe failed");
    for (int fd : g_pipe) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    EV_SET(&ev, g_pipe[0], EVFILT_READ, EV_ADD, 0, 0, nullptr);
  }
  if (kevent(g_kq, &ev, 1, nullptr, 0, nullptr) < 0) fatal("gort: netpoll_init: kevent failed");
}

int netpoll_open(int fd, PollDesc* pd) noexcept {
  struct kevent ev[2];
  void* tag = reinterpret_cast<void*>(pd->tag());
  EV_SET(&ev[0], fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, tag);
  EV_SET(&ev[1], fd, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, tag);
  if (kevent(g_kq, ev, 2, nullptr, 0, nullptr) < 0) return errno;
  // The short-read shortcut of net/ (kInfoReadHup) is for epoll, whose
  // EPOLLRDHUP/EPOLLPRI events it has been checked against; here it stays off.
  poll_note_read_hup(pd, pd->fdseq.load(std::memory_order_relaxed));
  return 0;
}

// Unused today: net/ defers reads (and disables events) only behind the
// short-read shortcut, which is off here (see netpoll_open).
int netpoll_arm(int fd, PollDesc* pd, bool on) noexcept {
  struct kevent ev[2];
  void* tag = reinterpret_cast<void*>(pd->tag());
  std::uint16_t flags = on ? EV_ENABLE : EV_DISABLE;
  EV_SET(&ev[0], fd, EVFILT_READ, flags, 0, 0, tag);
  EV_SET(&ev[1], fd, EVFILT_WRITE, flags, 0, 0, tag);
  return kevent(g_kq, ev, 2, nullptr, 0, nullptr) < 0 ? errno : 0;
}

void netpoll_close(int) noexcept {}  // closing the descriptor removes its kevents

void netpoll_break() noexcept {
  std::uint32_t expected = 0;
  if (!g_wake_sig.compare_exchange_strong(expected, 1)) return;
  if constexpr (kUserEvent) {
#if defined(EVFILT_USER)
    struct kevent ev;
    EV_SET(&ev, kWakeIdent, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
    while (kevent(g_kq, &ev, 1, nullptr, 0, nullptr) < 0 && errno == EINTR) {
    }
#endif
  } else {
    char b = 0;
    while (write(g_pipe[1], &b, 1) < 0 && errno == EINTR) {
    }
  }
}

std::int32_t netpoll(std::int64_t delay_ns, GQueue& ready) noexcept {
  if (g_kq < 0) return 0;
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (delay_ns == 0) {
    ts = {0, 0};
    tsp = &ts;
  } else if (delay_ns > 0) {
    std::int64_t d = delay_ns > 1'000'000'000'000'000 ? 1'000'000'000'000'000 : delay_ns;
    ts.tv_sec = static_cast<time_t>(d / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(d % 1'000'000'000);
    tsp = &ts;
  }
  struct kevent evs[64];  // Go reads at most 64 events per call
  int saved = errno;
  int n = kevent(g_kq, nullptr, 0, evs, 64, tsp);
  if (n < 0) {
    if (errno != EINTR && errno != ETIMEDOUT) log_error("gort: netpoll: kevent failed: errno %d", errno);
    errno = saved;
    return 0;
  }
  std::int32_t delta = 0;
  for (int i = 0; i < n; i++) {
    const struct kevent& ev = evs[i];
    bool wakeup = false;
#if defined(EVFILT_USER)
    wakeup = ev.filter == EVFILT_USER && ev.ident == kWakeIdent;
#endif
    if (!kUserEvent && ev.filter == EVFILT_READ && static_cast<int>(ev.ident) == g_pipe[0]) wakeup = true;
    if (wakeup) {
      if (delay_ns != 0) {
        if (!kUserEvent) {
          char buf[16];
          while (read(g_pipe[0], buf, sizeof buf) > 0) {
          }
        }
        g_wake_sig.store(0);
      }
      continue;
    }
    int mode = 0;
    if (ev.filter == EVFILT_READ) {
      mode += 'r';
      // Go: an EOF on the read side wakes the writer too (it will fail).
      if (ev.flags & EV_EOF) mode += 'w';
    } else if (ev.filter == EVFILT_WRITE) {
      mode += 'w';
    }
    if (mode == 0) continue;
    std::uint64_t seq;
    PollDesc* pd = PollDesc::untag(reinterpret_cast<std::uint64_t>(ev.udata), seq);
    if ((pd->fdseq.load(std::memory_order_acquire) & 0xffff) != seq) continue;  // stale
    if (ev.flags & (EV_EOF | EV_ERROR)) poll_note_read_hup(pd, seq);
    poll_set_event_err(pd, (ev.flags & EV_ERROR) != 0, seq);
    delta += poll_ready(ready, pd, mode);
  }
  errno = saved;
  return delta;
}

}  // namespace gort::detail
