// http_support.hpp - what the HTTP tests share: a server on an ephemeral
// loopback port, and raw-socket response readers.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "gort/gort.hpp"
#include "gort/http/http.hpp"
#include "gort/net/net.hpp"

namespace gort_test {

using namespace std::chrono_literals;
namespace http = gort::http;
namespace bhttp = boost::beast::http;
using gort::net::Conn;

// A server on 127.0.0.1:<ephemeral> serving mux in a fiber until stop().
struct TestServer {
  explicit TestServer(http::Handler h, http::ServerOptions o = {}) : srv(std::move(h), std::move(o)) {
    ln = gort::net::listen("tcp", "127.0.0.1:0");
    addr = ln.address().string();
    done = gort::chan<bool>(1);
    gort::go([this] {
      try {
        srv.serve(ln);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "serve: %s\n", e.what());  // a failed REQUIRE destroyed the listener
      }
      done.send(true);
    });
  }
  void stop() {
    srv.close();
    done.recv();
  }
  Conn dial() { return gort::net::dial("tcp", addr); }

  gort::net::Listener ln;  // declared first: destroyed after srv closed it
  http::Server srv;
  std::string addr;
  gort::chan<bool> done;
};

// Reads one response with Beast's parser from a raw connection.
inline bhttp::response<bhttp::string_body> read_response(Conn& c, boost::beast::flat_buffer& buf, bool head = false) {
  bhttp::response_parser<bhttp::string_body> p;
  p.skip(head);
  p.body_limit(64 << 20);
  bhttp::read(c, buf, p);
  return p.release();
}

// Everything the server sends until it closes (bounded by a deadline).
inline std::string read_all(Conn& c, std::chrono::milliseconds limit = 5000ms) {
  c.set_read_deadline(gort::Clock::now() + limit);
  std::string out;
  char buf[4096];
  std::error_code ec;
  for (;;) {
    std::size_t n = c.read(buf, ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

inline std::string status_line(const std::string& resp) { return resp.substr(0, resp.find("\r\n")); }

}  // namespace gort_test
