// conn.cpp - see conn.hpp.
#include "gort/net/conn.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "gort/net/detail/net_fd.hpp"
#include "gort/scheduler/nanotime.hpp"

namespace gort::net {

Conn::Conn() noexcept = default;
Conn::Conn(std::unique_ptr<detail::NetFD> fd) noexcept : fd_(std::move(fd)) {}
Conn::Conn(Conn&&) noexcept = default;
Conn& Conn::operator=(Conn&& o) noexcept {
  if (this != &o) {
    std::error_code ignored;
    close(ignored);
    fd_ = std::move(o.fd_);
  }
  return *this;
}
Conn::~Conn() {
  std::error_code ignored;
  close(ignored);
}

detail::NetFD& Conn::fd() const {
  if (!fd_) throw std::system_error(make_error_code(errc::closed), "gort::net::Conn: not connected");
  return *fd_;
}

std::string Conn::op_text(const char* op) const {
  if (!fd_) return op;
  return std::string(op) + " " + fd_->net() + " " + fd_->laddr.string() + "->" + fd_->raddr.string();
}

void Conn::throw_op(const char* op, std::error_code ec) const {
  throw op_error(op, fd_ ? fd_->net() : "", fd_ ? fd_->laddr.string() : "", fd_ ? fd_->raddr.string() : "", ec);
}

std::size_t Conn::read(std::span<char> buf) {
  std::error_code ec;
  std::size_t n = read(buf, ec);
  if (ec) throw_op("read", ec);
  return n;
}

std::size_t Conn::read(std::span<char> buf, std::error_code& ec) noexcept {
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return 0;
  }
  return fd_->read(buf.data(), buf.size(), ec);
}

std::size_t Conn::read(LazyBuffer& buf, std::error_code& ec) noexcept {
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return 0;
  }
  return fd_->read_lazy(buf, ec);
}

std::size_t Conn::write(std::span<const char> buf) {
  std::error_code ec;
  std::size_t n = write(buf, ec);
  if (ec) throw_op("write", ec);
  return n;
}

std::size_t Conn::write(std::span<const char> buf, std::error_code& ec) noexcept {
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return 0;
  }
  return fd_->write(buf.data(), buf.size(), ec);
}

void Conn::wait_readable() {
  std::error_code ec;
  wait_readable(ec);
  if (ec) throw_op("read", ec);
}

void Conn::wait_readable(std::error_code& ec) noexcept {
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return;
  }
  fd_->wait_ready('r', ec);
}

void Conn::wait_writable() {
  std::error_code ec;
  wait_writable(ec);
  if (ec) throw_op("write", ec);
}

void Conn::wait_writable(std::error_code& ec) noexcept {
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return;
  }
  fd_->wait_ready('w', ec);
}

std::size_t Conn::readv_impl(const iovec* iov, int n, std::error_code& ec) noexcept {
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return 0;
  }
  if (n == 1) return fd_->read(iov[0].iov_base, iov[0].iov_len, ec);
  return fd_->readv(iov, n, ec);
}

std::size_t Conn::writev_impl(const iovec* iov, int n, std::error_code& ec) noexcept {
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return 0;
  }
  if (n == 1) return fd_->write(iov[0].iov_base, iov[0].iov_len, ec);
  return fd_->writev(iov, n, ec);
}

boost::system::error_code Conn::to_asio(const std::error_code& e) noexcept {
  if (!e) return {};
  if (e == errc::eof) return boost::asio::error::eof;
  if (e == errc::closed) return boost::asio::error::operation_aborted;
  if (e == errc::timed_out) return boost::asio::error::timed_out;
  if (e.category() == std::generic_category() || e.category() == std::system_category()) {
    return {e.value(), boost::system::system_category()};
  }
  return boost::asio::error::fault;
}

void Conn::close() {
  std::error_code ec;
  close(ec);
  if (ec) throw_op("close", ec);
}

void Conn::close(std::error_code& ec) noexcept {
  ec.clear();
  if (!fd_) return;
  fd_->close(ec);
}

void Conn::close_read() {
  std::error_code ec;
  close_read(ec);
  if (ec) throw_op("close", ec);
}

void Conn::close_read(std::error_code& ec) noexcept {
  ec.clear();
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return;
  }
  fd_->shutdown(SHUT_RD, ec);
}

void Conn::close_write() {
  std::error_code ec;
  close_write(ec);
  if (ec) throw_op("close", ec);
}

void Conn::close_write(std::error_code& ec) noexcept {
  ec.clear();
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return;
  }
  fd_->shutdown(SHUT_WR, ec);
}

void Conn::deadline(Clock::time_point t, int mode) {
  std::int64_t d = 0;
  if (t != no_deadline) {
    d = t.time_since_epoch().count();  // steady_clock is the runtime's clock (nanotime)
    if (d <= gort::detail::nanotime()) d = -1;  // already passed: not "no deadline"
  }
  std::error_code ec;
  fd().set_deadline(d, mode, ec);
  if (ec) throw_op("set deadline", ec);
}

void Conn::set_deadline(Clock::time_point t) { deadline(t, 'r' + 'w'); }
void Conn::set_read_deadline(Clock::time_point t) { deadline(t, 'r'); }
void Conn::set_write_deadline(Clock::time_point t) { deadline(t, 'w'); }

void Conn::set_no_delay(bool on) {
  std::error_code ec;
  fd().setsockopt_int(IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, ec);
  if (ec) throw_op("set", ec);
}

void Conn::set_keep_alive(bool on) {
  std::error_code ec;
  fd().setsockopt_int(SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0, ec);
  if (ec) throw_op("set", ec);
}

void Conn::set_keep_alive_period(std::chrono::seconds period) {
  std::error_code ec;
  int secs = static_cast<int>(period.count() < 1 ? 1 : period.count());
  fd().setsockopt_int(IPPROTO_TCP, TCP_KEEPIDLE, secs, ec);
  if (!ec) fd().setsockopt_int(IPPROTO_TCP, TCP_KEEPINTVL, secs, ec);
  if (ec) throw_op("set", ec);
}

const Addr& Conn::local_address() const { return fd().laddr; }
const Addr& Conn::remote_address() const { return fd().raddr; }
int Conn::native_handle() const noexcept { return fd_ ? fd_->sysfd() : -1; }
bool Conn::is_open() const noexcept { return fd_ && !fd_->closed_by_us(); }

}  // namespace gort::net
