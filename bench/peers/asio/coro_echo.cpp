// coro_echo.cpp - the Boost.Asio C++20-coroutine peer of the echo benchmark
// (bench/echo_run): Asio's cpp20/coroutines/echo_server example with a
// 4 KiB buffer, the stackless counterpart of gort's fiber per connection.
//
//   build/bin/asio_coro_echo [--addr 127.0.0.1:7004] [--threads N]
//
// A listener coroutine co_awaits async_accept and co_spawns one echo
// coroutine per accepted socket (TCP_NODELAY, as Go and gort set it); that
// coroutine loops co_await async_read_some / co_await async_write with
// use_awaitable. The 4 KiB buffer is a local of the coroutine, so it lives
// in the coroutine's heap-allocated frame, one per connection. An error
// (EOF, reset) ends the connection's coroutine with an exception, as in
// Asio's example; that happens once per connection, not per message.
//
// One io_context with the default concurrency hint, run on one thread, or
// on N threads with --threads N (bench/echo_run passes N = GOMAXPROCS). A
// connection has at most one operation outstanding, so its coroutine never
// runs on two threads at once and needs no strand.
#include <boost/asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

asio::awaitable<void> echo(tcp::socket socket) {
  try {
    char data[4096];
    for (;;) {
      std::size_t n = co_await socket.async_read_some(asio::buffer(data), asio::use_awaitable);
      co_await asio::async_write(socket, asio::buffer(data, n), asio::use_awaitable);
    }
  } catch (const std::exception&) {
    // EOF or reset: this connection only.
  }
}

asio::awaitable<void> listener(tcp::acceptor acceptor) {
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      std::fprintf(stderr, "asio_coro_echo: accept: %s\n", ec.message().c_str());
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(executor, echo(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:7004";
  int threads = 1;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--addr") == 0 && i + 1 < argc) {
      addr = argv[++i];
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
      if (threads < 1 || threads > 256) {
        std::fprintf(stderr, "asio_coro_echo: --threads wants 1..256\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: asio_coro_echo [--addr host:port] [--threads N]\n");
      return 2;
    }
  }
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "asio_coro_echo: bad address %s\n", addr.c_str());
    return 2;
  }
  try {
    asio::io_context ioc;
    std::string host = addr.substr(0, colon);
    tcp::endpoint ep(host.empty() ? asio::ip::address_v4::any() : asio::ip::make_address(host),
                     static_cast<unsigned short>(std::stoi(addr.substr(colon + 1))));
    tcp::acceptor acceptor(ioc);
    acceptor.open(ep.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(4096);  // somaxconn, as the other servers
    asio::co_spawn(ioc, listener(std::move(acceptor)), asio::detached);
    std::fprintf(stderr, "asio_coro_echo: listening on %s (%d thread%s)\n", addr.c_str(), threads,
                 threads == 1 ? "" : "s");
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; i++) pool.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asio_coro_echo: %s\n", e.what());
    return 1;
  }
}
