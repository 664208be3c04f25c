// gort::net at its edges: gathers past the iovec limits, a dial's context
// racing the connect and the name lookup, and Go's SplitHostPort table.
// Catch2 assertions run only on the main fiber or after gort::run returns.
#include <catch2/catch.hpp>

#include <netdb.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/buffer.hpp>

#include "gort/debug.hpp"
#include "gort/gort.hpp"
#include "gort/http/server.hpp"
#include "gort/net/net.hpp"
#include "hooks.hpp"
#include "../support/subprocess.hpp"

using namespace std::chrono_literals;
using gort::net::Conn;
using gort::net::errc;

namespace {

// n buffers of 1..7 bytes each, with a pattern that shows loss and reorder.
struct Gather {
  std::vector<std::string> parts;
  std::vector<boost::asio::const_buffer> bufs;
  std::string joined;
  explicit Gather(int n) {
    parts.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; i++) {
      parts.push_back(std::string(static_cast<std::size_t>(1 + i % 7), static_cast<char>('a' + i % 26)) +
                      std::to_string(i));
      joined += parts.back();
    }
    for (auto& p : parts) bufs.emplace_back(p.data(), p.size());
  }
};

std::string read_exactly(Conn& c, std::size_t n) {
  std::string got(n, '\0');
  std::size_t off = 0;
  while (off < n) off += c.read(std::span<char>(got.data() + off, n - off));
  return got;
}

}  // namespace

TEST_CASE("net: writev writes every buffer, past 64 per Conn call and 1,024 per sendmsg", "[net]") {
  gort::run([] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    Conn client = gort::net::dial("tcp", ln.address().string());
    Conn server = ln.accept();
    for (int n : {64, 65, 100, 1024, 1025, 3000}) {
      Gather g(n);
      gort::chan<std::string> got(1);
      gort::go([&] { got.send(read_exactly(server, g.joined.size())); });
      std::size_t put = client.writev(g.bufs);
      REQUIRE(put == g.joined.size());
      REQUIRE(*got.recv() == g.joined);
      std::error_code ec;
      gort::go([&] { got.send(read_exactly(server, g.joined.size())); });
      REQUIRE(client.writev(g.bufs, ec) == g.joined.size());
      REQUIRE(!ec);
      REQUIRE(*got.recv() == g.joined);
    }
  });
}

namespace {
std::atomic<bool> g_cancel_armed{false};
gort::CancelFunc* g_cancel = nullptr;
void cancel_after_connect() {
  if (g_cancel_armed.exchange(false)) (*g_cancel)();
}
}  // namespace

TEST_CASE("net: a dial cancelled just after connect fails with the ctx's error, never with a poisoned conn", "[net]") {
  // golang/go#16523: the ctx watcher sets an expired write deadline. If the
  // cancel lands after connect returned, that deadline used to stay on the
  // returned connection, and every write failed with "i/o timeout".
  int canceled = 0, connected = 0;
  gort::run([&] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    std::string addr = ln.address().string();
    gort::WaitGroup acceptor;  // ln must outlive the accept loop
    acceptor.add(1);
    gort::go([&] {
      for (;;) {
        std::error_code ec;
        Conn c = ln.accept(ec);
        if (ec) break;
      }
      acceptor.done();
    });
    gort::net::detail::test_hook_dial_connected = cancel_after_connect;
    for (int i = 0; i < 200; i++) {
      auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
      g_cancel = &cancel;
      g_cancel_armed = true;
      std::error_code ec;
      Conn c = gort::net::dial(ctx, "tcp", addr, ec);
      if (ec) {
        REQUIRE(ec == errc::canceled);
        REQUIRE(!c);
        canceled++;
        continue;
      }
      // The watcher did not fire: the conn must be healthy.
      c.write(std::string_view("x"), ec);
      REQUIRE(!ec);
      connected++;
    }
    gort::net::detail::test_hook_dial_connected = nullptr;
    ln.close();
    acceptor.wait();
  });
  // The cancel lands before the watcher is stopped, so it fires at least
  // half the time (select picks among ready cases at random).
  REQUIRE(canceled > 0);
  REQUIRE(canceled + connected == 200);
}

namespace {
// A resolver that answers "late.test" only when released, and
// "answer.test" at once with 127.0.0.1.
std::mutex g_dns_mu;
std::condition_variable g_dns_cv;
bool g_dns_released = false;
int g_dns_inflight = 0;
int slow_getaddrinfo(const char* host, const char* port, const addrinfo* hints, addrinfo** res) {
  if (host != nullptr && std::strcmp(host, "late.test") == 0) {
    std::unique_lock lk(g_dns_mu);
    g_dns_inflight++;
    g_dns_cv.notify_all();
    g_dns_cv.wait(lk, [] { return g_dns_released; });
    g_dns_inflight--;
    g_dns_cv.notify_all();
    return EAI_NONAME;
  }
  addrinfo h = *hints;
  h.ai_flags |= AI_NUMERICHOST;
  return ::getaddrinfo("127.0.0.1", port, &h, res);
}
}  // namespace

TEST_CASE("net: a dial's ctx and timeout bound the name lookup too", "[net]") {
  gort::net::detail::test_hook_getaddrinfo = slow_getaddrinfo;
  gort::run([] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    std::string port = std::to_string(ln.address().port());
    // A deadline on the ctx: i/o timeout, long before the resolver answers.
    {
      auto [ctx, cancel] = gort::with_timeout(gort::Context::background(), 50ms);
      std::error_code ec;
      Conn c = gort::net::dial(ctx, "tcp", "late.test:" + port, ec);
      REQUIRE(ec == errc::timed_out);
      REQUIRE(gort::net::is_timeout(ec));
      cancel();
    }
    // A cancel from another fiber: operation was canceled.
    {
      auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
      auto t = gort::after_func(20ms, cancel);
      std::error_code ec;
      Conn c = gort::net::dial(ctx, "tcp", "late.test:" + port, ec);
      REQUIRE(ec == errc::canceled);
      REQUIRE_THROWS_WITH(gort::net::dial(ctx, "tcp", "late.test:" + port),
                          "dial tcp late.test:" + port + ": operation was canceled");
    }
    // A plain timeout.
    {
      std::error_code ec;
      Conn c = gort::net::dial("tcp", "late.test:" + port, 50ms, ec);
      REQUIRE(ec == errc::timed_out);
    }
    // The released resolver has not answered, so those lookups are still in
    // flight on their threads, unseen.
    {
      std::lock_guard lk(g_dns_mu);
      REQUIRE(g_dns_inflight == 3);
    }
    // A bounded lookup that answers in time connects.
    auto [ctx, cancel] = gort::with_timeout(gort::Context::background(), 10s);
    Conn ok = gort::net::dial(ctx, "tcp", "answer.test:" + port);
    REQUIRE(ok);
    Conn peer = ln.accept();
    REQUIRE(ok.remote_address().string() == "127.0.0.1:" + port);
    cancel();
  });
  {
    std::unique_lock lk(g_dns_mu);
    g_dns_released = true;
    g_dns_cv.notify_all();
    g_dns_cv.wait(lk, [] { return g_dns_inflight == 0; });
  }
  gort::net::detail::test_hook_getaddrinfo = nullptr;
}

TEST_CASE("net: split_host_port follows Go's SplitHostPort table", "[net]") {
  // Go: src/net/ip_test.go TestSplitHostPort.
  struct Ok {
    const char *in, *host, *port;
  };
  for (Ok t : std::initializer_list<Ok>{{"localhost:http", "localhost", "http"},
                                        {"localhost:80", "localhost", "80"},
                                        {"localhost%lo0:http", "localhost%lo0", "http"},
                                        {"localhost%lo0:80", "localhost%lo0", "80"},
                                        {"[localhost%lo0]:http", "localhost%lo0", "http"},
                                        {"[localhost%lo0]:80", "localhost%lo0", "80"},
                                        {"127.0.0.1:http", "127.0.0.1", "http"},
                                        {"127.0.0.1:80", "127.0.0.1", "80"},
                                        {"[::1]:http", "::1", "http"},
                                        {"[::1]:80", "::1", "80"},
                                        {"[::1%lo0]:http", "::1%lo0", "http"},
                                        {"[::1%lo0]:80", "::1%lo0", "80"},
                                        {":http", "", "http"},
                                        {":80", "", "80"},
                                        {"golang.org:", "golang.org", ""},
                                        {"127.0.0.1:", "127.0.0.1", ""},
                                        {"[::1]:", "::1", ""},
                                        {"golang.org:https%foo", "golang.org", "https%foo"}}) {
    std::string host = "stale", port = "stale", err;
    INFO(t.in);
    REQUIRE(gort::net::split_host_port(t.in, host, port, err));
    REQUIRE(host == t.host);
    REQUIRE(port == t.port);
  }
  struct Bad {
    const char *in, *why;
  };
  for (Bad t : std::initializer_list<Bad>{{"golang.org", "missing port in address"},
                                          {"127.0.0.1", "missing port in address"},
                                          {"[::1]", "missing port in address"},
                                          {"[fe80::1%lo0]", "missing port in address"},
                                          {"[localhost%lo0]", "missing port in address"},
                                          {"localhost%lo0", "missing port in address"},
                                          {"::1", "too many colons in address"},
                                          {"fe80::1%lo0", "too many colons in address"},
                                          {"fe80::1%lo0:80", "too many colons in address"},
                                          {"[foo:bar]", "missing port in address"},
                                          {"[foo:bar]baz", "missing port in address"},
                                          {"[foo]bar:baz", "missing port in address"},
                                          {"[foo]:[bar]:baz", "too many colons in address"},
                                          {"[foo]:[bar]baz", "unexpected '[' in address"},
                                          {"foo[bar]:baz", "unexpected '[' in address"},
                                          {"foo]bar:baz", "unexpected ']' in address"}}) {
    std::string host = "stale", port = "stale", err;
    INFO(t.in);
    REQUIRE_FALSE(gort::net::split_host_port(t.in, host, port, err));
    REQUIRE(err == std::string("address ") + t.in + ": " + t.why);
    REQUIRE(host.empty());  // Go returns "", "" on failure
    REQUIRE(port.empty());
  }
  // Go: TestJoinHostPort.
  REQUIRE(gort::net::join_host_port("localhost%lo0", "80") == "localhost%lo0:80");
  REQUIRE(gort::net::join_host_port("::1%lo0", "http") == "[::1%lo0]:http");
  REQUIRE(gort::net::join_host_port("", "80") == ":80");
  REQUIRE(gort::net::join_host_port("::1", "") == "[::1]:");
}

TEST_CASE("net: when epoll_pwait2 is denied (EPERM under seccomp), the poller falls back to epoll_wait", "[net]") {
  // Before the fallback covered EPERM, every poll failed: the parked reader
  // was never woken and the helper's 20 s watchdog failed it.
  auto r = gort::test::run_process(GORT_NET_HELPER, {"pwait2_eperm"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  if (r.output.find("skip:") != std::string::npos) {
    WARN("seccomp unavailable here: " << r.output);
    return;
  }
  REQUIRE(r.output.find("ok: 100 round trips") != std::string::npos);
}

TEST_CASE("net: a Server and a Conn that outlive gort::run close at once; a deadline then fails clearly", "[net]") {
  // The review's H2: ~Server closed the listener, whose abandoned accept
  // still held a reference, and waited forever for it on a plain thread.
  std::optional<gort::http::Server> srv;
  std::optional<Conn> client;
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    srv.emplace([](gort::http::ResponseWriter& w, gort::http::Request&) { w.write("ok"); });
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    std::string addr = ln.address().string();
    // The listener lives on the serving fiber's stack, as in listen_and_serve.
    gort::go([&srv, ln = std::move(ln)]() mutable { srv->serve(ln); });
    client.emplace(gort::net::dial("tcp", addr));
    // The accept fiber and the connection's fiber are parked on I/O.
    for (;;) {
      int io = 0;
      for (const auto& f : gort::debug::fibers()) io += f.waiting && f.state == "IO wait";
      if (io >= 2 && srv->connections() == 1) break;
      gort::yield();
    }
  });
  // M5: a deadline needs a timer, and no runtime is left to run one.
  try {
    client->set_deadline(gort::Clock::now() + 1s);
    FAIL("set_deadline after run succeeded");
  } catch (const std::system_error& e) {
    REQUIRE(e.code() == errc::no_runtime);
  }
  client->set_deadline(gort::net::no_deadline);  // clearing one needs no timer
  client.reset();
  srv.reset();  // returns: nothing is left to wait for
  SUCCEED();
}
