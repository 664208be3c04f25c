// echo.cpp - the Boost.Asio peer of the echo benchmark (bench/echo_run):
// the classic callback echo session (Asio's async_tcp_echo_server example),
// one io_context run on one thread (or on N with --threads N).
//
//   build/bin/asio_echo [--addr 127.0.0.1:7002] [--hint1] [--threads N] [--idle-threads K]
//
// Each session is a shared_ptr holding the socket and a 4 KiB buffer
// member; async_read_some, then async_write of what came, then read again.
// Accepted sockets get TCP_NODELAY, as Go and gort set it.
//
// --hint1 constructs the io_context with concurrency hint 1 (Asio then
// knows only one thread runs it and keeps completed operations in a
// thread-private queue); the default is io_context's default hint.
//
// --threads N runs io_context::run() on N threads (bench/echo_run passes
// N = GOMAXPROCS). A session has at most one operation outstanding, so its
// handlers never run on two threads at once and need no strand; --hint1
// promises a single thread, so it cannot be combined with N > 1.
//
// --idle-threads K starts K more threads that only sleep. An experiment, not
// part of the report: Linux gives single-threaded processes a cheaper path
// for every fd syscall (no reference count on the file, fdget's fast path
// when the fd table is not shared), so one idle thread makes a
// single-threaded server pay what any multi-threaded runtime (gort: its M,
// sysmon and the thread in run(); Go alike) pays. docs/architecture.md has
// the measurement.
#include <boost/asio.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}

  void start() { do_read(); }

 private:
  void do_read() {
    auto self(shared_from_this());
    socket_.async_read_some(asio::buffer(data_), [this, self](boost::system::error_code ec, std::size_t n) {
      if (!ec) do_write(n);
    });
  }

  void do_write(std::size_t n) {
    auto self(shared_from_this());
    asio::async_write(socket_, asio::buffer(data_, n), [this, self](boost::system::error_code ec, std::size_t) {
      if (!ec) do_read();
    });
  }

  tcp::socket socket_;
  char data_[4096];
};

class Server {
 public:
  Server(asio::io_context& ioc, const tcp::endpoint& ep) : acceptor_(ioc) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(4096);  // somaxconn, as the other servers
    do_accept();
  }

 private:
  void do_accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (!ec) {
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket))->start();
      } else if (ec != asio::error::operation_aborted) {
        std::fprintf(stderr, "asio_echo: accept: %s\n", ec.message().c_str());
      }
      do_accept();
    });
  }

  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:7002";
  bool hint1 = false;
  int threads = 1;
  int idle_threads = 0;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--addr") == 0 && i + 1 < argc) {
      addr = argv[++i];
    } else if (std::strcmp(argv[i], "--hint1") == 0) {
      hint1 = true;
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
      if (threads < 1 || threads > 256) {
        std::fprintf(stderr, "asio_echo: --threads wants 1..256\n");
        return 2;
      }
    } else if (std::strcmp(argv[i], "--idle-threads") == 0 && i + 1 < argc) {
      idle_threads = std::atoi(argv[++i]);
      if (idle_threads < 0 || idle_threads > 256) {
        std::fprintf(stderr, "asio_echo: --idle-threads wants 0..256\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: asio_echo [--addr host:port] [--hint1] [--threads N] [--idle-threads K]\n");
      return 2;
    }
  }
  if (hint1 && threads > 1) {
    std::fprintf(stderr, "asio_echo: --hint1 means one thread; it cannot go with --threads %d\n", threads);
    return 2;
  }
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "asio_echo: bad address %s\n", addr.c_str());
    return 2;
  }
  try {
    std::optional<asio::io_context> ioc;
    if (hint1)
      ioc.emplace(1);
    else
      ioc.emplace();
    std::string host = addr.substr(0, colon);
    tcp::endpoint ep(host.empty() ? asio::ip::address_v4::any() : asio::ip::make_address(host),
                     static_cast<unsigned short>(std::stoi(addr.substr(colon + 1))));
    Server server(*ioc, ep);
    std::fprintf(stderr, "asio_echo: listening on %s (concurrency hint %s, %d thread%s)\n", addr.c_str(),
                 hint1 ? "1" : "default", threads, threads == 1 ? "" : "s");
    for (int i = 0; i < idle_threads; i++) std::thread([] { for (;;) ::pause(); }).detach();
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; i++) pool.emplace_back([&ioc] { ioc->run(); });
    ioc->run();
    for (auto& t : pool) t.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asio_echo: %s\n", e.what());
    return 1;
  }
}
