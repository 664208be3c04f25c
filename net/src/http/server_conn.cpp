// server_conn.cpp - one connection's request loop (Go: net/http conn.serve,
// readRequest, finishRequest, closeWriteAndWait).
//
// Deadlines: the connection's read deadline always matches what the next
// read waits for (the idle timeout between requests, the header timeout
// while a header is incomplete, body_idle_timeout (capped by read_timeout)
// while the handler reads the body),
// and is changed only when that differs from the one already set: the
// common keep-alive request costs one deadline update, since its header
// usually arrives in one read.
//
// Flushing: a response accumulates in `out` and is written when the next
// read would wait, before the next handler runs, or when `out` grows large:
// a lone request costs one write, and a pipelined request's response never
// waits for the next request's handler (Go: finishRequest flushes).
//
// The read buffer never overflows: a header is bounded by max_header_bytes
// (Beast's header limit), chunk lines by 4 KiB and trailers by the header
// limit (Body), all below the buffer's cap of max_header_bytes + 4 KiB; and
// should a read find no room anyway, acquire() lends a scratch byte that is
// never committed - the read fails instead.
#include "server_conn.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <tuple>

#include "gort/http/error.hpp"
#include "gort/go.hpp"
#include "gort/http/status.hpp"
#include "gort/scheduler/log.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "request_reader.hpp"
#include "server_impl.hpp"

namespace gort::http {

namespace {
constexpr std::size_t kInitialBuffer = 4096;
constexpr std::size_t kFlushAt = 64 * 1024;  // write out once this much is pending
constexpr std::int64_t kLingerNs = 500'000'000;  // Go: rstAvoidanceDelay
constexpr std::int64_t kFreshIdleNs = 5'000'000'000;  // Go: a StateNew conn older than 5 s counts as idle
constexpr std::size_t kMaxDiscard = 256 * 1024;  // Go: maxPostHandlerReadBytes
constexpr std::size_t kKeepOut = 4 * kFlushAt;  // a pooled exchange's `out` keeps at most this

std::int64_t after(std::chrono::nanoseconds d) noexcept {
  return d.count() <= 0 ? 0 : gort::detail::nanotime() + d.count();
}
}  // namespace

// ---- InBuffer ----

void InBuffer::consume(std::size_t n) noexcept {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

std::span<char> InBuffer::space(std::size_t max) {
  if (begin_ > 0 && end_ == cap_) {  // compact
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == cap_) {
    std::size_t ncap = cap_ == 0 ? kInitialBuffer : cap_ * 2;
    if (ncap > max) ncap = max;
    if (ncap <= cap_) return {};
    auto nb = std::make_unique_for_overwrite<char[]>(ncap);
    if (end_ > begin_) std::memcpy(nb.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    buf_ = std::move(nb);
    cap_ = ncap;
  }
  return {buf_.get() + end_, cap_ - end_};
}

void Exchange::shrink() noexcept {
  in.shrink(kInitialBuffer);
  if (out.capacity() > kKeepOut) std::string().swap(out);
  req.shrink();
  w.shrink();
}

void InBuffer::shrink(std::size_t keep) noexcept {
  if (cap_ <= keep || end_ - begin_ > keep) return;
  auto nb = std::unique_ptr<char[]>(new (std::nothrow) char[keep]);
  if (!nb) return;
  if (end_ > begin_) std::memcpy(nb.get(), buf_.get() + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
  buf_ = std::move(nb);
  cap_ = keep;
}

// ---- ServerConn ----

ServerConn::ServerConn(Server::Impl* srv, net::Conn conn)
    : srv_(srv), conn_(std::move(conn)), since_(gort::detail::coarse_nanotime()) {}

ServerConn::~ServerConn() { give_back(); }

Exchange& ServerConn::x() {
  if (!x_) {
    x_ = srv_->exchanges.get();
    x_->w.conn_ = this;
  }
  return *x_;
}

void ServerConn::give_back() noexcept {
  if (!x_) return;
  x_->reset();
  x_->shrink();
  x_->req.body_.start(nullptr, Body::Framing::none, 0, nullptr, 0, 0);
  x_->w.conn_ = nullptr;
  srv_->exchanges.put(std::move(x_));
}

std::span<char> ServerConn::acquire() {
  std::span<char> sp = x().in.space(srv_->opts.max_header_bytes + kInitialBuffer);
  if (!sp.empty()) return sp;
  // No room (see the file comment: the bounds make this unreachable). The
  // read contract wants a non-empty buffer: lend a scratch byte, which
  // read_more() never commits.
  overflow_ = true;
  static thread_local char scratch;
  return {&scratch, 1};
}

void ServerConn::release() noexcept {
  if (between_ && x_ && x_->in.empty() && x_->out.empty()) give_back();
}

const ServerOptions& ServerConn::options() const noexcept { return srv_->opts; }
bool ServerConn::draining() const noexcept { return srv_->shutting_down.load(std::memory_order_acquire); }

bool ServerConn::close_if_idle(std::int64_t now_ns) {
  State s = state_.load(std::memory_order_acquire);
  if (s == closed) return true;
  if (s == fresh && now_ns - since_ < kFreshIdleNs) return false;
  if (s != idle && s != fresh) return false;
  if (!state_.compare_exchange_strong(s, closed, std::memory_order_acq_rel)) return state_.load() == closed;
  std::error_code ignored;
  conn_.close(ignored);
  return true;
}

void ServerConn::force_close() {
  state_.store(closed, std::memory_order_release);
  std::error_code ignored;
  conn_.close(ignored);
}

void ServerConn::set_read_deadline(std::int64_t when, std::int64_t slack) {
  // A deadline already set a little earlier than asked for is kept: an idle
  // timeout of minutes need not move its timer on every request.
  if (when == read_deadline_ || (when != 0 && read_deadline_ != 0 && when > read_deadline_ && when - read_deadline_ <= slack)) {
    return;
  }
  read_deadline_ = when;
  // Conn takes a steady_clock time point; nanotime is the same clock. It
  // throws only when the connection was closed under us (close()), which
  // the next read reports anyway.
  try {
    conn_.set_read_deadline(when == 0 ? net::no_deadline : net::Clock::time_point(std::chrono::nanoseconds(when)));
  } catch (const std::system_error&) {
  }
}

void ServerConn::set_write_deadline(std::int64_t when) {
  try {
    conn_.set_write_deadline(when == 0 ? net::no_deadline : net::Clock::time_point(std::chrono::nanoseconds(when)));
  } catch (const std::system_error&) {
  }
}

bool ServerConn::flush(std::error_code& ec) {
  ec.clear();
  if (!x_ || x_->out.empty()) return true;
  std::string& out = x_->out;
  conn_.write(out, ec);
  if (out.capacity() > 4 * kFlushAt) {
    std::string().swap(out);
  } else {
    out.clear();
  }
  return !ec;
}

bool ServerConn::write_through(std::string_view a, std::string_view b, std::string_view c, std::error_code& ec) {
  std::string& out = x_->out;
  std::array<boost::asio::const_buffer, 4> bufs{boost::asio::buffer(out), boost::asio::buffer(a.data(), a.size()),
                                               boost::asio::buffer(b.data(), b.size()),
                                               boost::asio::buffer(c.data(), c.size())};
  ec.clear();
  try {
    conn_.writev(bufs);
  } catch (const std::system_error& e) {
    ec = e.code();
  }
  out.clear();
  return !ec;
}

// Reads once into the buffer, writing pending responses first (a client
// may wait for them before it sends more).
bool ServerConn::read_more(std::int64_t deadline, std::error_code& ec, std::int64_t slack) {
  if (!flush(ec)) return false;
  set_read_deadline(deadline, slack);
  overflow_ = false;
  std::size_t n = conn_.read(static_cast<net::LazyBuffer&>(*this), ec);
  if (ec) return false;
  if (overflow_) {
    ec = std::make_error_code(std::errc::no_buffer_space);
    return false;
  }
  x_->in.commit(n);  // a successful read leaves the buffer acquired
  return true;
}

// ---- the request body (BodySource) ----

std::int64_t ServerConn::body_deadline() const noexcept {
  std::int64_t d = after(srv_->opts.body_idle_timeout);
  if (request_deadline_ != 0 && (d == 0 || request_deadline_ < d)) d = request_deadline_;
  return d;
}

std::string_view ServerConn::buffered() noexcept { return x_->in.data(); }

void ServerConn::consume(std::size_t n) noexcept { x_->in.consume(n); }

bool ServerConn::fill(std::error_code& ec) {
  std::int64_t d = body_deadline();
  return read_more(d, ec, d == request_deadline_ ? 0 : srv_->opts.body_idle_timeout.count() / 64);
}

std::size_t ServerConn::read_direct(std::span<char> dst, std::error_code& ec) {
  if (!flush(ec)) return 0;
  std::int64_t d = body_deadline();
  set_read_deadline(d, d == request_deadline_ ? 0 : srv_->opts.body_idle_timeout.count() / 64);
  return conn_.read(dst, ec);
}

void ServerConn::first_read() {
  // Go: expectContinueReader sends "100 Continue" on the body's first read,
  // so a handler that answers without reading lets the client skip the body.
  if (!continue_) return;
  continue_ = false;
  if (!x_->w.header_sent_) x_->out += "HTTP/1.1 100 Continue\r\n\r\n";
}

void ServerConn::ended() {
  if (ctx_made_) start_watch();
}

// ---- the request's context ----

const Context& ServerConn::request_context() {
  if (!ctx_made_) {
    std::tie(ctx_, cancel_) = with_cancel(srv_->base_ctx);
    ctx_made_ = true;
    if (x_->req.body_.done()) start_watch();
  }
  return ctx_;
}

void ServerConn::start_watch() {
  // Bytes already buffered are the next pipelined request: the client is
  // there (Go's background read would have read one of them).
  if (watching_ || !x_->in.empty()) return;
  if (!watch_done_) watch_done_ = gort::chan<bool>(1);
  watching_ = true;
  gort::go([this, cancel = cancel_] {
    std::error_code ec;
    conn_.wait_readable(ec);
    bool gone = true;
    if (ec == net::errc::timed_out) {
      gone = false;  // stop_watch() ended it
    } else if (!ec) {
      // Readable: data (a pipelined request: the client is there), end of
      // stream or a pending error (it is gone).
      char b;
      ssize_t n;
      do {
        n = ::recv(conn_.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
      } while (n < 0 && errno == EINTR);
      gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    if (gone) cancel();
    watch_done_.send(true);
  });
}

void ServerConn::stop_watch() noexcept {
  if (!watching_) return;
  watching_ = false;
  // Go: abortPendingRead - a deadline in the past wakes the watch, which
  // then leaves; the deadline is set again by the next read.
  try {
    conn_.set_read_deadline(net::Clock::time_point(std::chrono::nanoseconds(1)));
  } catch (const std::system_error&) {
  }
  read_deadline_ = -1;  // matches no deadline we would ask for: the next read sets its own
  watch_done_.recv();
}

void ServerConn::end_request_context() noexcept {
  if (!ctx_made_) return;
  stop_watch();
  cancel_();  // Go: the context ends when ServeHTTP returns
  ctx_ = Context();
  cancel_ = nullptr;
  ctx_made_ = false;
}

bool ServerConn::settle_body() {
  Body& b = x_->req.body_;
  if (b.done()) return true;
  // The client waits for "100 Continue" and may never send the body: its
  // bytes cannot be told from the next request's (Go closes too).
  if (continue_) return false;
  if (b.err_) return false;
  if (b.framing_ == Body::Framing::length && b.left_ > kMaxDiscard) return false;
  // Go: discard up to 256 KiB so that the connection can be reused.
  b.set_limit(b.bytes_read() + kMaxDiscard);
  char sink[2048];
  std::error_code ec;
  while (!ec) b.read(sink, ec);
  return ec == net::errc::eof;
}

void ServerConn::reject(int status, std::string_view why) {
  // Go: the "HTTP/1.1 400 Bad Request" responses of conn.serve. The
  // connection closes after it (framing can no longer be trusted).
  std::string& out = x().out;
  std::string_view text = status_text(status);
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += text;
  out += "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n";
  out += std::to_string(status);
  out += ' ';
  out += text;
  if (!why.empty()) {
    out += ": ";
    out += why;
  }
  std::error_code ignored;
  flush(ignored);
}

// Go: readRequest. True with req_ filled in; false when the connection
// must end (`reject` says which status to answer first, 0: none).
bool ServerConn::read_request(bool first, int& reject) {
  reject = 0;
  const ServerOptions& o = srv_->opts;
  std::int64_t header_deadline = 0;
  std::error_code ec;
  // Wait for the request to start: the idle timeout applies (the header
  // timeout for the first request, as Go measures it from accept). No
  // exchange is held meanwhile.
  if (!x_ || x_->in.empty()) {
    between_ = true;
    auto keep_alive = o.idle_timeout.count() > 0 ? o.idle_timeout
                      : o.read_timeout.count() > 0 ? o.read_timeout : o.read_header_timeout;
    std::int64_t idle = after(first ? o.read_header_timeout : keep_alive);
    if (first) header_deadline = idle;
    if (!read_more(idle, ec, first ? 0 : (idle - gort::detail::nanotime()) / 64)) return false;
  }
  between_ = false;
  State s = state_.load(std::memory_order_acquire);
  if (s == closed || !state_.compare_exchange_strong(s, active, std::memory_order_acq_rel)) return false;
  Exchange& x = *x_;
  x.req.clear();
  x.req.remote_addr_ = remote_;
  x.req.conn_ = this;
  RequestReader p(x.req, o.max_header_bytes, o.max_body_bytes);
  p.eager(false);
  std::int64_t start = gort::detail::coarse_nanotime();
  // The header.
  for (;;) {
    boost::system::error_code bec;
    std::string_view d = x.in.data();
    std::size_t used = p.put(boost::asio::buffer(d.data(), d.size()), bec);
    x.in.consume(used);
    if (!bec && p.is_header_done()) break;
    if (bec && bec != boost::beast::http::error::need_more) {
      reject = p.reject_status() != 0 ? p.reject_status() : RequestReader::status_for(bec, x.in.data());
      return false;
    }
    if (header_deadline == 0) header_deadline = after(o.read_header_timeout);
    if (!read_more(header_deadline, ec)) return false;  // timeout, EOF, reset: Go closes silently
  }
  // The body: framed by Body as the handler reads it.
  request_deadline_ = o.read_timeout.count() > 0 ? start + o.read_timeout.count() : 0;
  continue_ = p.expects_continue() && x.req.version() == 11;
  if (p.chunked()) {
    x.req.body_.start(this, Body::Framing::chunked, 0, &x.req.trailer, o.max_header_bytes, o.max_body_bytes);
  } else {
    std::uint64_t len = p.content_length().value_or(0);
    x.req.body_.start(this, len > 0 ? Body::Framing::length : Body::Framing::none, len, nullptr, 0,
                      o.max_body_bytes);
  }
  if (x.req.body_.done()) continue_ = false;
  x.in.shrink(kInitialBuffer);  // a large header grew it
  return true;
}

void ServerConn::serve() {
  Server::Impl& srv = *srv_;
  try {
    remote_ = conn_.remote_address().string();
  } catch (const std::exception&) {
  }
  bool first = true;
  bool linger = false;  // we end the connection right after a response
  for (;;) {
    int status = 0;
    if (!read_request(first, status)) {
      if (status != 0) {
        reject(status, {});
        linger = true;
      }
      break;
    }
    first = false;
    Request& req = x_->req;
    ResponseWriter& w = x_->w;
    bool keep = srv.opts.keep_alives && !req.close() && !srv.shutting_down.load(std::memory_order_acquire);
    if (srv.opts.write_timeout.count() > 0) set_write_deadline(after(srv.opts.write_timeout));
    w.reset(req.method() == "HEAD", req.version() == 10, keep);
    // Go: finishRequest flushes every response, so a pipelined request's
    // answer never waits for the next request's handler.
    std::error_code ec;
    if (!flush(ec)) break;
    std::exception_ptr failure;
    try {
      srv.handler(w, req);
    } catch (...) {
      failure = std::current_exception();
    }
    end_request_context();
    if (failure) {
      srv.requests.fetch_add(1, std::memory_order_relaxed);
      linger = !w.header_sent_;
      handler_failed(w, failure);
      break;
    }
    bool reusable = w.finish(ec) && w.keep_alive_;
    srv.requests.fetch_add(1, std::memory_order_relaxed);
    if (!reusable || ec) {
      linger = !ec;
      break;
    }
    if (srv.opts.write_timeout.count() > 0) set_write_deadline(0);
    if (x_->out.size() >= kFlushAt && !flush(ec)) break;
    between_ = true;
    state_.store(idle, std::memory_order_release);
    // shutdown() may have closed us between the keep-alive decision and
    // here: read_request's CAS notices.
  }
  state_.store(closed, std::memory_order_release);
  std::error_code ec;
  flush(ec);
  give_back();
  if (linger && !ec) linger_close();
  conn_.close(ec);
}

void ServerConn::handler_failed(ResponseWriter& w, std::exception_ptr e) {
  // A body read that failed by the client's doing (malformed chunking, a
  // body over its limit, a client gone mid-body) is answered as the
  // client's error and not logged as a handler failure.
  const std::error_code body_ec = x_->req.body_.err_;
  int status = 500;
  std::string what;
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& se) {
    if (body_ec && se.code() == body_ec) {
      status = client_error_status(body_ec) != 0 ? client_error_status(body_ec) : 400;
    } else if (!w.failed_) {
      what = se.what();
    }
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
    what = "unknown exception";
  }
  if (!what.empty()) gort::detail::log_error("http: panic serving %s: %s", remote_.c_str(), what.c_str());
  if (w.header_sent_) {
    // Go: conn.serve's recover closes the connection. A response under way
    // is cut off as it is - what is buffered is sent, but no terminating
    // chunk - so the client sees a truncated message, never a complete one.
    return;
  }
  // Nothing sent yet: the client is told (Go: 500 for a panic).
  w.header_.clear();
  w.pending_.clear();
  w.status_ = 0;
  w.declared_ = -1;
  w.written_ = 0;
  w.keep_alive_ = false;
  w.write_header(status);
  if (status != 500) w.header_.set("Content-Type", "text/plain; charset=utf-8");
  std::error_code ec;
  w.write(std::to_string(status) + " " + std::string(status_text(status)) + "\n", ec);
  w.finish(ec);
}

// Go: closeWriteAndWait. Send FIN and read (discarding) for a moment, so a
// client still sending does not get an RST that would destroy the response
// before it read it.
void ServerConn::linger_close() {
  std::error_code ec;
  try {
    conn_.close_write();
  } catch (const std::system_error&) {
    return;
  }
  set_read_deadline(gort::detail::nanotime() + kLingerNs, 0);
  char sink[4096];
  std::size_t total = 0;
  while (total < (256 << 10)) {
    std::size_t n = conn_.read(sink, ec);
    if (ec) break;
    total += n;
  }
}

}  // namespace gort::http
