// server_conn.hpp - one server-side HTTP connection and the fiber that
// serves it (Go: net/http.conn and conn.serve). Private to net/src/http.
//
// Connection states (Go: ConnState), in `state`:
//
//   fresh --first bytes--> active --response done, keep-alive--> idle
//                            ^                                    |
//                            +------------next request bytes------+
//   any --the fiber leaves, or shutdown()/close() closes it--> closed
//
// The owning fiber moves fresh/idle -> active with a CAS; shutdown() closes
// an idle (or long-fresh) connection only by winning the CAS idle -> closed,
// so a connection that just received a request is never cut off by it.
// close() closes every connection whatever its state.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "gort/chan.hpp"
#include "gort/context.hpp"
#include "gort/http/request.hpp"
#include "gort/http/response_writer.hpp"
#include "gort/http/server.hpp"
#include "gort/net/conn.hpp"
#include "body_source.hpp"

namespace gort::http {

// The connection's read buffer: a window [begin, end) of a heap block that
// grows (doubling) up to a limit when a request header does not fit, and
// shrinks back after such a request.
class InBuffer {
 public:
  std::string_view data() const noexcept { return {buf_.get() + begin_, end_ - begin_}; }
  bool empty() const noexcept { return begin_ == end_; }
  void clear() noexcept { begin_ = end_ = 0; }
  void consume(std::size_t n) noexcept;
  // Free space at the end after compacting, growing up to max when full.
  // Empty if the buffer holds max bytes already.
  std::span<char> space(std::size_t max);
  void commit(std::size_t n) noexcept { end_ += n; }
  std::size_t size() const noexcept { return end_ - begin_; }
  void shrink(std::size_t keep) noexcept;

 private:
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0, begin_ = 0, end_ = 0;
};

// What a connection needs only while it handles a request: its buffers, the
// Request and the ResponseWriter. A connection takes one from the server's
// per-P pool when bytes arrive and gives it back when it goes idle, so idle
// keep-alive connections hold no buffers, and at high connection counts the
// few exchanges in use stay warm in the cache of the core reusing them.
struct Exchange {
  Exchange() : w(nullptr) {}
  void reset() noexcept {
    in.clear();
    out.clear();
  }
  // Gives back what a large request or response grew (a pooled exchange
  // would keep it for the server's life otherwise).
  void shrink() noexcept;
  InBuffer in;
  std::string out;  // bytes waiting to be written
  Request req;
  ResponseWriter w;
};

class ServerConn final : private net::LazyBuffer, private detail::BodySource {
 public:
  enum State : std::uint8_t { fresh, active, idle, closed };

  ServerConn(Server::Impl* srv, net::Conn conn);
  ~ServerConn();
  // The fiber body: serves requests until the connection ends.
  void serve();
  // shutdown(): closes the connection if it is idle (or fresh for longer
  // than 5 s, as Go). Returns false if it is busy serving a request.
  bool close_if_idle(std::int64_t now_ns);
  // close(): closes the connection whatever it is doing.
  void force_close();
  State state() const noexcept { return state_.load(std::memory_order_acquire); }

  // For ResponseWriter: the bytes waiting to be written, and the writes.
  std::string& out() noexcept { return x_->out; }
  bool flush(std::error_code& ec);
  // Writes out, then the pieces, in one writev (large bodies skip the copy).
  bool write_through(std::string_view a, std::string_view b, std::string_view c, std::error_code& ec);
  const ServerOptions& options() const noexcept;
  // The server is shutting down: responses say "Connection: close" (Go:
  // doKeepAlives, checked when the header is written).
  bool draining() const noexcept;
  // For ResponseWriter, before a response header goes out: settles the
  // request body the handler left unread (Go: chunkWriter.writeHeader
  // discards up to 256 KiB). False if the connection must close after the
  // response.
  bool settle_body();
  // For Request::context(): made on first use.
  const Context& request_context();

 private:
  bool read_more(std::int64_t deadline, std::error_code& ec, std::int64_t slack = 0);
  bool read_request(bool first, int& reject);
  void reject(int status, std::string_view why);
  void linger_close();
  // The exchange, taken from the pool if the connection has none.
  Exchange& x();
  void give_back() noexcept;
  // LazyBuffer: the read buffer while data is there; between requests the
  // whole exchange goes back to the pool while the fiber waits.
  std::span<char> acquire() override;
  void release() noexcept override;
  void set_read_deadline(std::int64_t when, std::int64_t slack);
  void set_write_deadline(std::int64_t when);
  // BodySource: the request body is read from `in` and the connection.
  std::string_view buffered() noexcept override;
  void consume(std::size_t n) noexcept override;
  bool fill(std::error_code& ec) override;
  std::size_t read_direct(std::span<char> dst, std::error_code& ec) override;
  void first_read() override;
  void ended() override;
  // The client-gone watch (Go: connReader.startBackgroundRead): a fiber
  // parked in wait_readable on the connection while the handler runs, that
  // cancels the request's context on end of stream or an error. Started
  // when the context exists and the body has ended; stopped (by a read
  // deadline in the past, as Go's abortPendingRead) before the connection
  // reads again.
  void start_watch();
  void stop_watch() noexcept;
  void end_request_context() noexcept;
  // The read deadline for the body: body_idle_timeout from now, or the
  // request's read_timeout if that comes first (0: none).
  std::int64_t body_deadline() const noexcept;
  // The handler threw: answer if nothing was sent, close in any case.
  void handler_failed(ResponseWriter& w, std::exception_ptr e);

  Server::Impl* srv_;
  net::Conn conn_;
  std::atomic<State> state_{fresh};
  std::int64_t since_;              // nanotime of accept
  std::int64_t read_deadline_ = 0;  // the one set on conn_ (0: none)
  std::string remote_;              // the peer's address, for Request
  std::unique_ptr<Exchange> x_;     // null while idle
  bool between_ = true;             // no request in progress: x_ may go back
  bool overflow_ = false;           // a read had no room (acquire() lent the scratch byte)
  bool continue_ = false;           // the client expects "100 Continue" before the body
  std::int64_t request_deadline_ = 0;  // read_timeout for this request's body (0: none)
  // The request's context (ctx_made_: request_context() was called), and
  // the watch: watching_ while its fiber may run; it sends on watch_done_
  // as its last act. All touched only by this connection's fiber.
  Context ctx_;
  CancelFunc cancel_;
  gort::chan<bool> watch_done_;
  bool ctx_made_ = false;
  bool watching_ = false;
};

// Go: http.DetectContentType, reduced to what servers mostly need.
std::string_view detect_content_type(std::string_view data) noexcept;
// Appends "Date: <IMF-fixdate>\r\n" (cached per second).
void append_date_header(std::string& out);

}  // namespace gort::http
