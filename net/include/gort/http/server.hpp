// server.hpp - an HTTP/1.1 server, one fiber per connection (Go: net/http.Server).
//
//   gort::http::ServeMux mux;
//   mux.handle_func("/healthz", [](auto& w, auto&) { w.write("ok\n"); });
//   gort::http::Server srv(mux);
//   srv.listen_and_serve("127.0.0.1:8080");      // until shutdown() or close()
//
// Each connection's fiber reads a request (Boost.Beast's parser, strict
// RFC 9112 framing), calls the handler, writes the response and loops while
// the connection is kept alive. Pipelined requests are answered in order,
// with their responses written together. Bad requests get Go's answers:
//   400 malformed request line, header or framing (Content-Length together
//       with Transfer-Encoding, differing lengths, bad chunk sizes), or a
//       missing Host in HTTP/1.1; the connection is closed, so nothing can
//       be smuggled past a proxy in front
//   431 a header larger than max_header_bytes
//   413 a body larger than max_body_bytes
//   501 a Transfer-Encoding other than chunked
//   505 an HTTP version other than 1.0 and 1.1
// Handlers run as soon as a request's header has arrived and read the body
// as a stream (Request::body(), gort/http/body.hpp), so the server holds no
// more than its read buffer per connection, whatever the clients send.
//
// Safe defaults that Go leaves to the user (each one overridable below):
//   read_header_timeout  10 s   the header must arrive within it (slowloris)
//   body_idle_timeout    30 s   a body read waits at most this long for bytes
//   idle_timeout         120 s  a kept-alive connection may idle this long
//   max_header_bytes     1 MiB  larger headers get 431
//   max_body_bytes       10 MiB a body's default limit (Content-Length above
//                               it: 413 before the handler runs)
//   max_connections      7/8 of RLIMIT_NOFILE's soft limit (accepting waits
//                               beyond it instead of failing with EMFILE)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "gort/context.hpp"
#include "gort/http/error.hpp"
#include "gort/http/request.hpp"
#include "gort/http/response_writer.hpp"
#include "gort/net/listener.hpp"

namespace gort::http {

// Go: http.Handler / http.HandlerFunc. An exception escaping a handler is
// logged; the client gets a 500 if nothing was sent yet, and the
// connection is closed (Go recovers a handler's panic the same way).
using Handler = std::function<void(ResponseWriter&, Request&)>;

struct ServerOptions {
  // max_connections' default: derived from RLIMIT_NOFILE when the Server is made.
  static constexpr std::size_t auto_connections = static_cast<std::size_t>(-1);

  // From accept (or the end of the previous request) to the end of the
  // header; 0: none (Go: ReadHeaderTimeout).
  std::chrono::nanoseconds read_header_timeout = std::chrono::seconds(10);
  // From the start of a request to the end of its body; 0: none (Go: ReadTimeout).
  std::chrono::nanoseconds read_timeout{0};
  // How long one read of the body may wait for bytes; 0: none (Go has none:
  // a client that stops mid-body holds its handler until read_timeout).
  std::chrono::nanoseconds body_idle_timeout = std::chrono::seconds(30);
  // From the end of the request's header to the end of the response; 0: none.
  std::chrono::nanoseconds write_timeout{0};
  // Between requests on a kept-alive connection; 0: read_timeout, and if
  // that is 0 too, read_header_timeout (Go: IdleTimeout, then ReadTimeout).
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(120);
  std::size_t max_header_bytes = 1 << 20;
  // The default limit of Request::body() (Body::set_limit changes it for one
  // request). A declared Content-Length above it is answered 413 before the
  // handler runs; a chunked body fails with errc::body_too_large when it
  // passes it.
  std::uint64_t max_body_bytes = 10 << 20;
  // At most this many connections are served at once (0: no limit); beyond
  // it, accepting waits (Go: x/net/netutil.LimitListener). The default,
  // auto_connections, is 7/8 of the process's RLIMIT_NOFILE soft limit, so
  // a flood of connections leaves descriptors for the program's own files.
  std::size_t max_connections = auto_connections;
  bool keep_alives = true;                // Go: SetKeepAlivesEnabled
  std::string server_name = "gort";       // the Server header; empty: none
};

class Server {
 public:
  explicit Server(Handler handler, ServerOptions options = {});
  // Closes (as close()) if still serving, then waits until every
  // connection's fiber has finished (a handler that never returns hangs it,
  // as joining a thread would): handlers may refer to state that dies with
  // the Server's owner. Go's Close does not wait; Go has no destructors.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Go: Serve. Accepts on ln and serves each connection in its own fiber.
  // Returns once shutdown() or close() closed ln; throws std::system_error
  // if accepting fails for good. Running out of descriptors is retried with
  // Go's backoff (5 ms doubling to 1 s). ln must outlive this call.
  void serve(net::Listener& ln);
  // Go: ListenAndServe on a TCP address ("127.0.0.1:8080", ":8080").
  void listen_and_serve(const std::string& address);

  // Go: Shutdown. Stops accepting, closes idle connections, lets requests
  // in flight finish (their connections close after the response), and
  // returns once every connection is gone, or with ctx's error if ctx ends
  // first (the remaining connections are left running; close() ends them).
  std::error_code shutdown(const Context& ctx = Context::background());
  // Go: Close. Closes the listeners and every connection at once.
  void close();

  std::size_t connections() const noexcept;  // open right now
  std::uint64_t requests() const noexcept;    // served since start

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace gort::http
