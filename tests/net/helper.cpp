// gort_net_helper - network scenarios run in a child process by net tests.
//   echo_clients ADDR N ROUNDS   N connections, ROUNDS checked round trips each; prints "ok N"
//   emfile                       accept hits EMFILE, backs off, recovers
#include <fcntl.h>
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
#include <string>
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

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "echo_clients" && argc == 5) return echo_clients(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  if (mode == "emfile") return emfile();
  std::fprintf(stderr, "usage: gort_net_helper echo_clients ADDR N ROUNDS | emfile\n");
  return 64;
}
