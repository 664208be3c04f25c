// gort::codec: netty's framing decoders behind one interface. Each codec is
// checked against getty's five cases (error in the stream; header
// incomplete; header read but body incomplete; exactly one frame; several
// frames in one read), the max-frame-length error, read_frame over split
// input, and the framed server loop over real sockets. Catch2 assertions run
// only on the main fiber.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "gort/gort.hpp"
#include "gort/net/bufio.hpp"
#include "gort/net/codec.hpp"
#include "gort/net/net.hpp"

using gort::codec::DecodeStatus;
using gort::net::errc;

namespace {

std::string str(std::span<const char> s) { return {s.data(), s.size()}; }
std::span<const char> sp(std::string_view v) { return {v.data(), v.size()}; }

// Decodes every frame in `in`, as a connection's loop does after one read.
struct All {
  std::vector<std::string> frames;
  gort::codec::Decoded last;  // the decode that stopped the loop
  std::string rest;           // the input it was given
};
All decode_all(gort::codec::Codec& c, std::string_view in) {
  All a;
  for (;;) {
    a.last = c.decode(sp(in));
    if (a.last.status != DecodeStatus::frame) break;
    a.frames.push_back(str(a.last.frame));
    REQUIRE(a.last.consumed > 0);
    in.remove_prefix(a.last.consumed);
  }
  a.rest = std::string(in);
  return a;
}

std::string encode(gort::codec::Codec& c, std::string_view payload) {
  std::string out;
  c.encode(sp(payload), out);
  return out;
}

// A source that hands out its bytes `step` at a time, then errc::eof.
struct Trickle {
  std::string data;
  std::size_t step = 1;
  std::size_t off = 0;
  int reads = 0;
  std::size_t read(std::span<char> buf, std::error_code& ec) {
    reads++;
    ec.clear();
    if (off == data.size()) {
      ec = errc::eof;
      return 0;
    }
    std::size_t n = std::min({buf.size(), step, data.size() - off});
    std::memcpy(buf.data(), data.data() + off, n);
    off += n;
    return n;
  }
};

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

}  // namespace

// ---------------------------------------------------------------- LineBased

TEST_CASE("codec: LineBased - the five cases", "[codec]") {
  gort::codec::LineBased c(5);
  // Error in the stream: 6 bytes and no newline, limit 5.
  auto d = c.decode(sp("abcdef"));
  REQUIRE(d.status == DecodeStatus::error);
  REQUIRE(d.ec == errc::frame_too_long);
  // Header incomplete: nothing, or a line without its end.
  REQUIRE(c.decode(sp("")).status == DecodeStatus::need_more);
  d = c.decode(sp("abc"));
  REQUIRE(d.status == DecodeStatus::need_more);
  REQUIRE(d.consumed == 0);
  // Body incomplete: half of the "\r\n" (a full-length line, so the '\r' is not content yet).
  REQUIRE(c.decode(sp("abcde\r")).status == DecodeStatus::need_more);
  // Exactly one frame.
  d = c.decode(sp("abcde\r\n"));
  REQUIRE(d.status == DecodeStatus::frame);
  REQUIRE(str(d.frame) == "abcde");
  REQUIRE(d.consumed == 7);
  // Several frames in one read, and a partial one left.
  All a = decode_all(c, "a\nbb\r\n\nccc\nd");
  REQUIRE(a.frames == std::vector<std::string>{"a", "bb", "", "ccc"});
  REQUIRE(a.last.status == DecodeStatus::need_more);
  REQUIRE(a.rest == "d");
}

TEST_CASE("codec: LineBased keeps the end of line when asked and finds a too-long line before its newline", "[codec]") {
  gort::codec::LineBased keep(3, false);
  All a = decode_all(keep, "abc\r\nx\n");
  REQUIRE(a.frames == std::vector<std::string>{"abc\r\n", "x\n"});
  gort::codec::LineBased c(3);
  REQUIRE(c.decode(sp("abcd")).ec == errc::frame_too_long);        // no newline needed to know
  REQUIRE(c.decode(sp("abcd\n")).ec == errc::frame_too_long);
  REQUIRE(c.decode(sp("abc\rx")).ec == errc::frame_too_long);      // a '\r' not before '\n' is content
  REQUIRE(c.decode(sp("abc\n")).status == DecodeStatus::frame);
  // A long stream is scanned only as far as a valid line could reach.
  std::string huge = std::string(1 << 20, 'x') + "\n";
  REQUIRE(c.decode(sp(huge)).ec == errc::frame_too_long);
  // encode refuses what a decoder like this one would refuse.
  REQUIRE(encode(c, "ab") == "ab\n");
  std::string out = "kept";
  std::error_code ec;
  c.encode(sp("a\nb"), out, ec);
  REQUIRE(ec == errc::bad_frame);
  c.encode(sp("abcd"), out, ec);
  REQUIRE(ec == errc::frame_too_long);
  REQUIRE(out == "kept");
  REQUIRE_THROWS_AS(encode(c, "abcd"), std::system_error);
}

TEST_CASE("codec: LineBased encode refuses a payload ending in '\\r' (it would decode without it)", "[codec]") {
  // Found by fuzz/fuzz_codec.cpp: "a\r" encoded as "a\r\n", which decodes as "a".
  gort::codec::LineBased c(3);
  std::string out = "kept";
  std::error_code ec;
  c.encode(sp("a\r"), out, ec);
  REQUIRE(ec == errc::bad_frame);
  REQUIRE(out == "kept");
  c.encode(sp("\r"), out, ec);
  REQUIRE(ec == errc::bad_frame);
  // A '\r' elsewhere is content and round-trips.
  out = encode(c, "a\rb");
  REQUIRE(out == "a\rb\n");
  REQUIRE(decode_all(c, out).frames == std::vector<std::string>{"a\rb"});
}

TEST_CASE("codec: serve_frames sends earlier replies before a reply it cannot encode ends it", "[codec]") {
  // Found by fuzz/fuzz_codec.cpp: with both requests buffered, the first
  // reply sat unflushed (or half-flushed) when the second failed to encode.
  struct Out {
    std::string data;
    std::size_t write(std::span<const char> b, std::error_code& ec) {
      ec.clear();
      data.append(b.data(), b.size());
      return b.size();
    }
  };
  for (std::size_t wbuf : {4, 4096}) {
    Trickle in{"one\ntwo\n", 64};
    Out out;
    gort::codec::LineBased codec(16);
    std::error_code ec = gort::codec::serve_frames(
        in, out, codec,
        [](std::span<const char> req, std::string& reply) { reply = str(req) == "one" ? "first reply" : "bad\nreply"; },
        64, wbuf);
    REQUIRE(ec == errc::bad_frame);
    REQUIRE(out.data == "first reply\n");
  }
}

// ---------------------------------------------------------------- DelimiterBased

TEST_CASE("codec: DelimiterBased - the five cases with a multi-byte delimiter", "[codec]") {
  gort::codec::DelimiterBased c("END", 4);
  // Error in the stream: no delimiter can start within the first 4 bytes.
  REQUIRE(c.decode(sp("abcdeEN")).ec == errc::frame_too_long);
  REQUIRE(c.decode(sp("abcdeEND")).ec == errc::frame_too_long);
  // Header incomplete.
  REQUIRE(c.decode(sp("ab")).status == DecodeStatus::need_more);
  // Body incomplete: the delimiter split across reads.
  REQUIRE(c.decode(sp("abcdEN")).status == DecodeStatus::need_more);
  // Exactly one frame: a frame of exactly max_len.
  auto d = c.decode(sp("abcdEND"));
  REQUIRE(d.status == DecodeStatus::frame);
  REQUIRE(str(d.frame) == "abcd");
  REQUIRE(d.consumed == 7);
  // Several frames.
  All a = decode_all(c, "xENDENDyyENDzE");
  REQUIRE(a.frames == std::vector<std::string>{"x", "", "yy"});
  REQUIRE(a.rest == "zE");
  // Not stripped: the delimiter stays in the frame.
  gort::codec::DelimiterBased keep("\r\n", 10, false);
  REQUIRE(decode_all(keep, "a\r\nb\r\n").frames == std::vector<std::string>{"a\r\n", "b\r\n"});
  REQUIRE_THROWS_AS(gort::codec::DelimiterBased("", 10), std::invalid_argument);
}

TEST_CASE("codec: DelimiterBased encode refuses a payload that would end early", "[codec]") {
  gort::codec::DelimiterBased c("abab", 100);
  std::string out;
  std::error_code ec;
  c.encode(sp("xab"), out, ec);  // "xab" + "abab" holds "abab" at 1
  REQUIRE(ec == errc::bad_frame);
  REQUIRE(out.empty());
  c.encode(sp("xa"), out, ec);  // "xaabab": first "abab" at 2, right after the payload
  REQUIRE(!ec);
  REQUIRE(decode_all(c, out).frames == std::vector<std::string>{"xa"});
}

// ---------------------------------------------------------------- FixedLength

TEST_CASE("codec: FixedLength - partial, exactly one and several frames (no header, no error case)", "[codec]") {
  gort::codec::FixedLength c(3);
  auto d = c.decode(sp(""));
  REQUIRE(d.status == DecodeStatus::need_more);
  REQUIRE(d.need == 3);
  REQUIRE(c.decode(sp("ab")).status == DecodeStatus::need_more);
  d = c.decode(sp("abc"));
  REQUIRE(d.status == DecodeStatus::frame);
  REQUIRE(d.consumed == 3);
  All a = decode_all(c, "abcdefg");
  REQUIRE(a.frames == std::vector<std::string>{"abc", "def"});
  REQUIRE(a.rest == "g");
  REQUIRE(encode(c, "xyz") == "xyz");
  REQUIRE_THROWS_AS(encode(c, "xy"), std::system_error);
  REQUIRE_THROWS_AS(gort::codec::FixedLength(0), std::invalid_argument);
}

// ---------------------------------------------------------------- LengthFieldBased

TEST_CASE("codec: LengthFieldBased - the five cases", "[codec]") {
  gort::codec::LengthFieldBased c(gort::codec::length_prefixed(16));
  REQUIRE(c.max_frame_length() == 20);
  REQUIRE(c.header_length() == 4);
  // Error in the stream: a length that cannot be (a field counting the whole
  // frame, header included, that says 1).
  gort::codec::LengthFieldBased whole({.max_frame_length = 64, .length_field_length = 2, .length_adjustment = -2,
                                       .initial_bytes_to_strip = 2});
  auto d = whole.decode(sp(std::string("\x00\x01", 2)));
  REQUIRE(d.status == DecodeStatus::error);
  REQUIRE(d.ec == errc::bad_frame);
  // Header incomplete.
  d = c.decode(sp(std::string("\x00\x00", 2)));
  REQUIRE(d.status == DecodeStatus::need_more);
  REQUIRE(d.need == 0);
  // Header read, body incomplete: the codec knows the frame's size.
  d = c.decode(sp(be32(5) + "ab"));
  REQUIRE(d.status == DecodeStatus::need_more);
  REQUIRE(d.need == 9);
  REQUIRE(d.consumed == 0);
  // Exactly one frame.
  std::string one = be32(5) + "hello";
  d = c.decode(sp(one));
  REQUIRE(d.status == DecodeStatus::frame);
  REQUIRE(str(d.frame) == "hello");
  REQUIRE(d.consumed == 9);
  // Several frames, an empty one among them, and the start of a header.
  All a = decode_all(c, be32(1) + "a" + be32(0) + be32(3) + "bcd" + std::string("\x00", 1));
  REQUIRE(a.frames == std::vector<std::string>{"a", "", "bcd"});
  REQUIRE(a.last.status == DecodeStatus::need_more);
  REQUIRE(a.rest.size() == 1);
}

TEST_CASE("codec: LengthFieldBased rejects a frame over its maximum from the header alone", "[codec]") {
  gort::codec::LengthFieldBased c(gort::codec::length_prefixed(16));
  REQUIRE(c.decode(sp(be32(16))).status == DecodeStatus::need_more);  // the maximum: fine
  auto d = c.decode(sp(be32(17)));                                     // only the header has arrived
  REQUIRE(d.status == DecodeStatus::error);
  REQUIRE(d.ec == errc::frame_too_long);
  REQUIRE(std::string(d.ec.message()) == "frame too long");
  // An 8-byte field near 2^64 is too long, not an overflow.
  gort::codec::LengthFieldBased c8(gort::codec::length_prefixed(1 << 20, 8));
  REQUIRE(c8.decode(sp(std::string(8, '\xff'))).ec == errc::frame_too_long);
  gort::codec::LengthFieldBased neg({.max_frame_length = 1 << 20, .length_field_length = 8,
                                     .length_adjustment = -100});
  REQUIRE(neg.decode(sp(std::string(8, '\xff'))).ec == errc::frame_too_long);
  REQUIRE(neg.decode(sp(std::string(7, '\0') + "\x10")).ec == errc::bad_frame);  // 16 - 100 < 0
  // Through read_frame: the error comes after the first read, which held
  // just the header; the body is never waited for.
  Trickle src{be32(1 << 20) + "body that never ends", 4};
  gort::bufio::Reader in(src, c.max_frame_length());
  std::error_code ec;
  REQUIRE(gort::codec::read_frame(in, c, ec).empty());
  REQUIRE(ec == errc::frame_too_long);
  REQUIRE(src.reads == 1);
  // encode: the same limit, and what the field can hold.
  std::string out;
  c.encode(sp(std::string(17, 'x')), out, ec);
  REQUIRE(ec == errc::frame_too_long);
  REQUIRE(out.empty());
  gort::codec::LengthFieldBased c1(gort::codec::length_prefixed(1000, 1));
  c1.encode(sp(std::string(256, 'x')), out, ec);
  REQUIRE(ec == errc::frame_too_long);
  REQUIRE_THROWS_AS(gort::codec::LengthFieldBased({.max_frame_length = 100, .length_field_length = 5}),
                    std::invalid_argument);
  REQUIRE_THROWS_AS(gort::codec::LengthFieldBased({.max_frame_length = 0}), std::invalid_argument);
}

TEST_CASE("codec: LengthFieldBased decodes netty's documented layouts (offset, adjustment, strip)", "[codec]") {
  using gort::codec::LengthFieldBased;
  const std::string hello = "HELLO, WORLD";  // 12 bytes
  // Each row: netty's LengthFieldBasedFrameDecoder javadoc example.
  struct Row {
    gort::codec::LengthFieldOptions o;
    std::string in;
    std::string out;
  };
  std::vector<Row> rows = {
      // 2 bytes length field at offset 0, do not strip header.
      {{.max_frame_length = 100, .length_field_length = 2}, std::string("\x00\x0c", 2) + hello,
       std::string("\x00\x0c", 2) + hello},
      // ... strip header.
      {{.max_frame_length = 100, .length_field_length = 2, .initial_bytes_to_strip = 2},
       std::string("\x00\x0c", 2) + hello, hello},
      // The length counts the whole message (adjustment -2).
      {{.max_frame_length = 100, .length_field_length = 2, .length_adjustment = -2},
       std::string("\x00\x0e", 2) + hello, std::string("\x00\x0e", 2) + hello},
      // 3 bytes length field at the end of a 5-byte header.
      {{.max_frame_length = 100, .length_field_offset = 2, .length_field_length = 3},
       std::string("\xca\xfe\x00\x00\x0c", 5) + hello, std::string("\xca\xfe\x00\x00\x0c", 5) + hello},
      // 3 bytes length field at the beginning of a 5-byte header.
      {{.max_frame_length = 100, .length_field_length = 3, .length_adjustment = 2},
       std::string("\x00\x00\x0c\xca\xfe", 5) + hello, std::string("\x00\x00\x0c\xca\xfe", 5) + hello},
      // 2 bytes length field at offset 1 in a 4-byte header, strip the first field and the length.
      {{.max_frame_length = 100, .length_field_offset = 1, .length_field_length = 2, .length_adjustment = 1,
        .initial_bytes_to_strip = 3},
       std::string("\xca\x00\x0c\xfe", 4) + hello, std::string("\xfe") + hello},
      // ... with the length counting the whole message.
      {{.max_frame_length = 100, .length_field_offset = 1, .length_field_length = 2, .length_adjustment = -3,
        .initial_bytes_to_strip = 3},
       std::string("\xca\x00\x10\xfe", 4) + hello, std::string("\xfe") + hello},
  };
  for (std::size_t i = 0; i < rows.size(); i++) {
    INFO("netty example " << i + 1);
    LengthFieldBased c(rows[i].o);
    std::string in = rows[i].in + "next";
    auto d = c.decode(sp(in));
    REQUIRE(d.status == DecodeStatus::frame);
    REQUIRE(str(d.frame) == rows[i].out);
    REQUIRE(d.consumed == rows[i].in.size());
    // One byte short: the body is incomplete and its size is known.
    d = c.decode(sp(std::string_view(rows[i].in).substr(0, rows[i].in.size() - 1)));
    REQUIRE(d.status == DecodeStatus::need_more);
    REQUIRE(d.need == rows[i].in.size());
  }
}

TEST_CASE("codec: LengthFieldBased 1, 2, 3, 4 and 8-byte fields, big and little endian, round-trip", "[codec]") {
  std::size_t field = GENERATE(1, 2, 3, 4, 8);
  auto order = GENERATE(std::endian::big, std::endian::little);
  gort::codec::LengthFieldBased c(gort::codec::length_prefixed(1000, field, order));
  std::string payload(200, 'p');
  std::string wire = encode(c, payload);
  REQUIRE(wire.size() == field + 200);
  // 200 = 0xc8 in the first (little endian) or last (big endian) byte.
  std::string want(field, '\0');
  want[order == std::endian::big ? field - 1 : 0] = '\xc8';
  REQUIRE(wire.substr(0, field) == want);
  std::string two = wire + encode(c, "second");
  All a = decode_all(c, two);
  REQUIRE(a.frames == std::vector<std::string>{payload, "second"});
  REQUIRE(a.rest.empty());
  if (field >= 2) {
    // A length needing two bytes, in the configured order.
    std::string big = encode(c, std::string(0x102, 'b'));
    std::string hdr = big.substr(0, field);
    if (order == std::endian::big) {
      REQUIRE(hdr.substr(field - 2) == "\x01\x02");
    } else {
      REQUIRE(hdr.substr(0, 2) == "\x02\x01");
    }
    REQUIRE(str(c.decode(sp(big)).frame) == std::string(0x102, 'b'));
  }
}

// ---------------------------------------------------------------- read_frame

TEST_CASE("codec: read_frame assembles frames split at every byte and tells EOF between from EOF inside frames", "[codec]") {
  gort::codec::LengthFieldBased lf(gort::codec::length_prefixed(64));
  gort::codec::LineBased line(64);
  gort::codec::Codec* codecs[] = {&lf, &line};
  for (gort::codec::Codec* c : codecs) {
    std::string wire;
    for (const char* p : {"one", "", "three", "four"}) c->encode(sp(p), wire);
    Trickle src{wire, 1};
    gort::bufio::Reader in(src, 68);
    std::vector<std::string> got;
    std::error_code ec;
    for (;;) {
      auto f = gort::codec::read_frame(in, *c, ec);
      if (ec) break;
      got.push_back(str(f));
    }
    REQUIRE(got == std::vector<std::string>{"one", "", "three", "four"});
    REQUIRE(ec == errc::eof);
    // A frame cut short by the end of the stream.
    Trickle cut{wire.substr(0, wire.size() - 2), 3};
    gort::bufio::Reader in2(cut, 68);
    for (int i = 0; i < 3; i++) gort::codec::read_frame(in2, *c);
    REQUIRE(gort::codec::read_frame(in2, *c, ec).empty());
    REQUIRE(ec == errc::unexpected_eof);
  }
}

TEST_CASE("codec: read_frame fails with frame_too_long when a frame cannot fit the reader's buffer", "[codec]") {
  std::error_code ec;
  // The line codec allows 1000 bytes, the reader holds 32.
  gort::codec::LineBased line(1000);
  Trickle src{std::string(40, 'x') + "\n", 8};
  gort::bufio::Reader in(src, 32);
  REQUIRE(gort::codec::read_frame(in, line, ec).empty());
  REQUIRE(ec == errc::frame_too_long);
  REQUIRE(src.reads == 4);  // found when the buffer was full
  // A length field announcing more than the buffer: found from the header.
  gort::codec::LengthFieldBased lf(gort::codec::length_prefixed(1000));
  Trickle src2{be32(100) + std::string(100, 'y'), 4};
  gort::bufio::Reader in2(src2, 32);
  REQUIRE(gort::codec::read_frame(in2, lf, ec).empty());
  REQUIRE(ec == errc::frame_too_long);
  REQUIRE(src2.reads == 1);
  REQUIRE_THROWS_AS(gort::codec::read_frame(in2, lf), std::system_error);
}

// ---------------------------------------------------------------- the frame server

namespace {
// frame_server's handler (samples/frame_server.cpp), plus "quit", which
// ends the connection after its reply.
bool upper_or_quit(std::span<const char> req, std::string& reply) {
  for (char c : req) reply.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return str(req) != "quit";
}

// Sends a request frame and reads the reply frame.
std::string call(gort::net::Conn& c, gort::bufio::Reader& in, gort::codec::Codec& codec, std::string_view req) {
  c.write(encode(codec, req));
  return str(gort::codec::read_frame(in, codec));
}
}  // namespace

TEST_CASE("codec: the frame server closes a connection that sends a too-long frame and serves the others", "[codec][net]") {
  std::vector<std::error_code> ended;  // how each server connection ended
  std::string a1, a2, a3, quit;
  std::vector<std::string> pipelined;
  std::error_code b_read;
  gort::run(gort::Config{.gomaxprocs = 2}, [&] {
    constexpr std::size_t kMax = 1 << 20;
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    std::mutex mu;  // guards `ended`; held for a push_back, never across a switch
    gort::WaitGroup conns;
    gort::WaitGroup acceptor;
    acceptor.add(1);
    gort::go([&] {
      for (;;) {
        std::error_code ec;
        gort::net::Conn c = ln.accept(ec);
        if (ec) break;
        conns.add(1);
        gort::go([&, c = std::move(c)]() mutable {
          gort::codec::LengthFieldBased codec(gort::codec::length_prefixed(kMax));
          std::error_code e = gort::codec::serve_frames(c, c, codec, upper_or_quit, codec.max_frame_length());
          c.close();
          {
            std::lock_guard lock(mu);
            ended.push_back(e);
          }
          conns.done();
        });
      }
      acceptor.done();
    });
    gort::codec::LengthFieldBased codec(gort::codec::length_prefixed(kMax));
    std::string addr = ln.address().string();
    gort::net::Conn a = gort::net::dial("tcp", addr);
    gort::bufio::Reader ain(a, codec.max_frame_length());
    a1 = call(a, ain, codec, "hello");
    // B announces 2 MiB: refused from the header, B is closed.
    gort::net::Conn b = gort::net::dial("tcp", addr);
    b.write(be32(2 << 20));
    std::array<char, 16> buf;
    b.read(buf, b_read);
    // A goes on, with a frame of the maximum size too.
    a2 = call(a, ain, codec, "still here");
    std::string big(kMax, 'm');
    a3 = call(a, ain, codec, big);
    REQUIRE(a3 == std::string(kMax, 'M'));
    a3.resize(8);
    // Three requests in one write get three replies.
    std::string three = encode(codec, "x") + encode(codec, "y") + encode(codec, "z");
    a.write(three);
    for (int i = 0; i < 3; i++) pipelined.push_back(str(gort::codec::read_frame(ain, codec)));
    quit = call(a, ain, codec, "quit");
    std::error_code ec;
    gort::codec::read_frame(ain, codec, ec);
    REQUIRE(ec == errc::eof);  // the server hung up after the reply
    conns.wait();
    ln.close();
    acceptor.wait();
  });
  REQUIRE(a1 == "HELLO");
  REQUIRE(a2 == "STILL HERE");
  REQUIRE(a3 == "MMMMMMMM");
  REQUIRE(pipelined == std::vector<std::string>{"X", "Y", "Z"});
  REQUIRE(quit == "QUIT");
  REQUIRE((b_read == errc::eof || b_read == std::errc::connection_reset));
  REQUIRE(ended.size() == 2);
  std::sort(ended.begin(), ended.end(), [](auto& x, auto& y) { return x.value() < y.value(); });
  REQUIRE(!ended[0]);  // A: the handler ended it
  REQUIRE(ended[1] == errc::frame_too_long);  // B
}
