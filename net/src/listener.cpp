// listener.cpp - listen, accept, dial, packet sockets (Go: net/sock_posix.go,
// net/tcpsock_posix.go, net/fd_unix.go, net/dial.go).
#include "gort/net/listener.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>

#include "gort/go.hpp"
#include "gort/net/detail/net_fd.hpp"
#include "gort/select.hpp"
#include "gort/wait_group.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "lookup.hpp"

namespace gort::net {

void (*detail::test_hook_dial_connected)() = nullptr;

namespace {

using detail::NetFD;

bool is_stream_net(const std::string& n) { return n.rfind("tcp", 0) == 0 || n == "unix"; }
bool is_tcp(const std::string& n) { return n.rfind("tcp", 0) == 0; }
bool is_unix(const std::string& n) { return n == "unix" || n == "unixgram"; }

// Go: maxListenerBacklog (read once).
int somaxconn() {
  static int n = [] {
    std::ifstream f("/proc/sys/net/core/somaxconn");
    int v = 0;
    if (!(f >> v) || v <= 0) v = SOMAXCONN;
    return v > 65535 ? 65535 : v;
  }();
  return n;
}

std::error_code sys_err(int e) { return {e, std::generic_category()}; }

// Go: newTCPConn + setKeepAlive (15 s default).
void tcp_defaults(NetFD& fd) {
  std::error_code ignored;
  fd.setsockopt_int(IPPROTO_TCP, TCP_NODELAY, 1, ignored);
  fd.setsockopt_int(SOL_SOCKET, SO_KEEPALIVE, 1, ignored);
  fd.setsockopt_int(IPPROTO_TCP, TCP_KEEPIDLE, 15, ignored);
  fd.setsockopt_int(IPPROTO_TCP, TCP_KEEPINTVL, 15, ignored);
  fd.setsockopt_int(IPPROTO_TCP, TCP_KEEPCNT, 9, ignored);
}

[[noreturn]] void throw_ec(std::error_code ec, const std::string& what) { throw std::system_error(ec, what); }


struct Failure {
  std::error_code ec;
  std::string what;            // for errors that are not an OpError (resolution)
  const char* call = nullptr;  // the failing syscall
  bool op = false;             // an OpError: "listen <net> <addr>: <call>: <cause>"
};

[[noreturn]] void throw_failure(const Failure& f, const std::string& network, const std::string& address) {
  if (f.op) throw op_error("listen", network, "", address, f.ec, f.call);
  throw std::system_error(f.ec, f.what);
}

std::unique_ptr<NetFD> listen_impl(const std::string& network, const std::string& address,
                                   const ListenOptions& opt, bool packet, Failure& f, bool& unlink_on_close) {
  std::string err;
  auto addrs = resolve(network, address, true, f.ec, err);
  if (f.ec) {
    f.what = "listen " + network + " " + address + ": " + err;
    return nullptr;
  }
  const Addr& a = addrs.front();
  int sotype = packet ? SOCK_DGRAM : SOCK_STREAM;
  int fd = detail::sys_socket(a.family(), sotype, 0, f.ec);
  if (fd < 0) {
    f.call = "socket";
    f.op = true;
    return nullptr;
  }
  auto fail = [&](const char* call) -> std::unique_ptr<NetFD> {
    f.ec = sys_err(errno);
    f.call = call;
    f.op = true;
    ::close(fd);
    return nullptr;
  };
  int one = 1;
  if (!is_unix(network)) {
    // Go: setDefaultListenerSockopts (SO_REUSEADDR), and a dual-stack socket
    // for the "tcp"/"udp" wildcard.
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return fail("setsockopt");
    if (a.family() == AF_INET6) {
      int v6only = network.back() == '6' ? 1 : 0;
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
  }
  if (opt.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) return fail("setsockopt");
  if (::bind(fd, a.data(), a.size()) != 0) return fail("bind");
  unlink_on_close = is_unix(network) && !address.empty() && address[0] != '@';
  if (!packet && ::listen(fd, opt.backlog > 0 ? opt.backlog : somaxconn()) != 0) return fail("listen");
  auto nfd = NetFD::open(fd, a.family(), sotype, network, f.ec);
  if (!nfd) {
    f.op = true;
    return nullptr;
  }
  nfd->set_addrs();
  return nfd;
}

}  // namespace

bool is_temporary(const std::error_code& ec) noexcept {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
         ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory || is_timeout(ec);
}

// ---- Listener ----

Listener::Listener() noexcept = default;
Listener::Listener(std::unique_ptr<NetFD> fd, bool unlink_on_close) noexcept
    : fd_(std::move(fd)), unlink_on_close_(unlink_on_close) {}
Listener::Listener(Listener&&) noexcept = default;
Listener& Listener::operator=(Listener&& o) noexcept {
  if (this != &o) {
    std::error_code ignored;
    close(ignored);
    fd_ = std::move(o.fd_);
    unlink_on_close_ = o.unlink_on_close_;
  }
  return *this;
}
Listener::~Listener() {
  std::error_code ignored;
  close(ignored);
}

Listener listen(const std::string& network, const std::string& address, const ListenOptions& options) {
  Failure f;
  bool unlink = false;
  if (!is_stream_net(network)) throw_ec(std::make_error_code(std::errc::address_family_not_supported), "listen " + network + " " + address + ": unknown network");
  auto fd = listen_impl(network, address, options, false, f, unlink);
  if (!fd) throw_failure(f, network, address);
  return Listener(std::move(fd), unlink);
}

Listener listen(const std::string& network, const std::string& address, const ListenOptions& options,
                std::error_code& ec) noexcept {
  try {
    Listener l = listen(network, address, options);
    ec.clear();
    return l;
  } catch (const std::system_error& e) {
    ec = e.code();
  } catch (...) {
    ec = std::make_error_code(std::errc::not_enough_memory);
  }
  return Listener();
}

Conn Listener::accept(std::error_code& ec) noexcept {
  ec.clear();
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return Conn();
  }
  sockaddr_storage from;
  socklen_t len;
  const char* call = nullptr;
  int s = fd_->accept(&from, &len, ec, &call);
  if (s < 0) return Conn();
  try {
    auto nfd = NetFD::open(s, fd_->family(), SOCK_STREAM, fd_->net(), ec);
    if (!nfd) return Conn();
    nfd->set_addrs();
    if (is_tcp(fd_->net())) tcp_defaults(*nfd);
    return Conn(std::move(nfd));
  } catch (...) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    return Conn();
  }
}

Conn Listener::accept() {
  std::error_code ec;
  Conn c = accept(ec);
  if (ec) {
    // Go: "accept tcp 127.0.0.1:8888: accept4: too many open files".
    bool syscall = ec.category() == std::generic_category();
    throw op_error("accept", fd_ ? fd_->net() : "", "", fd_ ? fd_->laddr.string() : "", ec,
                   syscall ? "accept4" : nullptr);
  }
  return c;
}

void Listener::close() {
  std::error_code ec;
  close(ec);
  if (ec) throw op_error("close", fd_ ? fd_->net() : "", "", fd_ ? fd_->laddr.string() : "", ec);
}

void Listener::close(std::error_code& ec) noexcept {
  ec.clear();
  if (!fd_ || fd_->closed_by_us()) return;
  std::string path = unlink_on_close_ ? fd_->laddr.path() : std::string();
  fd_->close(ec);
  if (!path.empty()) ::unlink(path.c_str());  // Go: UnixListener removes its socket file
}

const Addr& Listener::address() const {
  if (!fd_) throw_ec(make_error_code(errc::closed), "listener not open");
  return fd_->laddr;
}

int Listener::native_handle() const noexcept { return fd_ ? fd_->sysfd() : -1; }

// ---- dial ----

Conn dial(const std::string& network, const std::string& address) {
  return dial(network, address, std::chrono::nanoseconds(0));
}

namespace {

// Go: context's errors as net reports them (net.mapErr).
std::error_code map_ctx_err(const std::error_code& e) {
  return e == gort::errc::deadline_exceeded ? make_error_code(errc::timed_out) : make_error_code(errc::canceled);
}

// Go: sysDialer.dialSerial + netFD.connect. deadline: absolute nanotime or
// 0. With a cancelable ctx, a watcher fiber turns its cancellation into an
// expired write deadline on the connecting socket (Go: the interrupter
// goroutine setting aLongTimeAgo), and the connect's timeout is then
// reported as the context's error.
Conn dial_impl(const std::string& network, const std::string& address, std::int64_t deadline, const Context* ctx) {
  std::error_code ec;
  std::string err;
  auto addrs = detail::resolve_bounded(network, address, false, ec, err, ctx, deadline);
  if (ec) throw_ec(ec, "dial " + network + " " + address + ": " + err);
  bool packet = network.rfind("udp", 0) == 0 || network == "unixgram";
  std::optional<OpError> first;
  for (const Addr& a : addrs) {
    std::string where = is_unix(network) ? address : a.string();
    if (ctx != nullptr && ctx->err()) {
      if (!first) first.emplace(op_error("dial", network, "", where, map_ctx_err(ctx->err())));
      break;
    }
    if (deadline != 0 && gort::detail::nanotime() >= deadline) {
      if (!first) first.emplace(op_error("dial", network, "", where, make_error_code(errc::timed_out)));
      break;
    }
    int fd = detail::sys_socket(a.family(), packet ? SOCK_DGRAM : SOCK_STREAM, 0, ec);
    if (fd < 0) throw op_error("dial", network, "", where, ec, "socket");
    auto nfd = NetFD::open(fd, a.family(), packet ? SOCK_DGRAM : SOCK_STREAM, network, ec);
    if (!nfd) throw op_error("dial", network, "", where, ec);
    const char* call = nullptr;
    DoneChan done = ctx != nullptr ? ctx->done() : DoneChan();
    if (done) {
      chan<std::monostate> stop(0);
      WaitGroup wg;
      wg.add(1);
      NetFD* raw = nfd.get();
      bool fired = false;  // written by the watcher before wg.done(), read after wg.wait()
      gort::go([done, stop, raw, &wg, &fired] {
        if (select(recv(done), recv(stop)) == 0) {
          std::error_code ignored;
          raw->set_deadline(-1, 'w', ignored);
          fired = true;
        }
        wg.done();
      });
      nfd->connect(a.data(), a.size(), deadline, ec, &call);
      if (detail::test_hook_dial_connected != nullptr) detail::test_hook_dial_connected();
      stop.close();
      wg.wait();  // the watcher no longer touches nfd
      // Go (golang/go#16523): once the interrupter fired, the connection's
      // write deadline is poisoned even if connect won the race, so the dial
      // fails with the ctx's error and the fd is closed.
      if (fired || (ec && ctx->err())) {
        ec = map_ctx_err(ctx->err());
        call = nullptr;
      }
    } else {
      nfd->connect(a.data(), a.size(), deadline, ec, &call);
    }
    if (!ec) {
      nfd->set_addrs();
      if (is_tcp(network)) tcp_defaults(*nfd);
      return Conn(std::move(nfd));
    }
    if (!first) first.emplace(op_error("dial", network, "", where, ec, call));
  }
  throw *first;
}

std::int64_t deadline_of(const Context& ctx) {
  auto d = ctx.deadline();
  if (!d) return 0;
  std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d->time_since_epoch()).count();
  return ns > 0 ? ns : 1;  // 0 means none; a deadline at the epoch has passed
}

}  // namespace

Conn dial(const std::string& network, const std::string& address, std::chrono::nanoseconds timeout) {
  std::int64_t deadline = timeout.count() > 0 ? gort::detail::nanotime() + timeout.count() : 0;
  return dial_impl(network, address, deadline, nullptr);
}

Conn dial(const Context& ctx, const std::string& network, const std::string& address) {
  if (auto e = ctx.err()) throw op_error("dial", network, "", address, map_ctx_err(e));
  return dial_impl(network, address, deadline_of(ctx), &ctx);
}

Conn dial(const Context& ctx, const std::string& network, const std::string& address, std::error_code& ec) noexcept {
  try {
    Conn c = dial(ctx, network, address);
    ec.clear();
    return c;
  } catch (const std::system_error& e) {
    ec = e.code();
  } catch (...) {
    ec = std::make_error_code(std::errc::not_enough_memory);
  }
  return Conn();
}

Conn dial(const std::string& network, const std::string& address, std::error_code& ec) noexcept {
  return dial(network, address, std::chrono::nanoseconds(0), ec);
}

Conn dial(const std::string& network, const std::string& address, std::chrono::nanoseconds timeout,
          std::error_code& ec) noexcept {
  try {
    Conn c = dial(network, address, timeout);
    ec.clear();
    return c;
  } catch (const std::system_error& e) {
    ec = e.code();
  } catch (...) {
    ec = std::make_error_code(std::errc::not_enough_memory);
  }
  return Conn();
}

// ---- packet sockets ----

PacketConn::PacketConn() noexcept = default;
PacketConn::PacketConn(std::unique_ptr<NetFD> fd) noexcept : fd_(std::move(fd)) {}
PacketConn::PacketConn(PacketConn&&) noexcept = default;
PacketConn& PacketConn::operator=(PacketConn&& o) noexcept {
  if (this != &o) {
    if (fd_) {
      std::error_code ignored;
      fd_->close(ignored);
    }
    fd_ = std::move(o.fd_);
  }
  return *this;
}
PacketConn::~PacketConn() {
  if (fd_ && !fd_->closed_by_us()) {
    std::error_code ignored;
    fd_->close(ignored);
  }
}

PacketConn listen_packet(const std::string& network, const std::string& address) {
  Failure f;
  bool unlink = false;
  if (network.rfind("udp", 0) != 0 && network != "unixgram") {
    throw_ec(std::make_error_code(std::errc::address_family_not_supported), "listen " + network + " " + address + ": unknown network");
  }
  auto fd = listen_impl(network, address, ListenOptions{}, true, f, unlink);
  if (!fd) throw_failure(f, network, address);
  return PacketConn(std::move(fd));
}

PacketConn listen_packet(const std::string& network, const std::string& address, std::error_code& ec) noexcept {
  try {
    PacketConn p = listen_packet(network, address);
    ec.clear();
    return p;
  } catch (const std::system_error& e) {
    ec = e.code();
  } catch (...) {
    ec = std::make_error_code(std::errc::not_enough_memory);
  }
  return PacketConn();
}

std::size_t PacketConn::read_from(std::span<char> buf, Addr& from, std::error_code& ec) noexcept {
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return 0;
  }
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  std::size_t n = fd_->read_from(buf.data(), buf.size(), &ss, &len, ec);
  if (!ec) from = Addr(fd_->net(), reinterpret_cast<sockaddr*>(&ss), len);
  return n;
}

std::size_t PacketConn::read_from(std::span<char> buf, Addr& from) {
  std::error_code ec;
  std::size_t n = read_from(buf, from, ec);
  if (ec) throw op_error("read", fd_ ? fd_->net() : "", "", fd_ ? fd_->laddr.string() : "", ec);
  return n;
}

std::size_t PacketConn::write_to(std::span<const char> buf, const Addr& to, std::error_code& ec) noexcept {
  if (!fd_) {
    ec = make_error_code(errc::closed);
    return 0;
  }
  return fd_->write_to(buf.data(), buf.size(), to.data(), to.size(), ec);
}

std::size_t PacketConn::write_to(std::span<const char> buf, const Addr& to) {
  std::error_code ec;
  std::size_t n = write_to(buf, to, ec);
  if (ec) throw op_error("write", fd_ ? fd_->net() : "", fd_ ? fd_->laddr.string() : "", to.string(), ec);
  return n;
}

void PacketConn::close() {
  if (!fd_) return;
  std::error_code ec;
  fd_->close(ec);
  if (ec) throw op_error("close", fd_->net(), "", fd_->laddr.string(), ec);
}

namespace {
void packet_deadline(NetFD* fd, Clock::time_point t, int mode) {
  if (!fd) throw_ec(make_error_code(errc::closed), "set deadline");
  std::int64_t d = 0;
  if (t != no_deadline) {
    d = t.time_since_epoch().count();
    if (d <= gort::detail::nanotime()) d = -1;
  }
  std::error_code ec;
  fd->set_deadline(d, mode, ec);
  if (ec) throw op_error("set deadline", fd->net(), "", fd->laddr.string(), ec);
}
}  // namespace

void PacketConn::set_deadline(Clock::time_point t) { packet_deadline(fd_.get(), t, 'r' + 'w'); }
void PacketConn::set_read_deadline(Clock::time_point t) { packet_deadline(fd_.get(), t, 'r'); }
void PacketConn::set_write_deadline(Clock::time_point t) { packet_deadline(fd_.get(), t, 'w'); }

const Addr& PacketConn::local_address() const {
  if (!fd_) throw_ec(make_error_code(errc::closed), "packet conn not open");
  return fd_->laddr;
}

int PacketConn::native_handle() const noexcept { return fd_ ? fd_->sysfd() : -1; }

Addr resolve_addr(const std::string& network, const std::string& address) {
  std::error_code ec;
  std::string err;
  auto addrs = resolve(network, address, false, ec, err);
  if (ec) throw_ec(ec, "resolve " + network + " " + address + ": " + err);
  return addrs.front();
}

}  // namespace gort::net
