// Signals a fiber program meets: the user's own (signal_notify), SIGPIPE
// from the user's fds, and the runtime's preemption signal, which must not
// reach code that is waiting in the kernel.
#include <catch2/catch.hpp>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "gort/gort.hpp"
#include "gort/signal.hpp"
#include "../support/subprocess.hpp"

using namespace std::chrono_literals;

TEST_CASE("signal_notify's handler runs on the alternate signal stack", "[runtime][signal]") {
  // The review's M6: without SA_ONSTACK the kernel's signal frame (3-11 KiB
  // with AVX-512 or AMX state) lands on whatever fiber stack is running.
  gort::run([] {
    gort::chan<int> sig(1);
    gort::signal_notify(sig, {SIGUSR2});
    struct sigaction sa {};
    REQUIRE(sigaction(SIGUSR2, nullptr, &sa) == 0);
    REQUIRE((sa.sa_flags & SA_ONSTACK) != 0);
    ::raise(SIGUSR2);
    REQUIRE(*sig.recv() == SIGUSR2);
    gort::signal_stop(sig);
  });
}

TEST_CASE("SIGPIPE from the user's own fds does not kill the process, and children do not inherit an ignore", "[runtime][signal]") {
  int rc = 0, err = 0;
  gort::run([&] {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    ::close(fds[0]);
    rc = static_cast<int>(::write(fds[1], "x", 1));  // the reader is gone
    err = errno;
    ::close(fds[1]);
  });
  REQUIRE(rc == -1);
  REQUIRE(err == EPIPE);
  // A handler, not SIG_IGN: exec resets it, so a child gets SIGPIPE's
  // default again (bit 13 of SigIgn is clear).
  auto r = gort::test::run_process("/bin/sh", {"-c", "grep SigIgn /proc/self/status"});
  INFO(r.output);
  auto pos = r.output.find("SigIgn:");
  REQUIRE(pos != std::string::npos);
  unsigned long long ign = std::stoull(r.output.substr(pos + 7), nullptr, 16);
  REQUIRE((ign & (1ULL << (SIGPIPE - 1))) == 0);
}

TEST_CASE("a raw nanosleep on a fiber is not cut short by the preemption signal", "[runtime][signal]") {
  // Before, sysmon took the sleeping thread for a CPU hog after 10 ms and
  // its SIGURG made nanosleep fail with EINTR. Now it sees the thread waits
  // in the kernel and leaves it alone.
  int rc = -2, err = 0;
  timespec rem{};
  gort::run(gort::Config{.gomaxprocs = 1}, [&] {
    timespec ts{0, 80'000'000};
    rc = ::nanosleep(&ts, &rem);
    err = errno;
  });
  INFO("errno " << err << ", left " << rem.tv_nsec << " ns");
  REQUIRE(rc == 0);
}
