// gort::http against hostile and careless peers: unbounded chunk lines and
// trailers (review C1), response splitting (M4), truncated chunked
// responses (H6), pipelined responses held back (M3), whole-body buffering
// (H4), and Go's body semantics (streaming, discard, 100-continue, limits).
// Catch2 assertions run only on the main fiber.
#include <catch2/catch.hpp>

#include <string>

#include "http_support.hpp"

using namespace gort_test;

namespace {

http::ServeMux hostile_mux() {
  http::ServeMux mux;
  mux.handle_func("/healthz", [](http::ResponseWriter& w, http::Request&) { w.write("ok\n"); });
  mux.handle_func("/echo", [](http::ResponseWriter& w, http::Request& r) { w.write(r.body().read_all()); });
  mux.handle_func("/trailer", [](http::ResponseWriter& w, http::Request& r) {
    std::string body = r.body().read_all();
    w.write(body + "|" + std::string(r.trailer.get("X-Sum")));
  });
  mux.handle_func("/header", [](http::ResponseWriter& w, http::Request& r) {
    w.header().set("X-Echo", r.query("v"));
    w.header().set("Bad Name", "dropped");
    w.write("h");
  });
  mux.handle_func("/redirect", [](http::ResponseWriter& w, http::Request& r) {
    http::redirect(w, r, r.query("to"), 302);
  });
  mux.handle_func("/throw-mid-chunked", [](http::ResponseWriter& w, http::Request&) {
    w.write(std::string(8192, 'c'));  // past 4 KiB: the response is chunked and under way
    w.flush();
    throw std::runtime_error("boom after the header");
  });
  return mux;
}

// Writes what it can of a request the server may refuse part-way.
void send_some(Conn& c, std::string_view data) {
  std::error_code ec;
  c.write(data, ec);
}

}  // namespace

TEST_CASE("http: an endless chunk-size line or trailer gets 400, not a heap overflow (C1)", "[http][hostile]") {
  gort::run([] {
    TestServer s(hostile_mux());
    struct Case {
      const char* name;
      std::string head;
      char filler;
    };
    for (const Case& k : {Case{"chunk extension", "5;", 'a'}, Case{"chunk size digits", "", '0'},
                          Case{"trailer", "5\r\nhello\r\n0\r\nX-T: ", 't'}}) {
      for (const char* path : {"/echo", "/healthz"}) {
        INFO(k.name << " to " << path);
        Conn c = s.dial();
        send_some(c, std::string("POST ") + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + k.head);
        // 1.5 MiB without a line end: more than the 1 MiB + 4 KiB buffer.
        send_some(c, std::string(1536 * 1024, k.filler));
        std::string resp = read_all(c);
        INFO(resp.substr(0, 200));
        if (std::string_view(path) == "/echo") {
          REQUIRE(status_line(resp) == "HTTP/1.1 400 Bad Request");
        } else {
          // The handler answered without reading; the unread body cannot be
          // skipped, so the connection closes after the response.
          REQUIRE(status_line(resp) == "HTTP/1.1 200 OK");
          REQUIRE(resp.find("Connection: close\r\n") != std::string::npos);
        }
      }
    }
    // The server is unharmed.
    Conn d = s.dial();
    boost::beast::flat_buffer buf;
    d.write(std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(read_response(d, buf).body() == "ok\n");
    s.stop();
  });
}

TEST_CASE("http: CR and LF in response headers and redirects cannot split the response (M4)", "[http][hostile]") {
  gort::run([] {
    TestServer s(hostile_mux());
    Conn c = s.dial();
    c.write(std::string_view("GET /header?v=a%0D%0ASet-Cookie:%20evil=1%0Ab HTTP/1.1\r\nHost: x\r\n\r\n"));
    boost::beast::flat_buffer buf;
    auto res = read_response(c, buf);
    REQUIRE(res["X-Echo"] == "a  Set-Cookie: evil=1 b");
    REQUIRE(res.find("Set-Cookie") == res.end());
    REQUIRE(res.find("Bad Name") == res.end());
    REQUIRE(res.body() == "h");
    c.write(std::string_view("GET /redirect?to=/next%0D%0ASet-Cookie:%20evil=1 HTTP/1.1\r\nHost: x\r\n\r\n"));
    res = read_response(c, buf);
    REQUIRE(res.result_int() == 302);
    REQUIRE(res["Location"] == "/next%0D%0ASet-Cookie:%20evil=1");
    REQUIRE(res.find("Set-Cookie") == res.end());
    REQUIRE(res.keep_alive());  // still in sync
    s.stop();
  });
}

TEST_CASE("http: a handler that throws mid-chunked leaves a truncated response, never a complete one (H6)",
          "[http][hostile]") {
  gort::run([] {
    TestServer s(hostile_mux());
    Conn c = s.dial();
    c.write(std::string_view("GET /throw-mid-chunked HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string resp = read_all(c);  // ends because the server closes
    REQUIRE(status_line(resp) == "HTTP/1.1 200 OK");
    REQUIRE(resp.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    REQUIRE(resp.find(std::string(8192, 'c')) != std::string::npos);  // what was written arrived
    REQUIRE(!resp.ends_with("0\r\n\r\n"));  // but no last chunk
    // A client's parser sees a message cut short.
    Conn d = s.dial();
    d.write(std::string_view("GET /throw-mid-chunked HTTP/1.1\r\nHost: x\r\n\r\n"));
    boost::beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> p;
    boost::system::error_code ec;
    bhttp::read(d, buf, p, ec);
    REQUIRE(ec);
    REQUIRE(!p.is_done());
    s.stop();
  });
}

TEST_CASE("http: a pipelined response goes out before the next request's handler returns (M3)", "[http]") {
  gort::run([] {
    gort::chan<bool> release(1);
    http::ServeMux mux = hostile_mux();
    mux.handle_func("/slow", [&](http::ResponseWriter& w, http::Request&) {
      release.recv();
      w.write("slow");
    });
    TestServer s(std::move(mux));
    Conn c = s.dial();
    c.write(std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    boost::beast::flat_buffer buf;
    c.set_read_deadline(gort::Clock::now() + 10s);
    REQUIRE(read_response(c, buf).body() == "ok\n");  // while /slow's handler still waits
    release.send(true);
    REQUIRE(read_response(c, buf).body() == "slow");
    s.stop();
  });
}

TEST_CASE("http: the handler reads the body as it arrives; a large unread rest closes the connection (H4)",
          "[http][body]") {
  gort::run([] {
    gort::chan<std::string> first(1);
    http::ServeMux mux;
    mux.handle_func("/upload", [&](http::ResponseWriter& w, http::Request& r) {
      char buf[100];
      std::size_t got = 0;
      while (got < sizeof buf) got += r.body().read(std::span<char>(buf + got, sizeof buf - got));
      first.send(std::to_string(r.content_length()) + ":" + std::string(buf, sizeof buf));
      w.write("read 100");  // and leave the rest unread
    });
    TestServer s(std::move(mux));
    Conn c = s.dial();
    c.write(std::string_view("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n"));
    c.write(std::string(100, 'u'));
    // The handler saw the first bytes while 10 MiB - 100 are still unsent.
    REQUIRE(first.recv().value() == "10485760:" + std::string(100, 'u'));
    std::string resp = read_all(c);
    REQUIRE(status_line(resp) == "HTTP/1.1 200 OK");
    REQUIRE(resp.find("Connection: close\r\n") != std::string::npos);
    REQUIRE(resp.ends_with("read 100"));
    s.stop();
  });
}

TEST_CASE("http: an unread body up to 256 KiB is discarded and the connection reused", "[http][body]") {
  gort::run([] {
    TestServer s(hostile_mux());
    Conn c = s.dial();
    boost::beast::flat_buffer buf;
    std::string body(200 * 1024, 'b');
    c.write("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    auto res = read_response(c, buf);
    REQUIRE(res.body() == "ok\n");
    REQUIRE(res.keep_alive());
    // Chunked, the same.
    c.write(std::string_view("POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nabc\r\n0\r\n\r\n"));
    res = read_response(c, buf);
    REQUIRE(res.keep_alive());
    c.write(std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));  // still in sync
    REQUIRE(read_response(c, buf).body() == "ok\n");
    s.stop();
  });
}

TEST_CASE("http: 100 Continue goes out on the handler's first read, not before", "[http][body]") {
  gort::run([] {
    TestServer s(hostile_mux());
    // A handler that never reads: no 100, and the connection closes (the
    // client might still send the body, or might not).
    Conn c = s.dial();
    c.write(std::string_view("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
    std::string resp = read_all(c);
    REQUIRE(status_line(resp) == "HTTP/1.1 200 OK");
    REQUIRE(resp.find("100 Continue") == std::string::npos);
    REQUIRE(resp.find("Connection: close\r\n") != std::string::npos);
    // A reading handler gets it first.
    Conn d = s.dial();
    d.write(std::string_view("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
    std::string got;
    char b[64];
    while (got.find("\r\n\r\n") == std::string::npos) got.append(b, d.read(b));
    REQUIRE(got == "HTTP/1.1 100 Continue\r\n\r\n");
    d.write(std::string_view("body"));
    boost::beast::flat_buffer buf;
    REQUIRE(read_response(d, buf).body() == "body");
    s.stop();
  });
}

TEST_CASE("http: trailers reach the handler; chunked bodies past the limit get 413", "[http][body]") {
  gort::run([] {
    http::ServerOptions o;
    o.max_body_bytes = 1000;
    TestServer s(hostile_mux(), o);
    Conn c = s.dial();
    c.write(std::string_view("POST /trailer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "4\r\ndata\r\n0\r\nX-Sum: 99\r\n\r\n"));
    boost::beast::flat_buffer buf;
    REQUIRE(read_response(c, buf).body() == "data|99");
    std::string big = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; i++) big += "200\r\n" + std::string(512, 'y') + "\r\n";
    big += "0\r\n\r\n";
    c.write(big);
    std::string resp = read_all(c);
    REQUIRE(status_line(resp) == "HTTP/1.1 413 Request Entity Too Large");
    REQUIRE(resp.find("Connection: close\r\n") != std::string::npos);
    s.stop();
  });
}

TEST_CASE("http: a body that stalls fails its read after body_idle_timeout and gets 400", "[http][body]") {
  gort::run([] {
    http::ServerOptions o;
    o.body_idle_timeout = 100ms;
    TestServer s(hostile_mux(), o);
    Conn c = s.dial();
    c.write(std::string_view("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf"));
    std::string resp = read_all(c, 10000ms);  // the server answers and closes; the client never sends the rest
    REQUIRE(status_line(resp) == "HTTP/1.1 400 Bad Request");
    s.stop();
  });
}

TEST_CASE("http: a request's context is cancelled when the client goes away", "[http][context]") {
  gort::run([] {
    gort::chan<std::string> seen(1);
    http::ServeMux mux;
    mux.handle_func("/wait", [&](http::ResponseWriter&, http::Request& r) {
      const gort::Context& ctx = r.context();
      if (r.body().read_all() != (r.method() == "POST" ? "abc" : "")) return;  // the watch starts at the body's end
      seen.send("waiting");
      gort::select(gort::recv(ctx.done()));  // until the client leaves
      seen.send(ctx.err().message());
    });
    TestServer s(std::move(mux));
    {
      Conn c = s.dial();
      c.write(std::string_view("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"));
      REQUIRE(seen.recv().value() == "waiting");
    }  // the client closes its end
    REQUIRE(seen.recv().value() == "context canceled");
    // A body read to its end first, then the client leaves: the same.
    {
      Conn c = s.dial();
      c.write(std::string_view("POST /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
      REQUIRE(seen.recv().value() == "waiting");
    }
    REQUIRE(seen.recv().value() == "context canceled");
    s.stop();
  });
}

TEST_CASE("http: a request's context ends with its handler and with the server; pipelining keeps it", "[http][context]") {
  gort::run([] {
    gort::chan<std::string> seen(4);
    gort::Context kept;
    http::ServeMux mux;
    mux.handle_func("/keep", [&](http::ResponseWriter& w, http::Request& r) {
      kept = r.context();
      seen.send(kept.err() ? "early" : "live");
      w.write("k");
    });
    mux.handle_func("/wait", [&](http::ResponseWriter&, http::Request& r) {
      seen.send("waiting");
      gort::select(gort::recv(r.context().done()));
      seen.send(r.context().err().message());
    });
    TestServer s(std::move(mux));
    Conn c = s.dial();
    // Two pipelined requests: the second one's bytes do not look like a
    // client that left.
    c.write(std::string_view("GET /keep HTTP/1.1\r\nHost: x\r\n\r\nGET /keep HTTP/1.1\r\nHost: x\r\n\r\n"));
    boost::beast::flat_buffer buf;
    REQUIRE(read_response(c, buf).body() == "k");
    REQUIRE(read_response(c, buf).body() == "k");
    REQUIRE(seen.recv().value() == "live");
    REQUIRE(seen.recv().value() == "live");
    REQUIRE(kept.err() == gort::errc::canceled);  // the handler returned
    // shutdown() cancels the contexts of requests in flight.
    c.write(std::string_view("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(seen.recv().value() == "waiting");
    gort::chan<bool> down(1);
    gort::go([&] {
      s.srv.shutdown();
      down.send(true);
    });
    REQUIRE(seen.recv().value() == "context canceled");
    down.recv();
    s.done.recv();
  });
}
