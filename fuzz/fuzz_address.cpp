// fuzz_address - gort::net's address parsing and printing (gort/net/address.hpp):
// split_host_port, join_host_port, resolve for IP literals and unix paths,
// and Addr built from raw sockaddr bytes.
//
// Input: [mode][rest]. Modes:
//   0  split_host_port(rest). Invariants: a failure says why ("address ...:
//      ..."); a success gives a port without ':', and joining host and port
//      gives the input back (or its bracketed form, "[h]:p" for a host
//      without ':'), which splits again into the same host and port.
//   1  join_host_port(host, port) with host and port cut from rest (at the
//      first NUL): whenever neither has '[' or ']' and the port has no ':',
//      splitting the result gives host and port back.
//   2  resolve(network, rest, passive) for IP literals (or an empty host) and
//      numeric ports only (no DNS from a fuzzer) and for unix paths: every
//      Addr has the network asked for, the port asked for, prints as
//      "host:port" that splits and resolves again to the same socket
//      address; a unix Addr gives its path back; a copy equals the original.
//   3  Addr(network, raw sockaddr bytes): the accessors (string, ip, port,
//      path, family) never read out of bounds; network() is the given name,
//      cut at 11 bytes or a NUL; an IP Addr prints as a splittable
//      "host:port" with its port.
#include <arpa/inet.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "gort/net/address.hpp"
#include "support/check.hpp"

namespace {

using gort::net::Addr;
using gort::net::join_host_port;
using gort::net::split_host_port;

bool has_any(std::string_view s, std::string_view chars) { return s.find_first_of(chars) != std::string_view::npos; }

void split_join(std::string_view x) {
  std::string host = "stale", port = "stale", err;
  if (!split_host_port(x, host, port, err)) {
    FUZZ_CHECK(err.starts_with("address "));
    return;
  }
  FUZZ_CHECK(err.empty());
  FUZZ_CHECK(port.find(':') == std::string::npos);
  std::string joined = join_host_port(host, port);
  FUZZ_CHECK(joined == x || "[" + host + "]:" + port == x);
  std::string h2, p2;
  FUZZ_CHECK(split_host_port(joined, h2, p2, err));
  FUZZ_CHECK(h2 == host && p2 == port);
}

void join_split(std::string_view rest) {
  std::size_t cut = rest.find('\0');
  std::string_view host = rest.substr(0, cut);
  std::string_view port = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
  std::string joined = join_host_port(host, port);
  if (has_any(host, "[]") || has_any(port, "[]:")) return;
  std::string h, p, err;
  FUZZ_CHECK(split_host_port(joined, h, p, err));
  FUZZ_CHECK(h == host && p == port);
}

bool same(const Addr& a, const Addr& b) {
  return a.size() == b.size() && a.network() == b.network() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

void check_unix(const std::string& network, const std::string& path) {
  std::error_code ec;
  std::string err;
  std::vector<Addr> addrs = gort::net::resolve(network, path, false, ec, err);
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    FUZZ_CHECK(ec && addrs.empty());
    return;
  }
  FUZZ_CHECK(!ec && addrs.size() == 1);
  const Addr& a = addrs[0];
  FUZZ_CHECK(a.family() == AF_UNIX && a.network() == network && !a.is_ip() && a.port() == 0);
  if (path.starts_with('@') || path.find('\0') == std::string::npos) FUZZ_CHECK(a.path() == path);
  FUZZ_CHECK(a.string() == a.path());
  Addr copy = a;
  FUZZ_CHECK(same(copy, a));
}

// A host resolve takes without a resolver: empty or an IP literal, no NUL.
bool literal_host(const std::string& host) {
  if (host.find('\0') != std::string::npos) return false;
  unsigned char probe[sizeof(in6_addr)];
  return host.empty() || inet_pton(AF_INET, host.c_str(), probe) == 1 || inet_pton(AF_INET6, host.c_str(), probe) == 1;
}

void check_ip(const std::string& network, const std::string& address, bool passive) {
  std::string host, port, err;
  if (!split_host_port(address, host, port, err)) return;
  if (!literal_host(host) || port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return;
  }
  std::error_code ec;
  std::vector<Addr> addrs = gort::net::resolve(network, address, passive, ec, err);
  if (ec) {
    FUZZ_CHECK(addrs.empty() && !err.empty());
    return;
  }
  FUZZ_CHECK(!addrs.empty());
  unsigned long want_port = std::stoul(port);
  for (const Addr& a : addrs) {
    FUZZ_CHECK(a.is_ip() && a.network() == network && a.port() == want_port);
    if (network.ends_with('4')) FUZZ_CHECK(a.family() == AF_INET);
    if (network.ends_with('6')) FUZZ_CHECK(a.family() == AF_INET6);
    std::string s = a.string();
    std::string h2, p2;
    FUZZ_CHECK(split_host_port(s, h2, p2, err));
    FUZZ_CHECK(p2 == std::to_string(want_port));
    // What it prints resolves to the same socket address. (An IPv4-mapped
    // IPv6 address prints as IPv4, as Go's does, and so is not a "tcp6"
    // address any more: only the IP and port carry over.)
    bool mapped = a.family() == AF_INET6 && a.ip().to_v6().is_v4_mapped();
    if (!mapped) {
      std::vector<Addr> again = gort::net::resolve(network, s, false, ec, err);
      FUZZ_CHECK(!ec && !again.empty());
      bool found = false;
      for (const Addr& b : again) found = found || same(a, b);
      FUZZ_CHECK(found);
    }
    Addr copy;
    copy = a;
    FUZZ_CHECK(same(copy, a));
  }
}

void resolve_one(std::string_view rest) {
  static const char* const kNetworks[] = {"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix", "unixgram", "ip"};
  if (rest.empty()) return;
  std::uint8_t sel = static_cast<std::uint8_t>(rest[0]);
  std::string network = kNetworks[sel % 9];
  bool passive = (sel & 0x80) != 0;
  std::string address(rest.substr(1));
  if (network.starts_with("unix")) {
    check_unix(network, address);
  } else if (network == "ip") {
    std::error_code ec;
    std::string err;
    FUZZ_CHECK(gort::net::resolve(network, address, passive, ec, err).empty() && ec);
  } else {
    check_ip(network, address, passive);
  }
}

void raw_addr(std::string_view rest) {
  if (rest.size() < 2) return;
  std::size_t nlen = static_cast<std::uint8_t>(rest[0]) % 16;
  nlen = std::min(nlen, rest.size() - 1);
  std::string network(rest.substr(1, nlen));
  std::string_view raw = rest.substr(1 + nlen);
  // Bytes to a sockaddr of the given length (as accept or getsockname give).
  sockaddr_storage ss{};
  std::memcpy(&ss, raw.data(), std::min(raw.size(), sizeof ss));
  auto len = static_cast<socklen_t>(raw.size());
  Addr a(network, reinterpret_cast<const sockaddr*>(&ss), len);
  std::string_view want = std::string_view(network).substr(0, std::min<std::size_t>(network.find('\0'), 11));
  FUZZ_CHECK(a.network() == want);
  FUZZ_CHECK(a.size() == std::min<std::size_t>(len, sizeof ss));
  FUZZ_CHECK(a.empty() == (len == 0));
  std::string s = a.string();
  (void)a.path();
  if (a.is_ip() && !a.empty()) {
    std::string h, p, err;
    FUZZ_CHECK(split_host_port(s, h, p, err));
    FUZZ_CHECK(p == std::to_string(a.port()));
    (void)a.ip();
  }
  Addr copy(a), moved = std::move(copy);
  FUZZ_CHECK(same(moved, a));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: split_join(rest); break;
    case 1: join_split(rest); break;
    case 2: resolve_one(rest); break;
    case 3: raw_addr(rest); break;
  }
  return 0;
}
