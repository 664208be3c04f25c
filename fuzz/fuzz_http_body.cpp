// fuzz_http_body - gort::http::Body, the request body reader: the
// Content-Length reader and the chunked decoder with its trailers and
// limits, over in-memory bytes delivered in pieces the input chooses.
//
// Input: [mode][rbuf][limit][piece][len lo][len hi][wire...]
//   mode bit 0: chunked (else Content-Length `len`); bit 1: round trip - the
//   wire is a payload, chunk-encoded here with chunk sizes and extensions
//   taken from its own bytes, then decoded.
//   rbuf: the handler's read buffer, 1..256 bytes; limit: 0 none, else
//   limit*61 bytes; piece: how many bytes each delivery brings (0: 1).
//
// Invariants:
// - the decoder never needs more buffer than its bounds (a 4 KiB chunk line,
//   the trailer limit): the source's 8 KiB cap is never hit (review C1);
// - every read returns 1..len(buf) bytes, or 0 and an error; errors stick;
// - the outcome (body bytes and error; with no error also the trailer fields
//   and the bytes left after the body) is the same whether the wire arrives
//   in the input's pieces, one byte at a time or all at once (after an error
//   the connection closes, and how far ahead it had read does not matter);
// - never more than the limit is returned, and body_too_large only when the
//   body really is longer;
// - a Content-Length body without error is exactly the first `len` bytes;
// - round trip: a chunk-encoded payload decodes to itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "body_test_access.hpp"
#include "gort/http/error.hpp"
#include "gort/http/header.hpp"
#include "support/check.hpp"

namespace {

namespace http = gort::http;
constexpr std::size_t kCap = 8192;
constexpr std::size_t kTrailerLimit = 1024;

struct Outcome {
  std::string body;
  std::error_code ec;
  std::string trailer;  // name=value lines
  std::string rest;
  bool operator==(const Outcome& o) const {
    return body == o.body && ec == o.ec && (ec || (trailer == o.trailer && rest == o.rest));
  }
};

Outcome decode(std::string_view wire, bool chunked, std::uint64_t len, std::size_t piece, std::size_t rbuf,
               std::uint64_t limit) {
  http::MemoryBodySource src(wire, {piece}, kCap);
  http::Body b;
  http::Header tr;
  if (chunked) {
    http::BodyTest::start_chunked(b, src, &tr, kTrailerLimit, limit);
  } else {
    http::BodyTest::start_length(b, src, len, limit);
  }
  Outcome o;
  std::vector<char> buf(rbuf);
  for (int guard = 0;; guard++) {
    FUZZ_CHECK(guard < 1 << 20);
    std::error_code ec;
    std::size_t n = b.read(buf, ec);
    FUZZ_CHECK(n <= buf.size());
    if (n == 0) {
      FUZZ_CHECK(ec);
      if (ec != gort::net::errc::eof) o.ec = ec;
      // Sticky: the same answer again.
      std::error_code again;
      FUZZ_CHECK(b.read(buf, again) == 0 && again == ec);
      break;
    }
    FUZZ_CHECK(!ec);
    o.body.append(buf.data(), n);
  }
  FUZZ_CHECK(o.ec != std::make_error_code(std::errc::no_buffer_space));
  FUZZ_CHECK(o.body.size() == b.bytes_read());
  FUZZ_CHECK(o.body.size() <= limit);
  FUZZ_CHECK(b.done() == !o.ec);
  for (auto f : tr) o.trailer.append(f.name).append("=").append(f.value).append("\n");
  o.rest = src.rest();
  return o;
}

std::string encode(std::string_view payload) {
  // Chunk sizes and extension lengths from the payload's own bytes.
  std::string wire;
  std::size_t i = 0;
  while (i < payload.size()) {
    auto c = static_cast<unsigned char>(payload[i]);
    std::size_t size = std::min<std::size_t>(1 + c % 97, payload.size() - i);
    char line[32];
    std::snprintf(line, sizeof line, "%zx", size);
    wire += line;
    if (c & 1) wire += ";e=" + std::string(c % 7, 'x');
    wire += "\r\n";
    wire.append(payload.substr(i, size));
    wire += "\r\n";
    i += size;
  }
  return wire + "0\r\nX-Done: 1\r\n\r\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 6) return 0;
  std::uint8_t mode = data[0];
  std::size_t rbuf = std::size_t{data[1]} + 1;
  std::uint64_t limit = data[2] == 0 ? UINT64_MAX : std::uint64_t{data[2]} * 61;
  std::size_t piece = std::max<std::size_t>(data[3], 1);
  std::uint64_t len = data[4] | std::uint64_t{data[5]} << 8;
  std::string_view in(reinterpret_cast<const char*>(data) + 6, size - 6);
  bool chunked = (mode & 1) != 0;
  bool round_trip = (mode & 2) != 0;

  std::string wire = round_trip ? encode(in) : std::string(in);
  if (round_trip) chunked = true;
  Outcome o = decode(wire, chunked, len, piece, rbuf, limit);
  FUZZ_CHECK(decode(wire, chunked, len, 1, rbuf, limit) == o);
  FUZZ_CHECK(decode(wire, chunked, len, wire.size() + 1, rbuf, limit) == o);
  if (o.ec == http::errc::body_too_large) {
    FUZZ_CHECK(o.body.size() == limit);
    FUZZ_CHECK(decode(wire, chunked, len, piece, rbuf, UINT64_MAX).body.size() > limit);
  }
  if (!chunked && !o.ec) {
    FUZZ_CHECK(o.body == wire.substr(0, len));
    FUZZ_CHECK(o.rest == wire.substr(len));
  }
  if (round_trip && limit == UINT64_MAX) {
    FUZZ_CHECK(!o.ec);
    FUZZ_CHECK(o.body == in);
    FUZZ_CHECK(o.trailer == "X-Done=1\n");
    FUZZ_CHECK(o.rest.empty());
  }
  return 0;
}
