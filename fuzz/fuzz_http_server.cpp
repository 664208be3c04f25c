// fuzz_http_server - the HTTP server's connection loop (ServerConn: header
// parsing, body framing, handlers, pipelining, keep-alive, rejects), fed
// arbitrary bytes over a real connection, so the code under test is the
// code that serves clients.
//
// One gort::http::Server per process listens on a unix socket (no ports,
// no TIME_WAIT); every input is one client connection from the main fiber:
// [opts][split][bytes...]. opts picks small limits (header 256 B or the
// default, body 1,000 B or the default) so that the limit paths are reached
// with short inputs; split is where the bytes are cut into two writes. The
// client then half-closes, and reads everything until the server closes.
//
// Handlers: /echo reads the whole body and sends it back; /peek reads a few
// bytes and answers; /ctx asks for the request's context; /big answers
// chunked; /throw throws after a chunked response started; anything else
// answers without reading the body.
//
// Invariants: no crash or sanitizer report; the server ends the connection
// by itself once the client half-closed (no hang: the read has a 10 s
// deadline); what it sends is a sequence of HTTP/1.x responses that Beast's
// client parser accepts, every one complete except possibly the last, which
// may be cut short only after /throw; and the server keeps serving.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <unistd.h>

#include "gort/gort.hpp"
#include "gort/http/http.hpp"
#include "gort/net/net.hpp"
#include "support/check.hpp"

namespace {

namespace http = gort::http;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

http::ServeMux make_mux() {
  http::ServeMux mux;
  mux.handle_func("/echo", [](http::ResponseWriter& w, http::Request& r) {
    std::error_code ec;
    std::string body = r.body().read_all(ec);
    if (ec) return http::error(w, ec.message(), 400);
    w.write(body + "|" + std::string(r.trailer.get("X-T")));
  });
  mux.handle_func("/peek", [](http::ResponseWriter& w, http::Request& r) {
    char buf[7];
    std::error_code ec;
    std::size_t n = r.body().read(buf, ec);
    w.write(std::string(buf, n));
  });
  mux.handle_func("/ctx", [](http::ResponseWriter& w, http::Request& r) {
    w.write(r.context().err() ? "gone" : "here");
  });
  mux.handle_func("/big", [](http::ResponseWriter& w, http::Request&) { w.write(std::string(9000, 'b')); });
  mux.handle_func("/throw", [](http::ResponseWriter& w, http::Request&) {
    w.write(std::string(5000, 't'));
    throw std::runtime_error("fuzz: thrown mid-response");
  });
  mux.handle_func("/", [](http::ResponseWriter& w, http::Request& r) { w.write(std::string(r.path())); });
  return mux;
}

struct Instance {
  std::string path;
  gort::net::Listener ln;
  std::unique_ptr<http::Server> srv;
};

Instance& server(int variant) {
  static Instance inst[4];
  Instance& s = inst[variant];
  if (!s.srv) {
    s.path = "/tmp/gort-fuzz-http-" + std::to_string(getpid()) + "-" + std::to_string(variant);
    ::unlink(s.path.c_str());
    s.ln = gort::net::listen("unix", s.path);
    http::ServerOptions o;
    if (variant & 1) o.max_header_bytes = 256;
    if (variant & 2) o.max_body_bytes = 1000;
    o.read_header_timeout = 5s;
    o.body_idle_timeout = 5s;
    s.srv = std::make_unique<http::Server>(make_mux(), o);
    gort::go([&s] {
      try {
        s.srv->serve(s.ln);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_http_server: serve: %s\n", e.what());
        std::abort();
      }
    });
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  Instance& s = server(data[0] & 3);
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::size_t split = std::min<std::size_t>(data[1] * 16, in.size());

  gort::net::Conn c = gort::net::dial("unix", s.path);
  std::error_code ec;
  c.write(in.substr(0, split), ec);
  if (!ec) c.write(in.substr(split), ec);
  c.close_write(ec);
  c.set_read_deadline(gort::Clock::now() + 10s);
  std::string out;
  char buf[16384];
  for (;;) {
    std::size_t n = c.read(buf, ec);
    if (ec) break;
    out.append(buf, n);
  }
  FUZZ_CHECK(ec != gort::net::errc::timed_out);  // the server always ends the connection

  // The bytes are HTTP responses, complete but for a cut-off /throw. (A
  // HEAD response's length describes a body that is not there: inputs with
  // HEAD requests skip the check, the parser cannot know.)
  if (in.find("HEAD") != std::string_view::npos) return 0;
  boost::beast::flat_buffer fb;
  fb.commit(boost::asio::buffer_copy(fb.prepare(out.size()), boost::asio::buffer(out)));
  bool threw = in.find("/throw") != std::string_view::npos;
  while (fb.size() > 0) {
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(boost::none);
    p.header_limit(1 << 20);
    p.eager(true);
    boost::system::error_code bec;
    for (;;) {  // Beast may stop between parts of a message
      std::size_t used = p.put(fb.data(), bec);
      fb.consume(used);
      if (bec || p.is_done() || used == 0 || fb.size() == 0) break;
    }
    if (!p.is_done() && (!bec || bec == bhttp::error::need_more)) {
      bec = {};
      p.put_eof(bec);  // a close-delimited body (a reject, HTTP/1.0) ends with the stream
    }
    if (bec || !p.is_done()) {
      if (!threw) {
        std::fprintf(stderr, "fuzz_http_server: bad response (%s):\n%.*s\n", bec.message().c_str(),
                     static_cast<int>(std::min<std::size_t>(out.size(), 600)), out.data());
      }
      FUZZ_CHECK(threw);
      break;
    }
  }
  return 0;
}
