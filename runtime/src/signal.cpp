// signal.cpp - see signal.hpp (Go: os/signal; runtime sigsend/signal_recv).
//
// The handler only writes the signal number to a pipe (async-signal-safe);
// a plain thread, started on first use and living for the process, reads
// the pipe and try-sends to each registered channel (plain threads may use
// channels; try_send never blocks, which is Go's drop-when-full rule).
// Registrations are guarded by a std::mutex that is never held across a
// channel operation that could block.
#include "gort/signal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace gort {

namespace {

int g_pipe[2] = {-1, -1};

void on_signal(int sig) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  ssize_t r = ::write(g_pipe[1], &b, 1);  // a full pipe drops it, as Go drops when full
  (void)r;
  errno = saved;
}

struct Registry {
  std::mutex mu;
  std::vector<std::pair<int, chan<int>>> subs;  // (signal, channel)
  bool started = false;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: the reader thread outlives main
  return *r;
}

void reader() {
  for (;;) {
    unsigned char b;
    ssize_t n = ::read(g_pipe[0], &b, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    std::vector<chan<int>> to;
    {
      std::lock_guard lk(registry().mu);
      for (auto& [s, c] : registry().subs) {
        if (s == b) to.push_back(c);
      }
    }
    for (auto& c : to) {
      try {
        c.try_send(static_cast<int>(b));
      } catch (const std::exception&) {
        // closed while registered: nothing to deliver to
      }
    }
  }
}

void check(int sig) {
  if (sig <= 0 || sig >= NSIG || sig == SIGURG || sig == SIGSEGV || sig == SIGBUS || sig == SIGKILL ||
      sig == SIGSTOP) {
    throw std::invalid_argument("gort::signal_notify: signal " + std::to_string(sig) + " cannot be notified");
  }
}

}  // namespace

void signal_notify(const chan<int>& ch, std::initializer_list<int> signals) {
  for (int s : signals) check(s);
  Registry& r = registry();
  std::lock_guard lk(r.mu);
  if (!r.started) {
    if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    int fl = ::fcntl(g_pipe[0], F_GETFL);
    ::fcntl(g_pipe[0], F_SETFL, fl & ~O_NONBLOCK);  // the reader blocks; the handler never does
    std::thread(reader).detach();
    r.started = true;
  }
  for (int s : signals) {
    bool handled = std::any_of(r.subs.begin(), r.subs.end(), [&](auto& e) { return e.first == s; });
    r.subs.emplace_back(s, ch);
    if (!handled) {
      struct sigaction sa {};
      sa.sa_handler = on_signal;
      sigemptyset(&sa.sa_mask);
      // On the M's alternate stack: the signal may land on a fiber whose
      // stack is small and nearly full (a signal frame is 3-11 KiB).
      sa.sa_flags = SA_RESTART | SA_ONSTACK;
      ::sigaction(s, &sa, nullptr);
    }
  }
}

void signal_stop(const chan<int>& ch) {
  Registry& r = registry();
  std::lock_guard lk(r.mu);
  std::vector<int> dropped;
  for (auto it = r.subs.begin(); it != r.subs.end();) {
    if (it->second == ch) {
      dropped.push_back(it->first);
      it = r.subs.erase(it);
    } else {
      ++it;
    }
  }
  for (int s : dropped) {
    bool still = std::any_of(r.subs.begin(), r.subs.end(), [&](auto& e) { return e.first == s; });
    if (!still) ::signal(s, SIG_DFL);
  }
}

}  // namespace gort
