// gort::http::Body: the request body's framing (Content-Length, chunked,
// trailers, limits), decoded from memory delivered in pieces of every size.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "body_test_access.hpp"
#include "server_conn.hpp"
#include "gort/http/error.hpp"
#include "gort/http/header.hpp"

namespace http = gort::http;
using gort::net::errc;

namespace {

constexpr std::size_t kCap = 8192;  // the test source's buffer, as bounded as the server's

struct Result {
  std::string body;
  std::error_code ec;  // the error that ended it (eof: none)
  std::string rest;
};

// Reads a chunked body from `wire` delivered `piece` bytes at a time, into
// a reader buffer of `rbuf` bytes.
Result chunked(std::string_view wire, std::size_t piece, std::size_t rbuf = 7, http::Header* trailer = nullptr,
               std::size_t trailer_limit = 1024, std::uint64_t limit = UINT64_MAX) {
  http::MemoryBodySource src(wire, {piece}, kCap);
  http::Body b;
  http::BodyTest::start_chunked(b, src, trailer, trailer_limit, limit);
  Result r;
  std::vector<char> buf(rbuf);
  for (;;) {
    std::error_code ec;
    std::size_t n = b.read(buf, ec);
    r.body.append(buf.data(), n);
    if (n == 0) {
      REQUIRE(ec);  // the contract: a byte or an error
      if (ec != errc::eof) r.ec = ec;
      break;
    }
  }
  r.rest = src.rest();
  return r;
}

// payload in chunks of at most `size` bytes, then the last chunk.
std::string chunk_encode(std::string_view payload, std::size_t size) {
  std::string wire;
  for (std::size_t i = 0; i < payload.size(); i += size) {
    std::string_view part = payload.substr(i, size);
    char hex[20];
    std::snprintf(hex, sizeof hex, "%zx\r\n", part.size());
    wire += hex;
    wire += part;
    wire += "\r\n";
  }
  return wire + "0\r\n\r\n";
}

}  // namespace

TEST_CASE("http body: chunked decoding at every delivery size keeps bytes, trailers and what follows", "[http][body]") {
  std::string wire = "5\r\nhello\r\n7;name=\"v\";x\r\n, world\r\n1A \r\n" + std::string(26, 'z') +
                     "\r\n0\r\nX-Sum: 42\r\nX-Note:  padded \r\n\r\nGET / HTTP/1.1\r\n";
  for (std::size_t piece = 1; piece <= wire.size(); piece++) {
    for (std::size_t rbuf : {1, 7, 4096}) {
      INFO("piece " << piece << " rbuf " << rbuf);
      http::Header tr;
      Result r = chunked(wire, piece, rbuf, &tr);
      REQUIRE(!r.ec);
      REQUIRE(r.body == "hello, world" + std::string(26, 'z'));
      REQUIRE(tr.get("x-sum") == "42");
      REQUIRE(tr.get("X-Note") == "padded");
      REQUIRE(r.rest == "GET / HTTP/1.1\r\n");  // the next request is left alone
    }
  }
}

TEST_CASE("http body: malformed chunking fails with Go's errors", "[http][body]") {
  struct Case {
    const char* name;
    std::string wire;
    http::errc want;
  };
  std::vector<Case> cases = {
      {"bare LF after the size", "5\nhello\r\n0\r\n\r\n", http::errc::malformed_chunked},
      {"bare LF after the data", "5\r\nhello\n0\r\n\r\n", http::errc::malformed_chunked},
      {"no CRLF after the data", "5\r\nhelloXY0\r\n\r\n", http::errc::malformed_chunked},
      {"non-hex size", "zz\r\nhello\r\n0\r\n\r\n", http::errc::malformed_chunked},
      {"empty size", "\r\nhello\r\n0\r\n\r\n", http::errc::malformed_chunked},
      {"extension only", ";ext\r\nhello\r\n0\r\n\r\n", http::errc::malformed_chunked},
      {"negative size", "-5\r\nhello\r\n0\r\n\r\n", http::errc::malformed_chunked},
      {"17 hex digits", "10000000000000000\r\n", http::errc::chunk_too_large},
      {"trailer without colon", "0\r\nnocolon\r\n\r\n", http::errc::bad_trailer},
      {"trailer with a space in its name", "0\r\nBad Name: v\r\n\r\n", http::errc::bad_trailer},
      {"obs-fold in the trailer", "0\r\nA: b\r\n c\r\n\r\n", http::errc::bad_trailer},
      {"Content-Length as trailer", "0\r\nContent-Length: 5\r\n\r\n", http::errc::bad_trailer},
      {"a NUL in a trailer value", std::string("0\r\nA: b\0c\r\n\r\n", 14), http::errc::bad_trailer},
  };
  for (const Case& k : cases) {
    for (std::size_t piece : {1, 3, 1000}) {
      INFO(k.name << ", piece " << piece);
      Result r = chunked(k.wire, piece);
      REQUIRE(r.ec == k.want);
      // Errors are sticky.
    }
  }
  http::MemoryBodySource src("5\nhello", {100}, kCap);
  http::Body b;
  http::BodyTest::start_chunked(b, src, nullptr, 0);
  char buf[16];
  std::error_code ec;
  REQUIRE(b.read(buf, ec) == 0);
  REQUIRE(ec == http::errc::malformed_chunked);
  REQUIRE(b.read(buf, ec) == 0);
  REQUIRE(ec == http::errc::malformed_chunked);
  REQUIRE(!b.done());
}

TEST_CASE("http body: a body cut short is an unexpected EOF, not an end", "[http][body]") {
  for (std::string wire : {"5\r\nhel", "5\r\nhello", "5\r\nhello\r", "5\r\nhello\r\n", "5", "0\r\n", "0\r\nA: b\r\n"}) {
    INFO(wire);
    REQUIRE(chunked(wire, 2).ec == errc::unexpected_eof);
  }
  http::MemoryBodySource src("abc", {2}, kCap);
  http::Body b;
  http::BodyTest::start_length(b, src, 5);
  std::error_code ec;
  std::string got = b.read_all(ec);
  REQUIRE(got == "abc");
  REQUIRE(ec == errc::unexpected_eof);
}

TEST_CASE("http body: chunk lines and trailers are bounded, whatever the sender sends", "[http][body]") {
  // A chunk extension past 4 KiB (the C1 attack: the line never ends). The
  // decoder gives up once 4 KiB are buffered, well inside the source's cap.
  std::string endless_ext = "5;" + std::string(64 * 1024, 'a');
  Result r = chunked(endless_ext, 1000);
  REQUIRE(r.ec == http::errc::chunked_line_too_long);
  // Just inside the bound, a long extension is fine.
  std::string ext_ok = "5;" + std::string(4000, 'a') + "\r\nhello\r\n0\r\n\r\n";
  REQUIRE(chunked(ext_ok, 999).body == "hello");
  // Trailers: at most trailer_limit bytes in all, one line or many.
  std::string endless_trailer = "0\r\nX: " + std::string(64 * 1024, 't');
  REQUIRE(chunked(endless_trailer, 1000, 7, nullptr, 1024).ec == http::errc::trailer_too_large);
  std::string many;
  for (int i = 0; i < 200; i++) many += "X-" + std::to_string(i) + ": v\r\n";
  REQUIRE(chunked("0\r\n" + many + "\r\n", 100, 7, nullptr, 1024).ec == http::errc::trailer_too_large);
  http::Header tr;
  REQUIRE(!chunked("0\r\n" + many + "\r\n", 100, 7, &tr, 64 * 1024).ec);
  REQUIRE(tr.size() == 200);
}

TEST_CASE("http body: tiny chunks padded with extensions run out of allowance (CVE-2023-39326)", "[http][body]") {
  std::string padded;
  for (int i = 0; i < 1000; i++) padded += "1;" + std::string(100, 'e') + "\r\nx\r\n";
  padded += "0\r\n\r\n";
  Result r = chunked(padded, 4096);
  REQUIRE(r.ec == http::errc::chunk_overhead);
  REQUIRE(r.body.size() < 1000);
  // One byte per chunk without extensions is legitimate streaming.
  std::string plain;
  for (int i = 0; i < 100000; i++) plain += "1\r\nx\r\n";
  plain += "0\r\n\r\n";
  Result ok = chunked(plain, 4096, 4096);
  REQUIRE(!ok.ec);
  REQUIRE(ok.body.size() == 100000);
}

TEST_CASE("http body: Content-Length bodies read directly, end exactly, leave the rest", "[http][body]") {
  std::string data(100000, 'd');
  data += "NEXT";
  http::MemoryBodySource src(data, {1500}, kCap);
  http::Body b;
  http::BodyTest::start_length(b, src, 100000);
  std::string got = b.read_all();
  REQUIRE(got == std::string(100000, 'd'));
  REQUIRE(b.done());
  REQUIRE(src.rest() == "NEXT");
  REQUIRE(src.direct_bytes() == 100000);  // nothing went through a second buffer
  REQUIRE(src.first_reads() == 1);
  char c;
  std::error_code ec;
  REQUIRE(b.read({&c, 1}, ec) == 0);
  REQUIRE(ec == errc::eof);
}

TEST_CASE("http body: the limit allows exactly its bytes and refuses one more", "[http][body]") {
  for (bool is_chunked : {false, true}) {
    for (std::size_t size : {99, 100, 101, 5000}) {
      INFO("chunked " << is_chunked << " size " << size);
      std::string payload(size, 'p');
      std::string wire = is_chunked ? chunk_encode(payload, 64) : payload;
      http::MemoryBodySource src(wire, {33}, kCap);
      http::Body b;
      if (is_chunked) {
        http::BodyTest::start_chunked(b, src, nullptr, 0, 100);
      } else {
        http::BodyTest::start_length(b, src, size, 100);
      }
      std::error_code ec;
      std::string got = b.read_all(ec);
      if (size <= 100) {
        REQUIRE(!ec);
        REQUIRE(got == payload);
      } else {
        REQUIRE(ec == http::errc::body_too_large);
        REQUIRE(got == payload.substr(0, 100));
        REQUIRE(http::client_error_status(ec) == 413);
      }
    }
  }
}

TEST_CASE("http body: a request without a body reads as ended, and never asks the source", "[http][body]") {
  http::Body b;
  char c;
  std::error_code ec;
  REQUIRE(b.read({&c, 1}, ec) == 0);
  REQUIRE(ec == errc::eof);
  REQUIRE(b.done());
  REQUIRE(b.read_all().empty());
}

TEST_CASE("http: a pooled exchange gives back what a large request and response grew (M9)", "[http]") {
  http::Exchange x;
  x.req.header.add("X-Big", std::string(1 << 20, 'h'));
  x.req.trailer.add("X-Big", std::string(1 << 20, 't'));
  x.out.assign(4 << 20, 'o');
  REQUIRE(x.req.header.memory() >= 1 << 20);
  x.reset();
  x.shrink();  // what ServerConn::give_back does before the exchange goes back to the pool
  REQUIRE(x.req.header.memory() <= 16 * 1024);
  REQUIRE(x.req.trailer.memory() <= 16 * 1024);
  REQUIRE(x.out.capacity() <= 256 * 1024);
  // Small ones keep their capacity: the common request allocates nothing.
  x.req.header.add("Host", "x");
  std::size_t small = x.req.header.memory();
  x.shrink();
  REQUIRE(x.req.header.memory() == small);
}
