// listener.hpp - listening sockets and packet sockets (Go: net.Listen,
// net.Listener, net.ListenPacket, net.PacketConn, net.Dial).
//
//   auto ln = gort::net::listen("tcp", ":8888");
//   for (;;) {
//     auto conn = ln.accept();
//     gort::go([c = std::move(conn)]() mutable { serve(c); });
//   }
//
// Networks: "tcp", "tcp4", "tcp6", "unix" for listen and dial; "udp",
// "udp4", "udp6", "unixgram" for listen_packet (and dial, which returns a
// connected Conn). As in Go, listeners set SO_REUSEADDR, take their backlog
// from /proc/sys/net/core/somaxconn, and accepted TCP connections have
// no-delay on and 15 s keep-alive. accept() retries ECONNABORTED; running out
// of descriptors (EMFILE/ENFILE) is reported as a temporary error
// (is_temporary) so a server can back off and keep serving.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "gort/context.hpp"
#include "gort/net/address.hpp"
#include "gort/net/conn.hpp"

namespace gort {
class Context;
}

namespace gort::net {

struct ListenOptions {
  // SO_REUSEPORT: several listeners (one per P, or per process) on one port,
  // the reactor frameworks' multicore trick; the kernel spreads connections.
  bool reuse_port = false;
  int backlog = 0;  // 0: somaxconn, as Go
};

class Listener {
 public:
  Listener() noexcept;
  explicit Listener(std::unique_ptr<detail::NetFD> fd, bool unlink_on_close = false) noexcept;
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;
  ~Listener();

  // Go: Accept. Parks until a connection arrives or the listener is closed.
  Conn accept();
  Conn accept(std::error_code& ec) noexcept;
  // Unblocks a parked accept (which fails with errc::closed).
  void close();
  void close(std::error_code& ec) noexcept;
  const Addr& address() const;
  int native_handle() const noexcept;
  explicit operator bool() const noexcept { return fd_ != nullptr; }

 private:
  std::unique_ptr<detail::NetFD> fd_;
  bool unlink_on_close_ = false;
};

Listener listen(const std::string& network, const std::string& address, const ListenOptions& options = {});
Listener listen(const std::string& network, const std::string& address, const ListenOptions& options,
                std::error_code& ec) noexcept;

// Go: net.Dial / DialTimeout / Dialer.DialContext. Names are resolved with
// getaddrinfo; each address is tried in turn. A timeout bounds the lookup
// too: getaddrinfo cannot be interrupted, so a bounded lookup runs on a
// thread of its own, and one that outlives the timeout finishes there
// unseen (Go's cgo resolver does the same).
Conn dial(const std::string& network, const std::string& address);
Conn dial(const std::string& network, const std::string& address, std::error_code& ec) noexcept;
Conn dial(const std::string& network, const std::string& address, std::chrono::nanoseconds timeout);
Conn dial(const std::string& network, const std::string& address, std::chrono::nanoseconds timeout,
          std::error_code& ec) noexcept;
// Go: Dialer.DialContext. The context's deadline bounds the whole dial, and
// cancelling it aborts a connect in progress: the error is then
// errc::canceled ("operation was canceled") or errc::timed_out ("i/o
// timeout") for an expired deadline, as Go maps them. A context that is
// already done fails at once. Cancelling also abandons a name lookup in
// progress (as for a timeout, above); a cancel that comes just after the
// connect succeeded still fails the dial and closes the socket, because
// Go's interrupter has poisoned its write deadline (golang/go#16523).
Conn dial(const Context& ctx, const std::string& network, const std::string& address);
Conn dial(const Context& ctx, const std::string& network, const std::string& address,
          std::error_code& ec) noexcept;

// Go: net.PacketConn (UDP, unixgram).
class PacketConn {
 public:
  PacketConn() noexcept;
  explicit PacketConn(std::unique_ptr<detail::NetFD> fd) noexcept;
  PacketConn(PacketConn&&) noexcept;
  PacketConn& operator=(PacketConn&&) noexcept;
  ~PacketConn();

  // One datagram into buf (truncated if larger); `from` gets its sender.
  std::size_t read_from(std::span<char> buf, Addr& from);
  std::size_t read_from(std::span<char> buf, Addr& from, std::error_code& ec) noexcept;
  std::size_t write_to(std::span<const char> buf, const Addr& to);
  std::size_t write_to(std::span<const char> buf, const Addr& to, std::error_code& ec) noexcept;
  void close();
  void set_deadline(Clock::time_point t);
  void set_read_deadline(Clock::time_point t);
  void set_write_deadline(Clock::time_point t);
  const Addr& local_address() const;
  int native_handle() const noexcept;

 private:
  std::unique_ptr<detail::NetFD> fd_;
};

PacketConn listen_packet(const std::string& network, const std::string& address);
PacketConn listen_packet(const std::string& network, const std::string& address, std::error_code& ec) noexcept;

// Resolves an address for write_to (Go: net.ResolveUDPAddr).
Addr resolve_addr(const std::string& network, const std::string& address);

// Go: err.(net.Error).Temporary() for accept: out of descriptors or memory.
bool is_temporary(const std::error_code& ec) noexcept;

}  // namespace gort::net
