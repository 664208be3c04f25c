// address.cpp - see address.hpp.
#include "gort/net/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/un.h>

#include <cstring>

#include "gort/blocking.hpp"
#include "lookup.hpp"
#include "gort/net/error.hpp"

namespace gort::net {

Addr::Addr(std::string_view network, const sockaddr* sa, socklen_t len) {
  std::size_t nl = network.size() < sizeof network_ ? network.size() : sizeof network_ - 1;
  std::memcpy(network_, network.data(), nl);
  len_ = len < sizeof(sockaddr_storage) ? len : static_cast<socklen_t>(sizeof(sockaddr_storage));
  if (len_ <= sizeof inline_) {
    std::memcpy(&inline_, sa, len_);
  } else {
    big_ = std::make_unique<sockaddr_storage>();
    std::memcpy(big_.get(), sa, len_);
  }
}

Addr::Addr(const Addr& o) : inline_(o.inline_), len_(o.len_) {
  std::memcpy(network_, o.network_, sizeof network_);
  if (o.big_) big_ = std::make_unique<sockaddr_storage>(*o.big_);
}

Addr& Addr::operator=(const Addr& o) {
  if (this != &o) *this = Addr(o);
  return *this;
}

bool Addr::is_ip() const noexcept { return family() == AF_INET || family() == AF_INET6; }

boost::asio::ip::address Addr::ip() const {
  if (family() == AF_INET) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(data());
    return boost::asio::ip::address_v4(ntohl(sin->sin_addr.s_addr));
  }
  if (family() == AF_INET6) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(data());
    boost::asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), &sin6->sin6_addr, 16);
    return boost::asio::ip::address_v6(b, sin6->sin6_scope_id);
  }
  return {};
}

std::uint16_t Addr::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(data())->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(data())->sin6_port);
  return 0;
}

std::string Addr::path() const {
  if (family() != AF_UNIX || len_ <= offsetof(sockaddr_un, sun_path)) return {};
  auto* sun = reinterpret_cast<const sockaddr_un*>(data());
  std::size_t n = len_ - offsetof(sockaddr_un, sun_path);
  std::string p(sun->sun_path, n);
  if (!p.empty() && p[0] == '\0') return "@" + p.substr(1);  // abstract namespace, as Go prints it
  return std::string(p.c_str());
}

std::string Addr::string() const {
  if (len_ == 0) return {};
  if (family() == AF_UNIX) return path();
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(data())->sin_addr, buf, sizeof buf);
  } else {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(data());
    // An IPv4-mapped IPv6 address prints as IPv4, as Go does.
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
      inet_ntop(AF_INET, reinterpret_cast<const char*>(&sin6->sin6_addr) + 12, buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
    }
  }
  return join_host_port(buf, std::to_string(port()));
}

bool split_host_port(std::string_view hp, std::string& host, std::string& port, std::string& err) {
  auto fail = [&](const char* why) {
    err = std::string("address ") + std::string(hp) + ": " + why;  // before hp's storage may change
    host.clear();
    port.clear();
    return false;
  };
  std::size_t colon = hp.rfind(':');
  if (colon == std::string_view::npos) return fail("missing port in address");
  std::size_t j = 0, k = 0;  // no '[' from j on, no ']' from k on (Go's j, k)
  std::string_view h;
  if (!hp.empty() && hp[0] == '[') {
    std::size_t end = hp.find(']');
    if (end == std::string_view::npos) return fail("missing ']' in address");
    // The ']' must come just before the last ':' (Go's three cases).
    if (end + 1 == hp.size()) return fail("missing port in address");
    if (end + 1 != colon) return fail(hp[end + 1] == ':' ? "too many colons in address" : "missing port in address");
    h = hp.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    h = hp.substr(0, colon);
    if (h.find(':') != std::string_view::npos) return fail("too many colons in address");
  }
  // Go rejects stray brackets too: "[[a]:80" or "a]:80" would otherwise give
  // a host that join_host_port cannot give back.
  if (hp.find('[', j) != std::string_view::npos) return fail("unexpected '[' in address");
  if (hp.find(']', k) != std::string_view::npos) return fail("unexpected ']' in address");
  std::string out_host(h), out_port(hp.substr(colon + 1));  // hp may view host or port
  host = std::move(out_host);
  port = std::move(out_port);
  return true;
}

std::string join_host_port(std::string_view host, std::string_view port) {
  if (host.find(':') != std::string_view::npos) return "[" + std::string(host) + "]:" + std::string(port);
  return std::string(host) + ":" + std::string(port);
}

namespace {

bool is_unix(const std::string& network) { return network == "unix" || network == "unixgram" || network == "unixpacket"; }

int family_of(const std::string& network) {
  char last = network.empty() ? 0 : network.back();
  if (last == '4') return AF_INET;
  if (last == '6') return AF_INET6;
  return AF_UNSPEC;
}

}  // namespace

std::vector<Addr> resolve(const std::string& network, const std::string& address, bool passive,
                          std::error_code& ec, std::string& err) {
  return detail::resolve_bounded(network, address, passive, ec, err, nullptr, 0);
}

std::vector<Addr> detail::resolve_bounded(const std::string& network, const std::string& address, bool passive,
                                          std::error_code& ec, std::string& err, const Context* ctx,
                                          std::int64_t deadline) {
  ec.clear();
  std::vector<Addr> out;
  if (is_unix(network)) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (address.size() >= sizeof sun.sun_path) {
      ec = std::make_error_code(std::errc::filename_too_long);
      err = "unix address too long";
      return out;
    }
    std::memcpy(sun.sun_path, address.data(), address.size());
    if (!address.empty() && address[0] == '@') sun.sun_path[0] = '\0';  // Linux abstract namespace
    bool abstract = !address.empty() && address[0] == '@';
    // An empty path is the unnamed address (Go: a SockaddrUnix without a
    // name): bind autobinds, and the Addr prints as "". With the terminating
    // NUL counted it would be the abstract name "\0" instead.
    std::size_t nul = abstract || address.empty() ? 0 : 1;
    out.emplace_back(network, reinterpret_cast<sockaddr*>(&sun),
                     static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() + nul));
    return out;
  }
  bool stream = network.rfind("tcp", 0) == 0;
  bool dgram = network.rfind("udp", 0) == 0;
  if (!stream && !dgram) {
    ec = std::make_error_code(std::errc::address_family_not_supported);
    err = "unknown network " + network;
    return out;
  }
  std::string host, port;
  if (!split_host_port(address, host, port, err)) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return out;
  }
  // Go: parsePort. getaddrinfo takes any number and keeps its low 16 bits
  // (":65616" would be port 80).
  std::string_view digits = std::string_view(port).substr(std::min(port.find_first_not_of('0'), port.size()));
  if (!port.empty() && port.find_first_not_of("0123456789") == std::string::npos &&
      (digits.size() > 5 || (!digits.empty() && std::stoul(std::string(digits)) > 65535))) {
    ec = std::make_error_code(std::errc::invalid_argument);
    err = "address " + port + ": invalid port";
    return out;
  }
  int family = family_of(network);
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = stream ? SOCK_STREAM : SOCK_DGRAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  if (host.empty() && passive) {
    // The wildcard: Go listens on [::] (dual stack) for "tcp", 0.0.0.0 for "tcp4".
    hints.ai_family = family == AF_UNSPEC ? AF_INET6 : family;
  }
  // IP literals need no resolver; names are looked up in a blocking section.
  unsigned char probe[sizeof(in6_addr)];
  bool literal = inet_pton(AF_INET, host.c_str(), probe) == 1 || inet_pton(AF_INET6, host.c_str(), probe) == 1;
  if (literal) hints.ai_flags |= AI_NUMERICHOST;
  addrinfo* res = nullptr;
  int rc;
  if (literal || host.empty()) {
    rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
  } else {
    std::error_code abandoned;
    rc = detail::getaddrinfo_bounded(host, port, hints, &res, ctx, deadline, abandoned);
    if (abandoned) {
      ec = abandoned;
      err = "lookup " + host + ": " + abandoned.message();
      return out;
    }
  }
  if (rc != 0) {
    ec = rc == EAI_SYSTEM ? std::error_code(errno, std::generic_category())
                          : std::make_error_code(std::errc::host_unreachable);
    err = "lookup " + host + ": " + gai_strerror(rc);
    if (rc == EAI_SERVICE) err = "unknown port " + port;
    return out;
  }
  // Go prefers IPv4 for "tcp"/"udp" when a name has both.
  for (int pass = 0; pass < 2; pass++) {
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      bool v4 = ai->ai_family == AF_INET;
      if ((pass == 0) != v4) continue;
      out.emplace_back(network, ai->ai_addr, ai->ai_addrlen);
    }
  }
  freeaddrinfo(res);
  if (out.empty()) {
    ec = std::make_error_code(std::errc::address_not_available);
    err = "no suitable address found";
  }
  return out;
}

}  // namespace gort::net
