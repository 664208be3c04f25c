// gort::net: the netpoller seen through sockets. Catch2 assertions run only
// on the main fiber (the function given to gort::run) or after it returns.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gort/gort.hpp"
#include "gort/net/net.hpp"
#include "gort/poller/poll_desc.hpp"
#include "../support/fibers.hpp"
#include "../support/subprocess.hpp"

using namespace std::chrono_literals;
using gort::net::Conn;
using gort::net::errc;

namespace {

std::string local(const gort::net::Listener& ln) { return ln.address().string(); }

// An accepted server-side connection and the dialed client, connected.
struct Pair {
  gort::net::Listener ln;
  Conn server;
  Conn client;
};
Pair connected_pair() {
  Pair p;
  p.ln = gort::net::listen("tcp", "127.0.0.1:0");
  p.client = gort::net::dial("tcp", local(p.ln));
  p.server = p.ln.accept();
  return p;
}

double process_cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

}  // namespace

TEST_CASE("net: echo round trip, addresses, Go-style errors", "[net]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    REQUIRE(ln.address().network() == "tcp");
    REQUIRE(ln.address().ip().to_string() == "127.0.0.1");
    REQUIRE(ln.address().port() != 0);
    gort::WaitGroup server;
    server.add(1);
    gort::go([&ln, &server] {
      Conn c = ln.accept();
      std::array<char, 64> buf;
      std::error_code ec;
      for (;;) {
        std::size_t n = c.read(buf, ec);
        if (ec) break;
        c.write({buf.data(), n});
      }
      server.done();
    });
    Conn c = gort::net::dial("tcp", local(ln));
    REQUIRE(c.remote_address().string() == local(ln));
    REQUIRE(c.local_address().ip().to_string() == "127.0.0.1");
    std::string msg(10000, 'x');
    for (std::size_t i = 0; i < msg.size(); i++) msg[i] = static_cast<char>('a' + i % 26);
    REQUIRE(c.write(msg) == msg.size());
    std::string got;
    std::array<char, 1024> buf;
    while (got.size() < msg.size()) got.append(buf.data(), c.read(buf));
    REQUIRE(got == msg);
    c.close();
    std::error_code ec;
    c.read(buf, ec);
    REQUIRE(ec == errc::closed);
    REQUIRE_THROWS_WITH(c.read(buf), Catch::Contains("read tcp 127.0.0.1:") && Catch::Contains(": use of closed network connection"));
    server.wait();  // the server saw EOF and left
  });
}

TEST_CASE("net: dial errors read like Go's", "[net]") {
  gort::run([] {
    // A port nobody listens on.
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    std::string addr = local(ln);
    ln.close();
    try {
      gort::net::dial("tcp", addr);
      FAIL("dial succeeded");
    } catch (const gort::net::OpError& e) {
      REQUIRE(std::string(e.what()) == "dial tcp " + addr + ": connect: connection refused");
      REQUIRE(e.code() == std::errc::connection_refused);
    }
    REQUIRE_THROWS_WITH(gort::net::dial("tcp", "127.0.0.1"), Catch::Contains("missing port in address"));
    REQUIRE_THROWS_WITH(gort::net::dial("bogus", "127.0.0.1:1"), Catch::Contains("unknown network bogus"));
    // Listening twice on one port.
    auto a = gort::net::listen("tcp", "127.0.0.1:0");
    REQUIRE_THROWS_WITH(gort::net::listen("tcp", local(a)),
                        "listen tcp " + local(a) + ": bind: address already in use");
  });
}

TEST_CASE("net: dial times out when the peer never answers", "[net]") {
  gort::run([] {
    // A listener that never accepts, with its queue full: further SYNs are
    // dropped, so connect() stays in progress until our deadline.
    auto ln = gort::net::listen("tcp", "127.0.0.1:0", gort::net::ListenOptions{.backlog = 1});
    std::vector<Conn> fill;
    std::error_code ec;
    auto t0 = gort::Clock::now();
    for (int i = 0; i < 16 && !ec; i++) fill.push_back(gort::net::dial("tcp", local(ln), 50ms, ec));
    REQUIRE(ec);
    REQUIRE(gort::net::is_timeout(ec));
    REQUIRE(gort::Clock::now() - t0 < 5s);
  });
}

TEST_CASE("net: dial with a context: done before, deadline and cancel during connect", "[net]") {
  gort::run([] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0", gort::net::ListenOptions{.backlog = 1});
    std::string addr = local(ln);
    // A context that is already done fails at once, with Go's text.
    {
      auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
      cancel();
      std::error_code ec;
      Conn c = gort::net::dial(ctx, "tcp", addr, ec);
      REQUIRE(!c);
      REQUIRE(ec == errc::canceled);
      REQUIRE(ec == std::errc::operation_canceled);
      REQUIRE_THROWS_WITH(gort::net::dial(ctx, "tcp", addr), "dial tcp " + addr + ": operation was canceled");
    }
    // A background context dials normally.
    Conn ok = gort::net::dial(gort::Context::background(), "tcp", addr);
    REQUIRE(ok);
    // Fill the accept queue so that further connects stay in progress.
    std::vector<Conn> fill;
    std::error_code ec;
    for (int i = 0; i < 16 && !ec; i++) fill.push_back(gort::net::dial("tcp", addr, 50ms, ec));
    REQUIRE(gort::net::is_timeout(ec));
    // The context's deadline bounds the connect: i/o timeout.
    {
      auto [ctx, cancel] = gort::with_timeout(gort::Context::background(), 50ms);
      auto t0 = gort::Clock::now();
      Conn c = gort::net::dial(ctx, "tcp", addr, ec);
      REQUIRE(!c);
      REQUIRE(ec == errc::timed_out);
      REQUIRE(gort::Clock::now() - t0 < 5s);
      cancel();
    }
    // Cancelling from another fiber aborts the connect in progress (or, if
    // it wins the race, fails the dial before it starts): operation was canceled.
    {
      auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
      gort::chan<std::error_code> result(1);
      gort::go([&, ctx = ctx] {
        std::error_code e;
        gort::net::dial(ctx, "tcp", addr, e);
        result.send(e);
      });
      auto t = gort::after_func(20ms, cancel);
      std::error_code e = *result.recv();
      REQUIRE(e == errc::canceled);
      try {
        auto [ctx2, cancel2] = gort::with_cancel(gort::Context::background());
        auto t2 = gort::after_func(20ms, cancel2);
        gort::net::dial(ctx2, "tcp", addr);
        FAIL("dial succeeded");
      } catch (const gort::net::OpError& err) {
        REQUIRE(std::string(err.what()) == "dial tcp " + addr + ": operation was canceled");
      }
    }
  });
}

TEST_CASE("net: close unblocks a parked read and a parked accept", "[net]") {
  auto procs = GENERATE(1, 2);
  std::error_code read_err, accept_err;
  gort::run(gort::Config{.gomaxprocs = procs}, [&] {
    Pair p = connected_pair();
    gort::WaitGroup wg;
    wg.add(2);
    gort::go([&] {
      std::array<char, 16> buf;
      p.server.read(buf, read_err);  // nothing will come
      wg.done();
    });
    gort::go([&] {
      p.ln.accept(accept_err);  // nobody will connect
      wg.done();
    });
    gort::test::await_parked("IO wait", 2);  // what is tested is the wakeup
    p.server.close();
    p.ln.close();
    wg.wait();
  });
  REQUIRE(read_err == errc::closed);
  REQUIRE(accept_err == errc::closed);
}

TEST_CASE("net: wait_readable and wait_writable park until ready and consume nothing", "[net]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [&] {
    Pair p = connected_pair();
    // Readable: returns only after data arrives, and the data is still there.
    std::atomic<bool> written{false};
    gort::chan<bool> woke(1);
    gort::go([&] {
      p.server.wait_readable();
      woke.send(written.load());
    });
    gort::test::await_parked("IO wait");  // what is tested is the wakeup
    written = true;
    p.client.write(std::string_view("hello"));
    REQUIRE(*woke.recv());
    p.server.wait_readable();  // data pending: returns at once
    std::array<char, 16> buf;
    REQUIRE(p.server.read(buf) == 5);
    REQUIRE(std::string_view(buf.data(), 5) == "hello");
    // The read deadline applies.
    std::error_code ec;
    p.server.set_read_deadline(gort::Clock::now() + 20ms);
    p.server.wait_readable(ec);
    REQUIRE(ec == errc::timed_out);
    p.server.set_read_deadline(gort::net::no_deadline);
    // End of stream counts as readable; the read then reports EOF.
    p.client.close_write();
    p.server.wait_readable();
    p.server.read(buf, ec);
    REQUIRE(ec == errc::eof);
    // Writable: a fresh connection is; a full send buffer is not until the
    // peer drains it.
    p.server.wait_writable();
    std::vector<char> big(1 << 20, 'x');
    std::size_t sent = 0;
    for (int i = 0; i < 50; i++) {
      // Fill the buffers (the write times out), then wait: the kernel may
      // still be growing the peer's window, so allow a few rounds.
      p.server.set_write_deadline(gort::Clock::now() + 20ms);
      sent += p.server.write(big, ec);
      if (!ec) continue;  // loopback send buffers grow to a few MiB
      REQUIRE(ec == errc::timed_out);
      p.server.set_write_deadline(gort::Clock::now() + 20ms);
      p.server.wait_writable(ec);
      if (ec) break;
    }
    REQUIRE(ec == errc::timed_out);
    p.server.set_write_deadline(gort::net::no_deadline);
    gort::WaitGroup drained;
    drained.add(1);
    gort::go([&] {
      std::vector<char> sink(1 << 16);
      std::size_t got = 0;
      while (got < sent) got += p.client.read(sink);
      drained.done();
    });
    p.server.wait_writable();
    drained.wait();  // no other fiber is parked on I/O from here on
    // Close wakes a parked waiter with "use of closed network connection".
    Pair q = connected_pair();
    gort::chan<std::error_code> closed(1);
    gort::go([&] {
      std::error_code e;
      q.server.wait_readable(e);
      closed.send(e);
    });
    gort::test::await_parked("IO wait");
    q.server.close();
    REQUIRE(*closed.recv() == errc::closed);
    REQUIRE_THROWS_WITH(q.server.wait_readable(), Catch::Contains("use of closed network connection"));
  });
}

TEST_CASE("net: read deadlines fire, can be extended while parked, and a past one fails at once", "[net]") {
  gort::run([] {
    Pair p = connected_pair();
    std::array<char, 16> buf;
    std::error_code ec;
    // Fires.
    auto t0 = gort::Clock::now();
    p.server.set_read_deadline(t0 + 20ms);
    p.server.read(buf, ec);
    REQUIRE(ec == errc::timed_out);
    REQUIRE(gort::net::is_timeout(ec));
    REQUIRE(gort::Clock::now() - t0 >= 20ms);
    // A past deadline fails at once, and clearing it lets reads work again.
    p.server.set_read_deadline(gort::Clock::now() - 1s);
    p.server.read(buf, ec);
    REQUIRE(ec == errc::timed_out);
    p.server.set_read_deadline(gort::net::no_deadline);
    p.client.write(std::string_view("x"));
    REQUIRE(p.server.read(buf) == 1);
    // Extended while parked: the first deadline passes without effect.
    p.server.set_read_deadline(gort::Clock::now() + 30ms);
    gort::go([&] {
      gort::test::await_parked("IO wait");  // the read below is parked
      p.server.set_read_deadline(gort::Clock::now() + 200ms);
      gort::sleep_for(60ms);  // past the first deadline, before the second
      p.client.write(std::string_view("late"));
    });
    std::size_t n = p.server.read(buf, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(std::string(buf.data(), n) == "late");
  });
}

TEST_CASE("net: a write parks while the peer does not read, and resumes when it drains", "[net]") {
  gort::run([] {
    Pair p = connected_pair();
    std::atomic<std::size_t> written{0};
    std::atomic<bool> done{false};
    constexpr std::size_t kTotal = 32 << 20;  // far more than the socket buffers hold
    gort::go([&] {
      std::vector<char> chunk(1 << 16, 'z');
      while (written < kTotal) written += p.client.write(chunk);
      done = true;
    });
    gort::test::await_parked("IO wait");
    REQUIRE_FALSE(done);           // the writer is parked: buffers are full
    REQUIRE(written < kTotal);
    std::vector<char> buf(1 << 16);
    std::size_t got = 0;
    while (got < kTotal) got += p.server.read(buf);
    while (!done) gort::yield();
    REQUIRE(got == kTotal);
    // A write deadline applies to a parked write too.
    p.client.set_write_deadline(gort::Clock::now() + 20ms);
    std::error_code ec;
    std::vector<char> big(kTotal, 'q');
    std::size_t n = p.client.write(big, ec);
    REQUIRE(ec == errc::timed_out);
    REQUIRE(n < big.size());
  });
}

TEST_CASE("net: half-close delivers EOF to the peer, the other direction still works", "[net]") {
  gort::run([] {
    Pair p = connected_pair();
    p.client.write(std::string_view("bye"));
    p.client.close_write();
    std::array<char, 16> buf;
    REQUIRE(p.server.read(buf) == 3);
    std::error_code ec;
    REQUIRE(p.server.read(buf, ec) == 0);
    REQUIRE(ec == errc::eof);
    REQUIRE(gort::net::is_eof(ec));
    REQUIRE_THROWS_WITH(p.server.read(buf), Catch::EndsWith(": EOF"));
    p.server.write(std::string_view("still here"));
    REQUIRE(std::string(buf.data(), p.client.read(buf)) == "still here");
  });
}

TEST_CASE("net: a vanished peer costs its connection only (no SIGPIPE, reset reported)", "[net]") {
  gort::run([] {
    Pair p = connected_pair();
    std::string peer = p.client.local_address().string();
    // Reset: close with SO_LINGER 0 sends RST.
    linger lg{1, 0};
    setsockopt(p.client.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    p.client.close();
    std::array<char, 16> buf;
    std::error_code ec;
    p.server.read(buf, ec);
    REQUIRE(ec == std::errc::connection_reset);
    try {
      p.server.read(buf);
    } catch (const std::system_error& e) {
      // After the reset is consumed, the next read sees EOF or a reset again.
      REQUIRE(std::string(e.what()).rfind("read tcp " + p.server.local_address().string() + "->" + peer + ": ", 0) == 0);
    }
    // Writing to a closed peer: EPIPE or ECONNRESET, and the process lives.
    Pair q = connected_pair();
    q.client.close();
    std::vector<char> data(1 << 20, 'a');
    q.server.write(data, ec);
    for (int i = 0; i < 10 && !ec; i++) q.server.write(data, ec);
    REQUIRE((ec == std::errc::broken_pipe || ec == std::errc::connection_reset));
  });
}

TEST_CASE("net: an event for a closed and reused fd wakes nobody wrongly", "[net]") {
  gort::run([] {
    // The backends' filter itself (poll_deliver): an event tagged before the
    // fd was closed must not touch the pollDesc once it is reused. (Through
    // sockets alone a broken filter would only cause a spurious wakeup that
    // re-parks, which no test can see.)
    {
      int sv[2];
      REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
      gort::detail::PollDesc* pd = gort::detail::poll_open(sv[0]);
      REQUIRE(pd != nullptr);
      std::uint64_t stale = pd->tag();
      gort::detail::poll_unblock(pd);  // as NetFD::close: evict, then release
      gort::detail::poll_close(pd);
      gort::detail::PollDesc* reused = gort::detail::poll_open(sv[1]);
      REQUIRE(reused == pd);  // the cache is LIFO: the same pollDesc, a new fd sequence
      REQUIRE(reused->tag() != stale);
      gort::detail::GQueue q;
      REQUIRE(gort::detail::poll_deliver(q, stale, 'r' + 'w', true, true) == 0);
      REQUIRE(q.empty());
      REQUIRE(reused->rg.load() != gort::detail::PollDesc::kReady);
      REQUIRE(reused->wg.load() != gort::detail::PollDesc::kReady);
      REQUIRE((reused->info.load() & (gort::detail::PollDesc::kInfoReadHup | gort::detail::PollDesc::kInfoEventErr)) == 0);
      gort::detail::poll_deliver(q, reused->tag(), 'r', false, false);  // the current tag is delivered
      REQUIRE(reused->rg.load() == gort::detail::PollDesc::kReady);
      gort::detail::poll_unblock(reused);
      gort::detail::poll_close(reused);
      ::close(sv[0]);
      ::close(sv[1]);
    }
    int reuses = 0;
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    for (int round = 0; round < 50; round++) {
      Conn a_client = gort::net::dial("tcp", local(ln));
      Conn a_server = ln.accept();
      int fd = a_server.native_handle();
      a_client.write(std::string_view("x"));  // an event is pending for fd...
      a_server.close();                        // ...which is closed and then reused
      Conn b_client = gort::net::dial("tcp", local(ln));  // the lowest free number: fd
      Conn b_server = ln.accept();
      bool reused = b_client.native_handle() == fd;
      std::array<char, 4> buf;
      std::error_code ec;
      b_client.set_read_deadline(gort::Clock::now() + 5ms);
      std::size_t n = b_client.read(buf, ec);  // must not be woken by the stale event with data
      REQUIRE(ec == errc::timed_out);
      REQUIRE(n == 0);
      reuses += reused;
    }
    REQUIRE(reuses > 0);  // the scenario happened: a closed fd's number came back
  });
}

TEST_CASE("net: concurrent readers take turns, reads and writes run in parallel", "[net]") {
  std::atomic<long> total{0};
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    Pair p = connected_pair();
    gort::WaitGroup wg;
    wg.add(4);
    for (int r = 0; r < 4; r++) {
      gort::go([&] {
        std::array<char, 100> buf;
        std::error_code ec;
        for (;;) {
          std::size_t n = p.server.read(buf, ec);
          if (ec) break;
          total += static_cast<long>(n);
        }
        wg.done();
      });
    }
    std::vector<char> data(1000, 'k');
    for (int i = 0; i < 1000; i++) p.client.write(data);
    p.client.close();
    wg.wait();
  });
  REQUIRE(total == 1000 * 1000);
}

TEST_CASE("net: UDP and unix sockets round-trip", "[net]") {
  gort::run([] {
    auto pc = gort::net::listen_packet("udp", "127.0.0.1:0");
    auto client = gort::net::listen_packet("udp", "127.0.0.1:0");
    client.write_to(std::string_view("ping"), pc.local_address());
    std::array<char, 64> buf;
    gort::net::Addr from;
    std::size_t n = pc.read_from(buf, from);
    REQUIRE(std::string(buf.data(), n) == "ping");
    REQUIRE(from.string() == client.local_address().string());
    pc.write_to(std::string_view("pong"), from);
    n = client.read_from(buf, from);
    REQUIRE(std::string(buf.data(), n) == "pong");
    // A connected UDP Conn (Go: net.Dial("udp", ...)).
    Conn u = gort::net::dial("udp", pc.local_address().string());
    u.write(std::string_view("via conn"));
    n = pc.read_from(buf, from);
    REQUIRE(std::string(buf.data(), n) == "via conn");
    pc.set_read_deadline(gort::Clock::now() + 10ms);
    std::error_code ec;
    pc.read_from(buf, from, ec);
    REQUIRE(ec == errc::timed_out);

    std::string path = (std::filesystem::temp_directory_path() / ("gort-test-" + std::to_string(getpid()) + ".sock")).string();
    auto uln = gort::net::listen("unix", path);
    REQUIRE(uln.address().string() == path);
    gort::go([&] {
      Conn c = uln.accept();
      std::array<char, 64> b;
      std::size_t k = c.read(b);
      c.write({b.data(), k});
    });
    Conn uc = gort::net::dial("unix", path);
    uc.write(std::string_view("over unix"));
    n = uc.read(buf);
    REQUIRE(std::string(buf.data(), n) == "over unix");
    uln.close();
    REQUIRE_FALSE(std::filesystem::exists(path));  // the listener removed its socket file
  });
}

TEST_CASE("net: split_host_port and join_host_port (Go's cases, and stray brackets)", "[net]") {
  std::string host, port, err;
  REQUIRE(gort::net::split_host_port("127.0.0.1:80", host, port, err));
  REQUIRE((host == "127.0.0.1" && port == "80"));
  REQUIRE(gort::net::split_host_port("[::1]:443", host, port, err));
  REQUIRE((host == "::1" && port == "443"));
  REQUIRE(gort::net::split_host_port(":http", host, port, err));
  REQUIRE((host.empty() && port == "http"));
  REQUIRE(gort::net::join_host_port("::1", "80") == "[::1]:80");
  REQUIRE(gort::net::join_host_port("h", "80") == "h:80");
  REQUIRE_FALSE(gort::net::split_host_port("h", host, port, err));
  REQUIRE(err == "address h: missing port in address");
  REQUIRE_FALSE(gort::net::split_host_port("a:b:c", host, port, err));
  REQUIRE(err == "address a:b:c: too many colons in address");
  // Found by fuzz/fuzz_address.cpp: "[[]:" split into host "[", which joins
  // to "[:", which does not split. Go refuses brackets out of place.
  for (const char* bad : {"[[]:", "[[a]:80", "a[b:80"}) {
    REQUIRE_FALSE(gort::net::split_host_port(bad, host, port, err));
    REQUIRE(err == std::string("address ") + bad + ": unexpected '[' in address");
  }
  for (const char* bad : {"a]:80", "]:80"}) {
    REQUIRE_FALSE(gort::net::split_host_port(bad, host, port, err));
    REQUIRE(err == std::string("address ") + bad + ": unexpected ']' in address");
  }
}

TEST_CASE("net: resolve refuses ports above 65535 and gives an empty unix path the unnamed address", "[net]") {
  // Both found by fuzz/fuzz_address.cpp. getaddrinfo keeps a port's low 16
  // bits (65616 became 80); Go says "invalid port".
  std::error_code ec;
  std::string err;
  auto a = gort::net::resolve("tcp", "127.0.0.1:65616", false, ec, err);
  REQUIRE(ec == std::errc::invalid_argument);
  REQUIRE(a.empty());
  REQUIRE(err == "address 65616: invalid port");
  REQUIRE(gort::net::resolve("udp", "127.0.0.1:1000000000000000000000", false, ec, err).empty());
  REQUIRE(ec == std::errc::invalid_argument);
  a = gort::net::resolve("tcp", "127.0.0.1:00065535", false, ec, err);
  REQUIRE(!ec);
  REQUIRE(a.at(0).port() == 65535);
  // "" was the abstract name "\0" (printed "@"), so a second socket could
  // not bind it; unnamed, each one autobinds (Go: a SockaddrUnix without a name).
  a = gort::net::resolve("unixgram", "", false, ec, err);
  REQUIRE(!ec);
  REQUIRE(a.at(0).size() == offsetof(sockaddr_un, sun_path));
  REQUIRE(a.at(0).path().empty());
  REQUIRE(a.at(0).string().empty());
  gort::run([] {
    auto p1 = gort::net::listen_packet("unixgram", "");
    auto p2 = gort::net::listen_packet("unixgram", "");
    REQUIRE(p1.local_address().string() != p2.local_address().string());
  });
}

TEST_CASE("net: plain threads use connections too (they block)", "[net]") {
  std::string got;
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    std::string addr = local(ln);
    gort::go([&] {
      Conn c = ln.accept();
      c.write(std::string_view("from a fiber"));
    });
    std::thread t([&] {
      Conn c = gort::net::dial("tcp", addr);
      std::array<char, 64> buf;
      std::error_code ec;
      for (;;) {
        std::size_t n = c.read(buf, ec);
        if (ec) break;
        got.append(buf.data(), n);
      }
    });
    gort::blocking([&] { t.join(); });
  });
  REQUIRE(got == "from a fiber");
}

TEST_CASE("net: 1,000 parked connections cost no CPU", "[net]") {
  double used_ms = 0;
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    std::vector<Conn> clients;
    gort::WaitGroup parked, gone;
    constexpr int kConns = 1000;
    parked.add(kConns);
    gone.add(kConns);
    gort::go([&] {
      for (int i = 0; i < kConns; i++) {
        gort::go([c = ln.accept(), &parked, &gone]() mutable {
          std::array<char, 16> buf;
          parked.done();
          std::error_code ec;
          c.read(buf, ec);  // parks until the client closes
          gone.done();
        });
      }
    });
    for (int i = 0; i < kConns; i++) clients.push_back(gort::net::dial("tcp", local(ln)));
    parked.wait();
    gort::test::await_parked("IO wait", kConns);  // every server fiber is in its read
    double before = process_cpu_ms();
    gort::sleep_for(400ms);
    used_ms = process_cpu_ms() - before;
    for (auto& c : clients) c.close();
    gone.wait();
  });
  INFO("CPU used in 400 ms with 1,000 idle connections: " << used_ms << " ms");
  REQUIRE(used_ms < 20.0);
}

TEST_CASE("net: 10,000 concurrent connections echo the right bytes", "[net][load]") {
  // The clients run in a child process: client and server sockets together
  // would exceed this machine's 20,000 descriptors per process.
  constexpr int kConns = 10000;
  int child_status = -1;
  std::string child_output;
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    gort::go([&ln] {
      for (;;) {
        std::error_code ec;
        Conn c = ln.accept(ec);
        if (ec == errc::closed) return;
        if (ec) continue;
        gort::go([c = std::move(c)]() mutable {
          std::array<char, 4096> buf;
          std::error_code err;
          for (;;) {
            std::size_t n = c.read(buf, err);
            if (err) return;
            c.write({buf.data(), n}, err);
            if (err) return;
          }
        });
      }
    });
    auto r = gort::blocking([&] {
      return gort::test::run_process(GORT_NET_HELPER, {"echo_clients", local(ln), std::to_string(kConns), "20"});
    });
    child_status = r.exit_code;
    child_output = r.output;
    ln.close();
  });
  INFO(child_output);
  REQUIRE(child_status == 0);
  REQUIRE(child_output.find("ok " + std::to_string(kConns)) != std::string::npos);
}

TEST_CASE("net: running out of descriptors is a temporary accept error and the server keeps serving", "[net]") {
  // (The sanitizer build has no -fsanitize=vptr: see cmake/gort_options.cmake.)
  auto r = gort::test::run_process(GORT_NET_HELPER, {"emfile"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("temporary accept error: accept tcp") != std::string::npos);
  REQUIRE(r.output.find("served after recovery") != std::string::npos);
}

TEST_CASE("net: the echo_server sample echoes many connections with pooled and with stack buffers", "[net][e2e]") {
  auto mode = GENERATE(std::string("pooled"), std::string("--stack-buffer"));
  std::vector<std::string> argv{GORT_ECHO_SERVER, "--addr", "127.0.0.1:0"};
  if (mode != "pooled") argv.push_back(mode);
  gort::test::Subprocess server(argv);
  std::string log;
  REQUIRE(server.read_stderr_until(" (GOMAXPROCS", log, 10000));
  std::size_t at = log.find("listening on ");
  REQUIRE(at != std::string::npos);
  std::string addr = log.substr(at + 13, log.find(' ', at + 13) - (at + 13));
  std::atomic<int> ok{0};
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    constexpr int kConns = 50, kRounds = 20;
    gort::WaitGroup wg;
    wg.add(kConns);
    for (int i = 0; i < kConns; i++) {
      gort::go([&, i] {
        std::error_code ec;
        Conn c = gort::net::dial("tcp", addr, ec);
        bool good = !ec;
        for (int r = 0; good && r < kRounds; r++) {
          // Sizes up to 6000: more than the 4 KiB buffer, echoed in pieces.
          std::string msg(1 + (i * 131 + r * 977) % 6000, static_cast<char>('a' + (i + r) % 26));
          c.write({msg.data(), msg.size()}, ec);
          std::string got(msg.size(), '\0');
          std::size_t n = 0;
          while (!ec && n < got.size()) n += c.read({got.data() + n, got.size() - n}, ec);
          good = !ec && got == msg;
        }
        if (good) ok++;
        wg.done();
      });
    }
    wg.wait();
  });
  server.signal(SIGKILL);
  INFO(log);
  REQUIRE(ok == 50);
}

TEST_CASE("net: after a short read, end of stream, reset and urgent data are still seen at once", "[net]") {
  // NetFD waits for an event instead of reading after a short read (drained_);
  // these are the cases where more than data can hide behind one.
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    for (int round = 0; round < 200; round++) {
      Conn client = gort::net::dial("tcp", ln.address().string());
      Conn server = ln.accept();
      server.set_read_deadline(std::chrono::steady_clock::now() + 10s);  // a hang fails, bounded
      char buf[64];
      std::error_code ec;
      switch (round % 3) {
        case 0: {  // data, then FIN before the reader looks
          client.write(std::string_view("hello"));
          client.close_write();
          std::size_t n = 0;
          while (n < 5 && !ec) n += server.read({buf + n, sizeof buf - n}, ec);
          REQUIRE(n == 5);
          server.read({buf, sizeof buf}, ec);
          REQUIRE(ec == errc::eof);
          break;
        }
        case 1: {  // data, then a reset
          client.write(std::string_view("bye"));
          std::size_t n = 0;
          while (n < 3 && !ec) n += server.read({buf + n, sizeof buf - n}, ec);
          REQUIRE(n == 3);
          linger lg{1, 0};
          REQUIRE(::setsockopt(client.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
          client.close();  // RST
          server.read({buf, sizeof buf}, ec);
          REQUIRE(ec);
          REQUIRE_FALSE(gort::net::is_timeout(ec));
          break;
        }
        case 2: {  // urgent data splits the stream: "ab" | mark | "cd"
          client.write(std::string_view("ab"));
          REQUIRE(::send(client.native_handle(), "X", 1, MSG_OOB) == 1);
          client.write(std::string_view("cd"));
          std::string got;
          while (got.size() < 4 && !ec) {
            std::size_t n = server.read({buf, sizeof buf}, ec);
            got.append(buf, n);
          }
          INFO(ec.message());
          REQUIRE_FALSE(ec);
          REQUIRE(got == "abcd");
          break;
        }
      }
    }
  });
}

TEST_CASE("net: after a short read, data, EOF, close and deadlines that come while the reader waits are seen", "[net]") {
  // After a short read the next read waits on the pollDesc without reading
  // first (drained_). A helper fiber, runnable when that read starts, acts
  // while it waits (or, at GOMAXPROCS=2, around the same time); the read
  // must then see exactly what a plain read would.
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    for (int round = 0; round < 120; round++) {
      Conn client = gort::net::dial("tcp", ln.address().string());
      Conn server = ln.accept();
      server.set_read_deadline(std::chrono::steady_clock::now() + 10s);  // a hang fails, bounded
      char buf[64];
      std::error_code ec;
      client.write(std::string_view("a"));
      REQUIRE(server.read({buf, sizeof buf}, ec) == 1);  // short: the next read waits first
      REQUIRE_FALSE(ec);
      gort::WaitGroup helper;
      helper.add(1);
      const int action = round % 6;
      gort::go([&] {
        switch (action) {
          case 0: client.write(std::string_view("b")); break;  // the data is there
          case 1:  // it comes later, after the reader parked
            gort::go([&] {
              for (int i = 0; i < 3; i++) gort::yield();
              client.write(std::string_view("b"));
            });
            break;
          case 2: server.close(); break;
          case 3: server.set_read_deadline(std::chrono::steady_clock::now() - 1s); break;
          case 4: client.close_write(); break;
          case 5:
            client.write(std::string_view("b"));
            client.close_write();
            break;
        }
        helper.done();
      });
      std::size_t n = server.read({buf, sizeof buf}, ec);
      helper.wait();
      INFO("round " << round << ": n=" << n << " " << ec.message());
      switch (action) {
        case 0:
        case 1:
          REQUIRE_FALSE(ec);
          REQUIRE(std::string(buf, n) == "b");
          break;
        case 2: REQUIRE(ec == errc::closed); break;
        case 3: REQUIRE(gort::net::is_timeout(ec)); break;
        case 4: REQUIRE(ec == errc::eof); break;
        case 5:
          REQUIRE_FALSE(ec);
          REQUIRE(std::string(buf, n) == "b");
          server.read({buf, sizeof buf}, ec);
          REQUIRE(ec == errc::eof);
          break;
      }
    }
  });
}
TEST_CASE("net: readers that keep deferring do not starve a fiber parked on I/O", "[net]") {
  // A writer that yields after each write keeps the local run queue from
  // running dry, so find_runnable never polls the network; the reader of
  // its stream defers every read (each is short) through the global queue.
  // That reader's own per-round poll must deliver the event a third fiber,
  // parked on another connection, waits for: within a few of its reads, not
  // when sysmon polls 10 ms later (hundreds of reads later).
  gort::run(gort::Config{.gomaxprocs = 1}, [] {
    std::atomic<bool> stop{false};
    std::atomic<int> reads{0};
    Pair stream = connected_pair();
    gort::WaitGroup busy;
    busy.add(2);
    gort::go([&] {
      std::string chunk(100, 'x');
      std::error_code ec;
      while (!stop.load() && !ec) {
        stream.client.write(chunk, ec);
        gort::yield();
      }
      stream.client.close_write();
      busy.done();
    });
    gort::go([&] {
      std::vector<char> buf(64 * 1024);
      std::error_code ec;
      while (!ec) {
        stream.server.read({buf.data(), buf.size()}, ec);
        reads.fetch_add(1);
      }
      busy.done();
    });
    Pair quiet = connected_pair();
    quiet.server.set_read_deadline(std::chrono::steady_clock::now() + 10s);  // a hang fails, bounded
    gort::WaitGroup reader;
    reader.add(1);
    std::string got;
    std::error_code ec;
    gort::go([&] {
      char buf[64];
      std::size_t n = quiet.server.read({buf, sizeof buf}, ec);
      got.assign(buf, n);
      reader.done();
    });
    while (reads.load() < 20) gort::yield();  // the stream is in full swing
    quiet.client.write(std::string_view("hello"));
    int before = reads.load();
    reader.wait();
    int during = reads.load() - before;
    stop.store(true);
    busy.wait();
    INFO(ec.message());
    REQUIRE_FALSE(ec);
    REQUIRE(got == "hello");
    INFO("stream reads while the parked reader waited: " << during);
    REQUIRE(during < 10);
  });
}

TEST_CASE("net: a deferring reader never disables the events a waiting writer needs", "[net]") {
  // While a reader defers (other fibers runnable), its fd's epoll events
  // are switched off; a writer parked for EPOLLOUT on the same fd must
  // still be woken when the peer drains. Both orders: the writer parks
  // first, or the reader has already switched them off.
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    for (int round = 0; round < 6; round++) {
      Pair p = connected_pair();
      p.server.set_deadline(std::chrono::steady_clock::now() + 10s);  // a hang fails, bounded
      p.client.set_deadline(std::chrono::steady_clock::now() + 10s);
      std::atomic<bool> stop{false};
      gort::WaitGroup wg;
      wg.add(3);
      gort::go([&] {  // keeps the run queue busy so that reads defer
        while (!stop.load()) gort::yield();
        wg.done();
      });
      std::error_code rerr;
      std::size_t got = 0;
      gort::go([&] {  // reads small messages: every read is short
        char buf[256];
        while (got < 100 * 10 && !rerr) got += p.server.read({buf, sizeof buf}, rerr);
        wg.done();
      });
      std::error_code werr;
      const std::string big(8 << 20, 'w');  // far more than the socket buffers hold
      std::size_t wrote = 0;
      auto writer = [&] {
        wrote = p.server.write(big, werr);
        wg.done();
      };
      if (round % 2 == 0) gort::go(writer);  // parks for EPOLLOUT before the reads
      for (int i = 0; i < 100; i++) {
        p.client.write(std::string(10, 'r'));
        for (int k = 0; k < 3; k++) gort::yield();
      }
      if (round % 2 == 1) gort::go(writer);  // parks after the reader went quiet
      for (int k = 0; k < 20; k++) gort::yield();
      std::vector<char> sink(1 << 16);
      std::size_t drained = 0;
      std::error_code cerr;
      while (drained < big.size() && !cerr) drained += p.client.read({sink.data(), sink.size()}, cerr);
      stop.store(true);
      wg.wait();
      INFO("round " << round << ": " << rerr.message() << " / " << werr.message() << " / " << cerr.message());
      REQUIRE_FALSE(rerr);
      REQUIRE(got == 1000);
      REQUIRE_FALSE(werr);
      REQUIRE(wrote == big.size());
      REQUIRE(drained == big.size());
    }
  });
}

TEST_CASE("net: close_read and close_write have error_code overloads", "[net]") {
  gort::run([] {
    std::error_code ec;
    gort::net::Conn none;
    none.close_write(ec);
    REQUIRE(ec == errc::closed);
    none.close_read(ec);
    REQUIRE(ec == errc::closed);
    Pair p = connected_pair();
    p.client.close_write(ec);
    REQUIRE(!ec);
    std::array<char, 4> buf;
    p.server.read(buf, ec);
    REQUIRE(ec == errc::eof);
    p.server.close_read(ec);
    REQUIRE(!ec);
  });
}
