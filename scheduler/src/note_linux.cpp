// note_linux.cpp - Note on Linux futexes. Contract: note.hpp.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "gort/scheduler/futex.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/note.hpp"
#include "gort/scheduler/tsan_fiber.hpp"

namespace gort::detail {

namespace {
long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val, const struct timespec* ts) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op | FUTEX_PRIVATE_FLAG, val,
                 ts, nullptr, 0);
}
}  // namespace

void futex_wait(std::atomic<std::uint32_t>* addr, std::uint32_t val, std::int64_t timeout_ns) noexcept {
  int saved = errno;
  struct timespec ts;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
  }
  futex(addr, FUTEX_WAIT, val, timeout_ns >= 0 ? &ts : nullptr);
  errno = saved;
}

void futex_wake(std::atomic<std::uint32_t>* addr, int n) noexcept {
  int saved = errno;
  futex(addr, FUTEX_WAKE, static_cast<std::uint32_t>(n), nullptr);
  errno = saved;
}

void Note::wakeup() noexcept {
  if (key_.exchange(1, std::memory_order_acq_rel) != 0) return;  // already signalled
  futex(&key_, FUTEX_WAKE, 1, nullptr);
}

#ifdef GORT_TSAN
// ThreadSanitizer runs an asynchronous signal's handler only inside an
// intercepted libc call: arriving anywhere else, the signal waits until the
// thread next makes one. A raw futex syscall is not intercepted, and an
// untimed FUTEX_WAIT is restarted after a SA_RESTART handler, so a thread
// parked here (the thread that called gort::run, which the kernel picks
// first for a process signal) would keep e.g. SIGTERM pending for good and
// gort::signal_notify would never hear of it. Under TSan the wait is timed:
// a timed FUTEX_WAIT returns EINTR after any handler, and sleep_for's loop
// then calls nanotime(), whose clock_gettime TSan intercepts and runs the
// pending handler in. The hour only bounds each wait; nothing polls.
void Note::sleep() noexcept {
  constexpr std::int64_t kHour = 3'600'000'000'000;
  while (!sleep_for(kHour)) {
  }
}
#else
void Note::sleep() noexcept { sleep_for(-1); }
#endif

bool Note::sleep_for(std::int64_t ns) noexcept {
  int saved = errno;
  std::int64_t deadline = ns >= 0 ? nanotime() + ns : 0;
  while (key_.load(std::memory_order_acquire) == 0) {
    struct timespec ts;
    struct timespec* tsp = nullptr;
    if (ns >= 0) {
      std::int64_t left = deadline - nanotime();
      if (left <= 0) break;
      ts.tv_sec = left / 1000000000;
      ts.tv_nsec = left % 1000000000;
      tsp = &ts;
    }
    futex(&key_, FUTEX_WAIT, 0, tsp);  // EAGAIN (key changed), EINTR, ETIMEDOUT: loop re-checks
  }
  errno = saved;
  return key_.load(std::memory_order_acquire) != 0;
}

}  // namespace gort::detail
