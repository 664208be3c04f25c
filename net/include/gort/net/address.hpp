// address.hpp - network addresses (Go: net.Addr, TCPAddr, UDPAddr, UnixAddr,
// SplitHostPort, JoinHostPort) with conversions to Asio's endpoint types.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace gort::net {

// Compact, since every connection holds two: IP addresses are stored inline
// (56 bytes in all); only unix socket paths go to the heap.
class Addr {
 public:
  Addr() = default;
  Addr(std::string_view network, const sockaddr* sa, socklen_t len);
  Addr(const Addr& o);
  Addr& operator=(const Addr& o);
  Addr(Addr&&) noexcept = default;
  Addr& operator=(Addr&&) noexcept = default;

  // "tcp", "tcp4", "tcp6", "udp", ..., "unix", "unixgram", "unixpacket".
  std::string_view network() const noexcept { return network_; }
  // "127.0.0.1:8080", "[::1]:80", "/run/app.sock" (Go's Addr.String()).
  std::string string() const;
  bool empty() const noexcept { return len_ == 0; }
  bool is_ip() const noexcept;
  boost::asio::ip::address ip() const;
  std::uint16_t port() const noexcept;
  boost::asio::ip::tcp::endpoint tcp_endpoint() const { return {ip(), port()}; }
  boost::asio::ip::udp::endpoint udp_endpoint() const { return {ip(), port()}; }
  std::string path() const;  // unix sockets

  const sockaddr* data() const noexcept { return big_ ? reinterpret_cast<const sockaddr*>(big_.get()) : &inline_.sa; }
  socklen_t size() const noexcept { return len_; }
  int family() const noexcept { return data()->sa_family; }

 private:
  union Inline {
    sockaddr sa;
    sockaddr_in in4;
    sockaddr_in6 in6;
  };
  std::unique_ptr<sockaddr_storage> big_;  // an address larger than Inline
  Inline inline_{};
  socklen_t len_ = 0;
  char network_[12] = {};
};

// Go: net.SplitHostPort. False (and a Go-style message in err) if malformed.
bool split_host_port(std::string_view hostport, std::string& host, std::string& port, std::string& err);
// Go: net.JoinHostPort: brackets IPv6 literals.
std::string join_host_port(std::string_view host, std::string_view port);

// Resolves "host:port" (or a path for unix networks) for `network`. IP
// literals and empty hosts resolve at once; names go through getaddrinfo in a
// gort::blocking section, so the fiber's P moves on while the resolver works.
// `passive`: an empty host means the wildcard address (for listening) rather
// than the local host. IPv4 results come first for "tcp"/"udp".
std::vector<Addr> resolve(const std::string& network, const std::string& address, bool passive,
                          std::error_code& ec, std::string& err);

}  // namespace gort::net
