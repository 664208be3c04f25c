// gort::http: the server seen from raw sockets and from Beast's client.
// Catch2 assertions run only on the main fiber (the function given to
// gort::run) or after it returns.
#include <catch2/catch.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "gort/gort.hpp"
#include "gort/http/http.hpp"
#include "gort/net/net.hpp"
#include "../support/subprocess.hpp"
#include "http_support.hpp"

using namespace std::chrono_literals;
using namespace gort_test;

namespace {

http::ServeMux demo_mux() {
  http::ServeMux mux;
  mux.handle_func("/healthz", [](http::ResponseWriter& w, http::Request&) { w.write("ok\n"); });
  mux.handle_func("/echo", [](http::ResponseWriter& w, http::Request& r) {
    w.header().set("Content-Type", "application/octet-stream");
    w.write(r.body().read_all());
  });
  mux.handle_func("/big", [](http::ResponseWriter& w, http::Request& r) {
    std::size_t n = static_cast<std::size_t>(std::atoi(r.query("n").c_str()));
    std::string chunk(1000, 'x');
    for (std::size_t i = 0; i < n; i += chunk.size()) w.write(std::string_view(chunk).substr(0, std::min(chunk.size(), n - i)));
  });
  mux.handle_func("/throw", [](http::ResponseWriter&, http::Request&) -> void { throw std::runtime_error("boom"); });
  mux.handle_func("/tree/", [](http::ResponseWriter& w, http::Request& r) { w.write("tree:" + std::string(r.path())); });
  mux.handle_func("/tree/leaf", [](http::ResponseWriter& w, http::Request&) { w.write("leaf"); });
  mux.handle_func("/", [](http::ResponseWriter& w, http::Request& r) {
    if (r.path() != "/") return http::not_found(w, r);
    w.write("Hello World!\n");
  });
  return mux;
}

}  // namespace

TEST_CASE("http: keep-alive reuse, Content-Length, Date and Server headers", "[http]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    TestServer s(demo_mux());
    Conn c = s.dial();
    boost::beast::flat_buffer buf;
    for (int i = 0; i < 3; i++) {
      c.write(std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
      auto res = read_response(c, buf);
      REQUIRE(res.result_int() == 200);
      REQUIRE(res.body() == "ok\n");
      REQUIRE(res[bhttp::field::content_length] == "3");
      REQUIRE(res[bhttp::field::content_type] == "text/plain; charset=utf-8");
      REQUIRE(res[bhttp::field::server] == "gort");
      REQUIRE(res[bhttp::field::date].ends_with(" GMT"));
      REQUIRE(res.keep_alive());
    }
    REQUIRE(s.srv.requests() == 3);
    REQUIRE(s.srv.connections() == 1);
    s.stop();
  });
}

TEST_CASE("http: three pipelined requests in one write get three responses in order", "[http]") {
  gort::run([] {
    TestServer s(demo_mux());
    Conn c = s.dial();
    c.write(std::string_view(
        "GET /tree/a HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        "GET /tree/leaf HTTP/1.1\r\nHost: x\r\n\r\n"));
    boost::beast::flat_buffer buf;
    REQUIRE(read_response(c, buf).body() == "tree:/tree/a");
    REQUIRE(read_response(c, buf).body() == "hello");
    REQUIRE(read_response(c, buf).body() == "leaf");
    s.stop();
  });
}

TEST_CASE("http: chunked request bodies, Expect 100-continue, chunked responses, HEAD", "[http]") {
  gort::run([] {
    TestServer s(demo_mux());
    Conn c = s.dial();
    boost::beast::flat_buffer buf;
    c.write(std::string_view(
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: t\r\n\r\n"));
    auto res = read_response(c, buf);
    REQUIRE(res.body() == "hello, world");
    REQUIRE(res[bhttp::field::content_length] == "12");
    // Expect: the server answers 100 before the client sends the body.
    c.write(std::string_view("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
    std::string got;
    char b[64];
    while (got.find("\r\n\r\n") == std::string::npos) got.append(b, c.read(b));
    REQUIRE(got == "HTTP/1.1 100 Continue\r\n\r\n");
    c.write(std::string_view("body"));
    REQUIRE(read_response(c, buf).body() == "body");
    // A body beyond 4 KiB goes out chunked.
    c.write(std::string_view("GET /big?n=100000 HTTP/1.1\r\nHost: x\r\n\r\n"));
    res = read_response(c, buf);
    REQUIRE(res.body().size() == 100000);
    REQUIRE(res[bhttp::field::transfer_encoding] == "chunked");
    // HEAD: the headers of the GET, no body.
    c.write(std::string_view("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    res = read_response(c, buf, true);
    REQUIRE(res[bhttp::field::content_length] == "3");
    REQUIRE(res.body().empty());
    c.write(std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));  // still in sync
    REQUIRE(read_response(c, buf).body() == "ok\n");
    s.stop();
  });
}

TEST_CASE("http: bad requests get Go's status and a closed connection", "[http]") {
  struct Case {
    const char* name;
    std::string request;
    int status;
  };
  std::vector<Case> cases = {
      {"malformed request line", "GARBAGE\r\n\r\n", 400},
      {"missing Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400},
      {"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"Content-Length with Transfer-Encoding",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"Transfer-Encoding then Content-Length",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400},
      {"differing Content-Lengths", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
       400},
      {"bad chunk size", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400},
      {"negative Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
      {"unsupported Transfer-Encoding", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"bad percent escape", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"space in header name", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400},
      {"unknown Expect", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: magic\r\n\r\nx", 417},
  };
  gort::run([&] {
    http::ServerOptions o;
    o.max_body_bytes = 1024;
    TestServer s(demo_mux(), o);
    for (const Case& k : cases) {
      INFO(k.name);
      Conn c = s.dial();
      c.write(k.request);
      std::string resp = read_all(c);  // ends because the server closes
      INFO(resp);
      REQUIRE(status_line(resp).starts_with("HTTP/1.1 " + std::to_string(k.status) + " "));
      REQUIRE(resp.find("Connection: close\r\n") != std::string::npos);
    }
    // A body over the limit: 413, whether declared or chunked.
    {
      Conn c = s.dial();
      c.write(std::string_view("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"));
      REQUIRE(status_line(read_all(c)) == "HTTP/1.1 413 Request Entity Too Large");
    }
    {
      Conn c = s.dial();
      std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (int i = 0; i < 3; i++) req += "200\r\n" + std::string(512, 'y') + "\r\n";
      c.write(req);
      REQUIRE(status_line(read_all(c)) == "HTTP/1.1 413 Request Entity Too Large");
    }
    s.stop();
  });
}

TEST_CASE("http: 2 MiB of headers get 431", "[http]") {
  gort::run([] {
    TestServer s(demo_mux());
    Conn c = s.dial();
    std::string req = "GET / HTTP/1.1\r\nHost: x\r\n";
    std::string line = "X-Filler: " + std::string(1000, 'f') + "\r\n";
    while (req.size() < (2u << 20)) req += line;
    req += "\r\n";
    std::error_code ec;
    c.write(req, ec);  // the server may stop reading (and reset) before all of it is sent
    std::string resp = read_all(c);
    REQUIRE(status_line(resp) == "HTTP/1.1 431 Request Header Fields Too Large");
    s.stop();
  });
}

TEST_CASE("http: a client that never finishes its header is cut off at read_header_timeout", "[http]") {
  gort::run([] {
    http::ServerOptions o;
    o.read_header_timeout = 100ms;
    o.idle_timeout = 150ms;
    TestServer s(demo_mux(), o);
    Conn c = s.dial();
    auto t0 = gort::Clock::now();
    c.write(std::string_view("GET / HTTP/1.1\r\nHost: x\r\n"));  // no blank line
    std::string resp = read_all(c);
    REQUIRE(resp.empty());  // closed without an answer, as Go does
    auto took = gort::Clock::now() - t0;
    REQUIRE(took >= 90ms);
    REQUIRE(took < 3s);
    // An idle keep-alive connection is closed after idle_timeout.
    Conn d = s.dial();
    boost::beast::flat_buffer buf;
    d.write(std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(read_response(d, buf).body() == "ok\n");
    t0 = gort::Clock::now();
    REQUIRE(read_all(d).empty());
    REQUIRE(gort::Clock::now() - t0 >= 100ms);
    s.stop();
  });
}

TEST_CASE("http: Connection close and HTTP/1.0 end the connection after the response", "[http]") {
  gort::run([] {
    TestServer s(demo_mux());
    {
      Conn c = s.dial();
      c.write(std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      std::string resp = read_all(c);
      REQUIRE(status_line(resp) == "HTTP/1.1 200 OK");
      REQUIRE(resp.find("Connection: close\r\n") != std::string::npos);
      REQUIRE(resp.ends_with("\r\n\r\nok\n"));
    }
    {
      Conn c = s.dial();
      c.write(std::string_view("GET /healthz HTTP/1.0\r\n\r\n"));
      std::string resp = read_all(c);
      REQUIRE(status_line(resp) == "HTTP/1.0 200 OK");
      REQUIRE(resp.ends_with("ok\n"));
    }
    {
      // HTTP/1.0 keep-alive is honoured.
      Conn c = s.dial();
      boost::beast::flat_buffer buf;
      c.write(std::string_view("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      auto res = read_response(c, buf);
      REQUIRE(res.keep_alive());
      c.write(std::string_view("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      REQUIRE(read_response(c, buf).body() == "ok\n");
    }
    s.stop();
  });
}

TEST_CASE("http: a throwing handler gets 500 and a closed connection, the server goes on", "[http]") {
  gort::run([] {
    TestServer s(demo_mux());
    Conn c = s.dial();
    c.write(std::string_view("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string resp = read_all(c);
    REQUIRE(status_line(resp) == "HTTP/1.1 500 Internal Server Error");
    Conn d = s.dial();
    boost::beast::flat_buffer buf;
    d.write(std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(read_response(d, buf).body() == "ok\n");
    s.stop();
  });
}

TEST_CASE("http: ServeMux follows Go's pattern rules", "[http]") {
  gort::run([] {
    http::ServeMux mux = demo_mux();
    mux.handle_func("example.com/", [](http::ResponseWriter& w, http::Request&) { w.write("host"); });
    REQUIRE(mux.match("", "/healthz") == "/healthz");
    REQUIRE(mux.match("", "/healthz/x") == "/");
    REQUIRE(mux.match("", "/tree/leaf") == "/tree/leaf");
    REQUIRE(mux.match("", "/tree/leafy") == "/tree/");
    REQUIRE(mux.match("example.com:80", "/anything") == "example.com/");
    REQUIRE_THROWS_AS(mux.handle_func("/healthz", [](http::ResponseWriter&, http::Request&) {}), std::invalid_argument);
    REQUIRE_THROWS_AS(mux.handle_func("", [](http::ResponseWriter&, http::Request&) {}), std::invalid_argument);
    REQUIRE(http::clean_path("/a/../b//c/./d/") == "/b/c/d/");
    REQUIRE(http::clean_path("/../..") == "/");
    REQUIRE(http::clean_path("x") == "/x");

    TestServer s(mux);
    Conn c = s.dial();
    boost::beast::flat_buffer buf;
    auto get = [&](std::string target, std::string host = "x") {
      c.write("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
      return read_response(c, buf);
    };
    auto r = get("/tree?q=1");
    REQUIRE(r.result_int() == 301);
    REQUIRE(r[bhttp::field::location] == "/tree/?q=1");
    r = get("/a/../healthz");
    REQUIRE(r.result_int() == 301);
    REQUIRE(r[bhttp::field::location] == "/healthz");
    r = get("/nope");
    REQUIRE(r.result_int() == 404);
    REQUIRE(r.body() == "404 page not found\n");
    REQUIRE(get("/tree/x%20y").body() == "tree:/tree/x y");
    REQUIRE(get("/", "example.com").body() == "host");
    REQUIRE(get("/").body() == "Hello World!\n");
    s.stop();
  });
}

TEST_CASE("http: shutdown lets a request in flight finish and refuses new connections", "[http]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    gort::chan<int> entered(1), release(0);
    http::ServeMux mux = demo_mux();
    mux.handle_func("/slow", [&](http::ResponseWriter& w, http::Request&) {
      entered.send(1);
      release.recv();
      w.write("finished");
    });
    TestServer s(mux);
    Conn idle = s.dial();  // an idle keep-alive connection
    boost::beast::flat_buffer ibuf;
    idle.write(std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(read_response(idle, ibuf).body() == "ok\n");
    Conn busy = s.dial();
    busy.write(std::string_view("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    entered.recv();
    gort::chan<std::error_code> result(1);
    gort::go([&] { result.send(s.srv.shutdown()); });
    // The idle connection is closed; new connections are refused.
    REQUIRE(read_all(idle).empty());
    std::error_code ec;
    for (int i = 0; i < 100 && !ec; i++) {
      Conn n = gort::net::dial("tcp", s.addr, ec);
      if (!ec) gort::yield();  // the listener closes right after shutdown starts
    }
    REQUIRE(ec == std::errc::connection_refused);
    REQUIRE(!result.try_recv());  // still waiting for /slow
    release.send(1);
    boost::beast::flat_buffer buf;
    auto res = read_response(busy, buf);
    REQUIRE(res.body() == "finished");
    REQUIRE(!res.keep_alive());  // "Connection: close" during shutdown
    REQUIRE(!*result.recv());
    REQUIRE(s.srv.connections() == 0);
    s.done.recv();  // serve() returned
  });
}

TEST_CASE("http: a Boost.Beast synchronous client talks to the server over gort", "[http]") {
  gort::run([] {
    TestServer s(demo_mux());
    Conn c = s.dial();
    boost::beast::flat_buffer buf;
    for (int i = 0; i < 3; i++) {
      bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/echo", 11};
      req.set(bhttp::field::host, "localhost");
      req.body() = "payload " + std::to_string(i);
      req.prepare_payload();
      bhttp::write(c, req);
      bhttp::response<bhttp::string_body> res;
      bhttp::read(c, buf, res);
      REQUIRE(res.result() == bhttp::status::ok);
      REQUIRE(res.body() == "payload " + std::to_string(i));
    }
    s.stop();
  });
}

TEST_CASE("http: the http_server sample answers curl on /healthz", "[http][e2e]") {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) {
    WARN("curl not installed: skipped");
    return;
  }
  std::string bin = GORT_HTTP_SERVER;
  // Port 0: the server picks a free port and logs it.
  gort::test::Subprocess server({bin, "--addr", "127.0.0.1:0"});
  std::string log;
  REQUIRE(server.read_stderr_until(" (GOMAXPROCS", log, 10000));
  std::size_t at = log.find("listening on ");
  REQUIRE(at != std::string::npos);
  std::string addr = log.substr(at + 13, log.find(' ', at + 13) - (at + 13));
  std::string out;
  int rc = gort::test::run_capture({"curl", "-sS", "--max-time", "5", "http://" + addr + "/healthz"}, out);
  REQUIRE(rc == 0);
  REQUIRE(out == "ok\n");
  rc = gort::test::run_capture({"curl", "-sS", "--max-time", "5", "http://" + addr + "/debug/sched"}, out);
  REQUIRE(rc == 0);
  REQUIRE(out.find("\"gomaxprocs\"") != std::string::npos);
  server.signal(SIGTERM);
  server.read_stderr_until("\x01", log, 30000);  // to EOF: the shutdown log, any sanitizer report
  INFO(log);
  REQUIRE(server.wait() == 0);
}
