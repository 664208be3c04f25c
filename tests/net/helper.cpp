// gort_net_helper - network scenarios run in a child process by net tests.
//   echo_clients ADDR N ROUNDS   N connections, ROUNDS checked round trips each; prints "ok N"
//   emfile                       accept hits EMFILE, backs off, recovers
//   pwait2_eperm                 epoll_pwait2 fails with EPERM (an old seccomp
//                                profile); I/O still wakes parked fibers
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gort/gort.hpp"
#include "gort/net/net.hpp"

using namespace std::chrono_literals;

namespace {

void raise_nofile() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

int echo_clients(const std::string& addr, int n, int rounds) {
  raise_nofile();
  std::atomic<int> ok{0}, failed{0};
  std::string first_error;
  std::atomic<bool> have_error{false};
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    constexpr int kBatch = 500;  // keep the server's accept queue from overflowing
    std::vector<gort::net::Conn> conns(static_cast<std::size_t>(n));
    for (int base = 0; base < n; base += kBatch) {
      gort::WaitGroup wg;
      int end = std::min(n, base + kBatch);
      wg.add(end - base);
      for (int i = base; i < end; i++) {
        gort::go([&, i] {
          std::error_code ec;
          conns[static_cast<std::size_t>(i)] = gort::net::dial("tcp", addr, 10s, ec);
          if (ec && !have_error.exchange(true)) first_error = "dial: " + ec.message();
          wg.done();
        });
      }
      wg.wait();
    }
    gort::WaitGroup wg;
    wg.add(n);
    for (int i = 0; i < n; i++) {
      gort::go([&, i] {
        gort::net::Conn& c = conns[static_cast<std::size_t>(i)];
        bool good = static_cast<bool>(c);
        std::array<char, 256> in;
        for (int r = 0; r < rounds && good; r++) {
          std::string msg = "conn " + std::to_string(i) + " round " + std::to_string(r) + " ";
          msg.append(static_cast<std::size_t>((i + r) % 100), static_cast<char>('a' + (i + r) % 26));
          std::error_code ec;
          c.write(msg, ec);
          std::string got;
          while (!ec && got.size() < msg.size()) got.append(in.data(), c.read(in, ec));
          if (ec || got != msg) {
            good = false;
            if (!have_error.exchange(true)) first_error = ec ? ec.message() : "wrong bytes: " + got;
          }
        }
        (good ? ok : failed)++;
        c.close();
        wg.done();
      });
    }
    wg.wait();
  });
  if (failed != 0 || ok != n) {
    std::printf("FAIL ok=%d failed=%d first error: %s\n", ok.load(), failed.load(), first_error.c_str());
    return 1;
  }
  std::printf("ok %d\n", ok.load());
  return 0;
}

int count_open_fds() {
  int n = 0;
  for (int fd = 0; fd < 4096; fd++) {
    if (fcntl(fd, F_GETFD) != -1) n++;
  }
  return n;
}

int emfile() {
  return gort::run([] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    sockaddr_storage ss{};
    std::memcpy(&ss, ln.address().data(), ln.address().size());
    // Client sockets are made before descriptors run out.
    std::vector<int> clients;
    for (int i = 0; i < 8; i++) clients.push_back(::socket(AF_INET, SOCK_STREAM, 0));
    std::vector<gort::net::Conn> accepted;
    std::atomic<bool> saw_temporary{false};
    std::atomic<int> served{0};
    gort::WaitGroup done;
    done.add(1);
    gort::go([&] {
      auto backoff = 5ms;
      while (served < 8) {
        std::error_code ec;
        gort::net::Conn c = ln.accept(ec);
        if (ec) {
          if (gort::net::is_temporary(ec) && !saw_temporary.exchange(true)) {
            std::printf("temporary accept error: accept tcp %s: %s\n", ln.address().string().c_str(),
                        ec.message().c_str());
          }
          gort::sleep_for(backoff);
          backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
          continue;
        }
        served++;
        accepted.push_back(std::move(c));
      }
      done.done();
    });
    // Sanitizer builds check virtual calls against type info they load from
    // files; do the calls made below once while descriptors are still there.
    std::error_code warm(EMFILE, std::generic_category());
    (void)gort::net::is_temporary(warm);
    (void)warm.message();
    // Leave room for two more descriptors only, then connect everybody.
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rlimit low = rl;
    low.rlim_cur = static_cast<rlim_t>(count_open_fds() + 2);
    setrlimit(RLIMIT_NOFILE, &low);
    for (int fd : clients) {
      gort::blocking([&] { ::connect(fd, reinterpret_cast<sockaddr*>(&ss), ln.address().size()); });
    }
    while (!saw_temporary) gort::sleep_for(5ms);
    setrlimit(RLIMIT_NOFILE, &rl);  // descriptors are back: the server recovers
    done.wait();
    std::printf("served after recovery: %d connections\n", served.load());
    for (int fd : clients) ::close(fd);
    return 0;
  });
}

// Makes epoll_pwait2 fail with EPERM, as a container's seccomp profile that
// predates the call does (containers/podman#10337).
bool deny_epoll_pwait2() {
#if defined(SYS_epoll_pwait2) && (defined(__x86_64__) || defined(__aarch64__))
#if defined(__x86_64__)
  constexpr std::uint32_t kArch = AUDIT_ARCH_X86_64;
#else
  constexpr std::uint32_t kArch = AUDIT_ARCH_AARCH64;
#endif
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_epoll_pwait2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) return false;
  // The premise: the call now fails with EPERM.
  return syscall(SYS_epoll_pwait2, -1, nullptr, 0, nullptr, nullptr, 0) == -1 && errno == EPERM;
#else
  return false;
#endif
}

int pwait2_eperm() {
  if (!deny_epoll_pwait2()) {
    std::printf("skip: cannot install a seccomp filter for epoll_pwait2\n");
    return 0;
  }
  // A hang is the failure: give up after 20 s with a message.
  std::thread([] {
    std::this_thread::sleep_for(20s);
    std::printf("FAIL: parked fibers were never woken by the poller\n");
    std::fflush(stdout);
    std::_Exit(3);
  }).detach();
  return gort::run(gort::Config{.gomaxprocs = 1}, [] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    gort::go([&] {
      gort::net::Conn c = ln.accept();
      char buf[64];
      for (;;) {
        std::error_code ec;
        std::size_t n = c.read(std::span<char>(buf, sizeof buf), ec);
        if (ec) return;
        c.write(std::span<const char>(buf, n));
      }
    });
    gort::net::Conn c = gort::net::dial("tcp", ln.address().string());
    char buf[16];
    for (int i = 0; i < 100; i++) {
      c.write(std::string_view("ping"));
      std::size_t got = 0;
      while (got < 4) got += c.read(std::span<char>(buf + got, 4 - got));
    }
    // A timer-only wait goes through the poller's timeout as well.
    gort::sleep_for(5ms);
    std::printf("ok: 100 round trips with epoll_pwait2 denied\n");
    return 0;
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "echo_clients" && argc == 5) return echo_clients(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  if (mode == "emfile") return emfile();
  if (mode == "pwait2_eperm") return pwait2_eperm();
  std::fprintf(stderr, "usage: gort_net_helper echo_clients ADDR N ROUNDS | emfile | pwait2_eperm\n");
  return 64;
}
