// gort::bufio and gort::io: Go's bufio.Reader/Writer and io helpers, over
// scripted fake streams (chunk boundaries, errors mid-stream, EOF) and over a
// real Conn pair. Catch2 assertions run only on the main fiber.
#include <catch2/catch.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "gort/gort.hpp"
#include "gort/net/bufio.hpp"
#include "gort/net/io.hpp"
#include "gort/net/net.hpp"

using gort::net::errc;

namespace {

std::string str(std::span<const char> s) { return {s.data(), s.size()}; }

const std::error_code kReset = std::make_error_code(std::errc::connection_reset);

// A source that replays a script: each step's bytes (at most the span's size
// per read; the rest waits for the next read), then its error, if any,
// delivered with the step's last bytes (or alone for a step without bytes).
// A step with neither is an empty read. After the script: errc::eof.
struct Step {
  std::string data;
  std::error_code ec{};
};
struct FakeReader {
  std::vector<Step> steps;
  std::size_t step = 0, off = 0;
  int reads = 0;
  std::vector<std::size_t> asked;  // the span size of each read

  FakeReader(std::initializer_list<Step> s) : steps(s) {}
  static FakeReader chunks(std::initializer_list<std::string> c) {
    FakeReader f{};
    for (auto& s : c) f.steps.push_back({s});
    return f;
  }
  std::size_t read(std::span<char> buf, std::error_code& ec) {
    reads++;
    asked.push_back(buf.size());
    ec.clear();
    if (step == steps.size()) {
      ec = errc::eof;
      return 0;
    }
    Step& s = steps[step];
    std::size_t n = std::min(buf.size(), s.data.size() - off);
    std::memcpy(buf.data(), s.data.data() + off, n);
    off += n;
    if (off == s.data.size()) {
      ec = s.ec;
      step++;
      off = 0;
    }
    return n;
  }
};

// A sink that records its calls. It accepts `budget` bytes in all; past
// that it fails with fail_ec (or, with short_without_error, just returns
// short).
struct Call {
  bool gather;
  std::size_t buffers;
  std::size_t bytes;
};
struct FakeWriter {
  std::string out;
  std::vector<Call> calls;
  std::size_t budget = SIZE_MAX;
  std::error_code fail_ec = kReset;
  bool short_without_error = false;

  std::size_t take(std::span<const char> b, std::error_code& ec) {
    std::size_t room = budget > out.size() ? budget - out.size() : 0;
    std::size_t n = std::min(b.size(), room);
    out.append(b.data(), n);
    if (n < b.size() && !short_without_error) ec = fail_ec;
    return n;
  }
  std::size_t write(std::span<const char> b, std::error_code& ec) {
    ec.clear();
    calls.push_back({false, 1, b.size()});
    return take(b, ec);
  }
  std::size_t writev(std::span<const std::span<const char>> bufs, std::error_code& ec) {
    ec.clear();
    std::size_t bytes = 0, total = 0;
    for (auto b : bufs) bytes += b.size();
    calls.push_back({true, bufs.size(), bytes});
    for (auto b : bufs) {
      std::size_t n = take(b, ec);
      total += n;
      if (ec || n < b.size()) break;
    }
    return total;
  }
};
// The same without writev: WriterRef falls back to one write per buffer.
struct PlainWriter {
  FakeWriter w;
  std::size_t write(std::span<const char> b, std::error_code& ec) { return w.write(b, ec); }
};

// An Asio-style stream: read_some/write_some with boost::system::error_code,
// writing at most max_write bytes per call, as a socket may.
struct AsioStream {
  std::string in;
  std::size_t in_off = 0;
  std::string out;
  int write_calls = 0;
  std::size_t max_write = 5;
  bool broken = false;

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& b, boost::system::error_code& ec) {
    ec = {};
    if (in_off == in.size()) {
      ec = boost::asio::error::eof;
      return 0;
    }
    std::size_t n = boost::asio::buffer_copy(b, boost::asio::buffer(in.data() + in_off, in.size() - in_off));
    in_off += n;
    return n;
  }
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& bufs, boost::system::error_code& ec) {
    write_calls++;
    ec = {};
    if (broken) {
      ec = boost::asio::error::broken_pipe;
      return 0;
    }
    std::size_t n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(bufs); it != boost::asio::buffer_sequence_end(bufs); ++it) {
      boost::asio::const_buffer b = *it;
      std::size_t k = std::min(b.size(), max_write - n);
      out.append(static_cast<const char*>(b.data()), k);
      n += k;
      if (n == max_write) break;
    }
    return n;
  }
};

}  // namespace

// ---------------------------------------------------------------- Reader

TEST_CASE("bufio: peek waits for n bytes without consuming them, more than the buffer is buffer_full", "[bufio]") {
  auto f = FakeReader::chunks({"ab", "cd", "ef"});
  gort::bufio::Reader r(f, 16);
  std::error_code ec;
  REQUIRE(str(r.peek(3, ec)) == "abc");
  REQUIRE(!ec);
  REQUIRE(f.reads == 2);
  REQUIRE(r.buffered() == 4);
  // More than the buffer can ever hold: at once, without reading.
  auto v = r.peek(17, ec);
  REQUIRE(ec == errc::buffer_full);
  REQUIRE(str(v) == "abcd");
  REQUIRE(f.reads == 2);
  REQUIRE_THROWS_AS(r.peek(17), std::system_error);
  std::array<char, 6> all;
  REQUIRE(r.read_full(all) == 6);
  REQUIRE(std::string(all.data(), 6) == "abcdef");
  // At the end: what there is, with the source's error.
  REQUIRE(r.peek(1, ec).empty());
  REQUIRE(ec == errc::eof);

  FakeReader g{{"xy", kReset}};
  gort::bufio::Reader r2(g, 16);
  REQUIRE(str(r2.peek(3, ec)) == "xy");
  REQUIRE(ec == kReset);
}

TEST_CASE("bufio: read copies from the buffer and a large read into an empty buffer bypasses it", "[bufio]") {
  auto f = FakeReader::chunks({"hello world", std::string(40, 'x'), "tail"});
  gort::bufio::Reader r(f, 16);
  std::array<char, 4> small;
  REQUIRE(r.read(small) == 4);
  REQUIRE(f.asked.back() == 16);  // filled the buffer
  std::array<char, 100> big;
  REQUIRE(str({big.data(), r.read(big)}) == "o world");  // buffered bytes only, no new read
  REQUIRE(f.reads == 1);
  std::array<char, 32> direct;
  REQUIRE(r.read(direct) == 32);  // empty buffer, p >= size: straight into p
  REQUIRE(f.asked.back() == 32);
  REQUIRE(r.buffered() == 0);
  REQUIRE(r.read(small) == 4);  // the rest of the 40 goes through the buffer again
  REQUIRE(f.asked.back() == 16);
  REQUIRE(str(small) == "xxxx");
  REQUIRE(r.buffered() == 4);
}

TEST_CASE("bufio: bytes that come with an error are returned first and the error on the next call", "[bufio]") {
  FakeReader f{{"abc", kReset}};
  gort::bufio::Reader r(f, 16);
  std::array<char, 10> buf;
  std::error_code ec;
  REQUIRE(r.read(buf, ec) == 3);
  REQUIRE(!ec);
  REQUIRE(r.read(buf, ec) == 0);
  REQUIRE(ec == kReset);
  REQUIRE(f.reads == 1);  // the pending error, not a new read
  REQUIRE(r.read(buf, ec) == 0);
  REQUIRE(ec == errc::eof);
  REQUIRE_THROWS_AS(r.read(buf), std::system_error);

  // The same through fill().
  FakeReader g{{"abc", kReset}};
  gort::bufio::Reader r2(g, 16);
  REQUIRE(r2.fill(ec) == 3);
  REQUIRE(!ec);
  REQUIRE(r2.fill(ec) == 0);
  REQUIRE(ec == kReset);
}

TEST_CASE("bufio: read_slice finds a delimiter across reads and is buffer_full without one in the buffer", "[bufio]") {
  auto f = FakeReader::chunks({"GET / HT", "TP/1.1", "\r\nHost: x\r\n", std::string(20, 'a')});
  gort::bufio::Reader r(f, 16);
  std::error_code ec;
  REQUIRE(str(r.read_slice('\n', ec)) == "GET / HTTP/1.1\r\n");
  REQUIRE(!ec);
  REQUIRE(str(r.read_slice('\n', ec)) == "Host: x\r\n");
  auto v = r.read_slice('\n', ec);  // 20 bytes without a newline, 16-byte buffer
  REQUIRE(ec == errc::buffer_full);
  REQUIRE(str(v) == std::string(16, 'a'));
  v = r.read_slice('\n', ec);  // the last 4, then the end
  REQUIRE(ec == errc::eof);
  REQUIRE(str(v) == "aaaa");
}

TEST_CASE("bufio: read_line joins chunks, strips a \\r\\n split across reads, returns a last line without newline", "[bufio]") {
  auto f = FakeReader::chunks({"fir", "st\r", "\nsecond\n\r\n", "thi", "rd"});
  gort::bufio::Reader r(f, 16);
  std::string line;
  std::error_code ec;
  std::vector<std::string> lines;
  while (r.read_line(line, 100, ec)) lines.push_back(line);
  REQUIRE(ec == errc::eof);
  REQUIRE(lines == std::vector<std::string>{"first", "second", "", "third"});
  REQUIRE(!r.read_line(line, 100, ec));
  REQUIRE(ec == errc::eof);

  // A line longer than the buffer but within max_len: copied out as it comes.
  std::string long_line(100, 'z');
  auto g = FakeReader::chunks({long_line + "\nok\n"});
  gort::bufio::Reader r2(g, 16);
  REQUIRE(r2.read_line(line, 100, ec));
  REQUIRE(line == long_line);
  REQUIRE(r2.read_line(line, 100, ec));
  REQUIRE(line == "ok");
  // The throwing overload: false at the end, as std::getline.
  auto h = FakeReader::chunks({"a\nb\n"});
  gort::bufio::Reader r3(h);
  int n = 0;
  while (r3.read_line(line, 10)) n++;
  REQUIRE(n == 2);
}

TEST_CASE("bufio: a line longer than max_len fails as soon as it is known, before its newline", "[bufio]") {
  std::string line;
  std::error_code ec;
  {
    // The newline never needs to arrive: 10 bytes without one and a limit of 5.
    auto f = FakeReader::chunks({"0123456789", "abc\n", "next\n"});
    gort::bufio::Reader r(f, 64);
    REQUIRE(!r.read_line(line, 5, ec));
    REQUIRE(ec == errc::line_too_long);
    REQUIRE(line == "01234");  // its head, for a log line
    REQUIRE(f.reads == 1);
  }
  {
    // Exactly max_len, with its "\r\n" split across reads: fine.
    auto f = FakeReader::chunks({"abcde\r", "\nabcdef\nx\n"});
    gort::bufio::Reader r(f, 64);
    REQUIRE(r.read_line(line, 5, ec));
    REQUIRE(line == "abcde");
    // One more byte: too long; its newline was in view, so the line is gone.
    REQUIRE(!r.read_line(line, 5, ec));
    REQUIRE(ec == errc::line_too_long);
    REQUIRE(line == "abcde");
    REQUIRE(r.read_line(line, 5, ec));
    REQUIRE(line == "x");
  }
  {
    // max_len bytes and a '\r' not followed by '\n': the '\r' is content.
    auto f = FakeReader::chunks({"abcde\r", "z\n"});
    gort::bufio::Reader r(f, 64);
    REQUIRE(!r.read_line(line, 5, ec));
    REQUIRE(ec == errc::line_too_long);
    REQUIRE(line == "abcde");
  }
  {
    // The same at EOF: "abcde\r" is a 6-byte last line.
    auto f = FakeReader::chunks({"abcde\r"});
    gort::bufio::Reader r(f, 64);
    REQUIRE(!r.read_line(line, 5, ec));
    REQUIRE(ec == errc::line_too_long);
  }
  // The throwing overload throws it.
  auto f = FakeReader::chunks({"aaaaaaaaaa\n"});
  gort::bufio::Reader r(f);
  try {
    r.read_line(line, 3);
    FAIL("no exception");
  } catch (const std::system_error& e) {
    REQUIRE(e.code() == errc::line_too_long);
    REQUIRE(std::string(e.what()) == "bufio: line too long");
  }
}

TEST_CASE("bufio: an error in the middle of a line fails read_line with that error", "[bufio]") {
  FakeReader f{{"half"}, {"", kReset}, {"rest\n"}};
  gort::bufio::Reader r(f, 16);
  std::string line;
  std::error_code ec;
  REQUIRE(!r.read_line(line, 100, ec));
  REQUIRE(ec == kReset);
  REQUIRE(line == "half");  // consumed, handed over
  REQUIRE(r.read_line(line, 100, ec));
  REQUIRE(line == "rest");
}

TEST_CASE("bufio: read_until keeps the delimiter, limits the token and returns the tail at EOF", "[bufio]") {
  auto f = FakeReader::chunks({"key1=v", "al;key2=", "value2;tail"});
  gort::bufio::Reader r(f, 16);
  std::string tok;
  std::error_code ec;
  REQUIRE(r.read_until(';', tok, 100, ec));
  REQUIRE(tok == "key1=val;");
  REQUIRE(!r.read_until(';', tok, 5, ec));  // "key2=value2;" is 12 > 5
  REQUIRE(ec == errc::line_too_long);
  REQUIRE(tok == "key2=");
  REQUIRE(r.read_until(';', tok, 100, ec));
  REQUIRE(tok == "value2;");
  REQUIRE(!r.read_until(';', tok, 100, ec));
  REQUIRE(ec == errc::eof);
  REQUIRE(tok == "tail");
  // A limit exactly the token's size, delimiter included, is enough.
  auto g = FakeReader::chunks({"abcd;"});
  gort::bufio::Reader r2(g, 16);
  REQUIRE(r2.read_until(';', tok, 5, ec));
  REQUIRE(tok == "abcd;");
  // Throwing overload: false at the end, with the tail.
  auto h = FakeReader::chunks({"a;b"});
  gort::bufio::Reader r3(h, 16);
  REQUIRE(r3.read_until(';', tok, 10));
  REQUIRE(!r3.read_until(';', tok, 10));
  REQUIRE(tok == "b");
}

TEST_CASE("bufio: read_full is unexpected_eof after some bytes and eof after none", "[bufio]") {
  auto f = FakeReader::chunks({"ab", "cd", "e"});
  gort::bufio::Reader r(f, 16);
  std::array<char, 4> buf;
  std::error_code ec;
  REQUIRE(r.read_full(buf, ec) == 4);
  REQUIRE(!ec);
  REQUIRE(r.read_full(buf, ec) == 1);
  REQUIRE(ec == errc::unexpected_eof);
  REQUIRE(r.read_full(buf, ec) == 0);
  REQUIRE(ec == errc::eof);
  REQUIRE_THROWS_AS(r.read_full(buf), std::system_error);
}

TEST_CASE("bufio: discard skips buffered and unread bytes and is short at EOF", "[bufio]") {
  auto f = FakeReader::chunks({"0123456789", std::string(50, 'x'), "end"});
  gort::bufio::Reader r(f, 16);
  std::error_code ec;
  REQUIRE(str(r.peek(2, ec)) == "01");
  REQUIRE(r.discard(5, ec) == 5);
  REQUIRE(str(r.peek(2, ec)) == "56");
  REQUIRE(r.discard(55, ec) == 55);  // the buffered 5, then 50 more through the buffer
  REQUIRE(!ec);
  REQUIRE(str(r.peek(3, ec)) == "end");
  REQUIRE(r.discard(10, ec) == 3);
  REQUIRE(ec == errc::eof);
  REQUIRE(r.discard(0, ec) == 0);
  REQUIRE(!ec);
}

TEST_CASE("bufio: buffered_view, consume and fill let a parser look before it consumes", "[bufio]") {
  // A tiny parser: messages end with "\r\n\r\n", which arrives split.
  auto f = FakeReader::chunks({"HEAD 1\r", "\n\r", "\nHEAD 2\r\n\r\nrest"});
  gort::bufio::Reader r(f, 32);
  std::vector<std::string> got;
  std::error_code ec;
  while (got.size() < 2) {
    std::string_view v(r.buffered_view().data(), r.buffered());
    if (auto end = v.find("\r\n\r\n"); end != std::string_view::npos) {
      got.emplace_back(v.substr(0, end));
      r.consume(end + 4);
      continue;
    }
    REQUIRE(r.fill(ec) > 0);
  }
  REQUIRE(got == std::vector<std::string>{"HEAD 1", "HEAD 2"});
  REQUIRE(str(r.buffered_view()) == "rest");
  // A full buffer: fill refuses; consuming makes room, and fill compacts.
  auto g = FakeReader::chunks({std::string(16, 'a'), "bcd"});
  gort::bufio::Reader r2(g, 16);
  REQUIRE(r2.fill(ec) == 16);
  REQUIRE(r2.fill(ec) == 0);
  REQUIRE(ec == errc::buffer_full);
  r2.consume(10);
  REQUIRE(r2.fill(ec) == 3);
  REQUIRE(str(r2.buffered_view()) == "aaaaaabcd");
  REQUIRE(r2.fill(ec) == 0);
  REQUIRE(ec == errc::eof);
}

TEST_CASE("bufio: a source that returns nothing and no error fails with no_progress", "[bufio]") {
  FakeReader f{};
  for (int i = 0; i < 300; i++) f.steps.push_back({});
  gort::bufio::Reader r(f, 16);
  std::array<char, 4> buf;
  std::error_code ec;
  REQUIRE(r.read(buf, ec) == 0);
  REQUIRE(ec == errc::no_progress);
  REQUIRE(f.reads == 100);
  REQUIRE(gort::io::read_full(f, buf, ec) == 0);
  REQUIRE(ec == errc::no_progress);
}

TEST_CASE("bufio: reset drops buffered data and reads the new source", "[bufio]") {
  auto f = FakeReader::chunks({"old data\n"});
  auto g = FakeReader::chunks({"new\n"});
  gort::bufio::Reader r(f, 16);
  std::error_code ec;
  REQUIRE(str(r.peek(3, ec)) == "old");
  r.reset(g);
  REQUIRE(r.buffered() == 0);
  std::string line;
  REQUIRE(r.read_line(line, 10, ec));
  REQUIRE(line == "new");
  REQUIRE(r.size() == 16);
}

// ---------------------------------------------------------------- Writer

TEST_CASE("bufio: Writer buffers small writes until flush", "[bufio]") {
  FakeWriter f;
  gort::bufio::Writer w(f, 16);
  std::error_code ec;
  REQUIRE(w.write("abc", ec) == 3);  // a literal, without its NUL
  REQUIRE(w.write(std::string("defg"), ec) == 4);
  w.put('!', ec);
  REQUIRE(w.buffered() == 8);
  REQUIRE(w.available() == 8);
  REQUIRE(f.calls.empty());
  w.flush(ec);
  REQUIRE(!ec);
  REQUIRE(f.out == "abcdefg!");
  REQUIRE(f.calls.size() == 1);
  w.flush(ec);  // nothing buffered: no call
  REQUIRE(f.calls.size() == 1);
  // put flushes a full buffer first.
  for (int i = 0; i < 17; i++) w.put('x');
  REQUIRE(f.calls.size() == 2);
  REQUIRE(w.buffered() == 1);
}

TEST_CASE("bufio: Writer sends a large write straight through when its buffer is empty", "[bufio]") {
  FakeWriter f;
  gort::bufio::Writer w(f, 16);
  std::string big(100, 'b');
  REQUIRE(w.write(big) == 100);
  REQUIRE(f.calls.size() == 1);
  REQUIRE(f.calls[0].bytes == 100);
  REQUIRE(w.buffered() == 0);
  REQUIRE(f.out == big);
}

TEST_CASE("bufio: Writer sends buffered bytes and a large write in one writev", "[bufio]") {
  std::string big(100, 'b');
  {
    FakeWriter f;
    gort::bufio::Writer w(f, 16);
    w.write("head:");
    REQUIRE(w.write(big) == 100);
    REQUIRE(f.calls.size() == 1);
    REQUIRE(f.calls[0].gather);
    REQUIRE(f.calls[0].buffers == 2);
    REQUIRE(f.calls[0].bytes == 105);
    REQUIRE(f.out == "head:" + big);
    REQUIRE(w.buffered() == 0);
  }
  {
    // A sink without writev: one write per buffer, same bytes.
    PlainWriter p;
    gort::bufio::Writer w(p, 16);
    w.write("head:");
    REQUIRE(w.write(big) == 100);
    REQUIRE(p.w.calls.size() == 2);
    REQUIRE(p.w.out == "head:" + big);
  }
  {
    // The writev fails halfway through p: the bytes of p written are returned.
    FakeWriter f;
    f.budget = 50;
    gort::bufio::Writer w(f, 16);
    w.write("head:");
    std::error_code ec;
    REQUIRE(w.write(big, ec) == 45);
    REQUIRE(ec == kReset);
    REQUIRE(w.buffered() == 0);
  }
  {
    // It fails inside the buffered bytes: the rest of them stay buffered.
    FakeWriter f;
    f.budget = 2;
    gort::bufio::Writer w(f, 16);
    w.write("head:");
    std::error_code ec;
    REQUIRE(w.write(big, ec) == 0);
    REQUIRE(ec == kReset);
    REQUIRE(w.buffered() == 3);
  }
}

TEST_CASE("bufio: Writer tops up and flushes for a small write that does not fit", "[bufio]") {
  FakeWriter f;
  gort::bufio::Writer w(f, 16);
  w.write("0123456789");
  REQUIRE(w.write("abcdefghij") == 10);  // 6 fill the buffer, which goes out; 4 stay
  REQUIRE(f.calls.size() == 1);
  REQUIRE(!f.calls[0].gather);
  REQUIRE(f.out == "0123456789abcdef");
  REQUIRE(w.buffered() == 4);
  w.flush();
  REQUIRE(f.out == "0123456789abcdefghij");
}

TEST_CASE("bufio: Writer errors are sticky and unwritten bytes stay buffered", "[bufio]") {
  FakeWriter f;
  f.budget = 3;
  gort::bufio::Writer w(f, 16);
  std::error_code ec;
  w.write("abcdef", ec);
  w.flush(ec);
  REQUIRE(ec == kReset);
  REQUIRE(f.out == "abc");
  REQUIRE(w.buffered() == 3);  // "def"
  REQUIRE(w.error() == kReset);
  // Every later call fails with the same error and writes nothing.
  f.budget = SIZE_MAX;
  std::size_t calls = f.calls.size();
  REQUIRE(w.write("x", ec) == 0);
  REQUIRE(ec == kReset);
  w.put('y', ec);
  REQUIRE(ec == kReset);
  w.flush(ec);
  REQUIRE(ec == kReset);
  REQUIRE(f.calls.size() == calls);
  REQUIRE_THROWS_AS(w.flush(), std::system_error);
  // reset() starts afresh.
  w.reset(f);
  REQUIRE(!w.error());
  REQUIRE(w.buffered() == 0);
  w.write("ok");
  w.flush();
  REQUIRE(f.out == "abcok");
}

TEST_CASE("bufio: Writer reports a short write without an error as short_write", "[bufio]") {
  FakeWriter f;
  f.budget = 2;
  f.short_without_error = true;
  gort::bufio::Writer w(f, 16);
  std::error_code ec;
  w.write("abcd", ec);
  w.flush(ec);
  REQUIRE(ec == errc::short_write);
  REQUIRE(std::string(ec.message()) == "short write");
  REQUIRE(w.buffered() == 2);
}

// ---------------------------------------------------------------- io

TEST_CASE("io: read_full fills the span or reports unexpected_eof, eof or the source's error", "[io]") {
  std::array<char, 5> buf;
  std::error_code ec;
  {
    auto f = FakeReader::chunks({"ab", "c", "de"});
    REQUIRE(gort::io::read_full(f, buf, ec) == 5);
    REQUIRE(!ec);
    REQUIRE(str(buf) == "abcde");
    REQUIRE(f.reads == 3);
  }
  {
    // Go: an error that comes with the last bytes needed is no error.
    FakeReader f{{"abcde", errc::eof}};
    REQUIRE(gort::io::read_full(f, buf, ec) == 5);
    REQUIRE(!ec);
  }
  {
    auto f = FakeReader::chunks({"ab"});
    REQUIRE(gort::io::read_full(f, buf, ec) == 2);
    REQUIRE(ec == errc::unexpected_eof);
    REQUIRE(gort::io::read_full(f, buf, ec) == 0);
    REQUIRE(ec == errc::eof);
    REQUIRE_THROWS_WITH(gort::io::read_full(f, buf), "EOF");
  }
  {
    FakeReader f{{"ab", kReset}};
    REQUIRE(gort::io::read_full(f, buf, ec) == 2);
    REQUIRE(ec == kReset);
  }
}

TEST_CASE("io: copy runs to EOF, passes read and write errors on, copy_n stops at n", "[io]") {
  std::string data(100000, 'd');
  for (std::size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>('a' + i % 26);
  std::error_code ec;
  {
    FakeReader src{{data.substr(0, 40000)}, {data.substr(40000)}};
    FakeWriter dst;
    REQUIRE(gort::io::copy(dst, src, ec) == data.size());
    REQUIRE(!ec);  // EOF ends a copy; it is no error
    REQUIRE(dst.out == data);
    REQUIRE(std::all_of(src.asked.begin(), src.asked.end(), [](std::size_t n) { return n == 32 * 1024; }));
  }
  {
    FakeReader src{{"abc"}, {"def", kReset}};
    FakeWriter dst;
    REQUIRE(gort::io::copy(dst, src, ec) == 6);  // the bytes with the error are written first
    REQUIRE(ec == kReset);
    FakeReader again{{"abc", kReset}};
    REQUIRE_THROWS_AS(gort::io::copy(dst, again), std::system_error);
  }
  {
    FakeReader src{{data}};
    FakeWriter dst;
    dst.budget = 10;
    REQUIRE(gort::io::copy(dst, src, ec) == 10);
    REQUIRE(ec == kReset);
  }
  {
    FakeReader src{{data}};
    FakeWriter dst;
    std::array<char, 7> small;
    REQUIRE(gort::io::copy_buffer(dst, src, small, ec) == data.size());
    REQUIRE(!ec);
    REQUIRE(src.asked[0] == 7);
  }
  {
    FakeReader src{{data}};
    FakeWriter dst;
    REQUIRE(gort::io::copy_n(dst, src, 12345, ec) == 12345);
    REQUIRE(!ec);
    REQUIRE(dst.out == data.substr(0, 12345));
    REQUIRE(gort::io::copy_n(dst, src, 100000, ec) == data.size() - 12345);
    REQUIRE(ec == errc::eof);  // Go's CopyN: short because the source ended
  }
}

TEST_CASE("io: ReaderRef and WriterRef adapt Asio-style streams", "[io]") {
  AsioStream s;
  s.in = "line one\nline two\n";
  gort::bufio::Reader r(s, 16);
  std::string line;
  std::error_code ec;
  REQUIRE(r.read_line(line, 100, ec));
  REQUIRE(line == "line one");
  REQUIRE(r.read_line(line, 100, ec));
  REQUIRE(!r.read_line(line, 100, ec));
  REQUIRE(ec == errc::eof);  // Asio's eof reads as gort's
  // Gather writes go through write_some, which takes 5 bytes a call here.
  gort::io::WriterRef w = s;
  std::string a = "0123456789", b = "abcdefghijklmnopq";
  std::array<std::span<const char>, 3> bufs{std::span<const char>(a), std::span<const char>(), std::span<const char>(b)};
  REQUIRE(w.writev(bufs, ec) == 27);
  REQUIRE(!ec);
  REQUIRE(s.out == a + b);
  REQUIRE(s.write_calls == 6);
  REQUIRE(w.write(std::string_view("xyz"), ec) == 3);
  s.broken = true;
  REQUIRE(w.write(std::string_view("xyz"), ec) == 0);
  REQUIRE(ec == std::errc::broken_pipe);
}

// ---------------------------------------------------------------- over sockets

TEST_CASE("bufio: Reader and Writer over a real Conn pair, with writev and io::copy", "[bufio][net]") {
  std::vector<std::string> lines;
  std::string big_back;
  std::size_t copied = 0;
  std::error_code copy_ec;
  gort::run([&] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    gort::net::Conn client = gort::net::dial("tcp", ln.address().string());
    gort::net::Conn server = ln.accept();
    std::string big(200000, 'q');
    for (std::size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>('A' + i % 26);
    gort::WaitGroup wg;
    wg.add(1);
    gort::go([&] {
      gort::bufio::Reader in(server, 64);
      gort::bufio::Writer out(server, 64);
      std::string line;
      std::error_code ec;
      while (lines.size() < 3 && in.read_line(line, 1000, ec)) {
        lines.push_back(line);
        out.write("got ");
        out.write(line);
        out.put('\n');
        out.flush(ec);
      }
      // "len:" then the bytes, the way a framed body comes.
      std::string n;
      in.read_until(':', n, 20, ec);
      big_back.resize(std::stoul(n));
      in.read_full(big_back, ec);
      // The rest, until the client half-closes.
      copied = gort::io::copy(out, in, copy_ec);  // bufio::Writer is a sink, bufio::Reader a source
      if (!copy_ec) out.flush(copy_ec);
      server.close_write();
      wg.done();
    });
    client.write(std::string_view("hel"));
    client.write(std::string_view("lo\r\nwor"));
    client.write(std::string_view("ld\nthird\n"));
    gort::bufio::Reader in(client);
    std::string reply;
    for (const char* want : {"got hello", "got world", "got third"}) {
      REQUIRE(in.read_line(reply, 100));
      REQUIRE(reply == want);
    }
    // Buffered bytes and a large body in one writev through the Conn.
    gort::bufio::Writer out(client, 4096);
    out.write(std::to_string(big.size() + 7) + ":");
    out.write("prefix:");
    out.write(big);
    REQUIRE(out.buffered() == 0);
    out.write("echo me back");
    out.flush();
    client.close_write();
    std::string echoed;
    REQUIRE(!in.read_until('\0', echoed, 100));  // everything up to the server's EOF
    REQUIRE(echoed == "echo me back");
    wg.wait();
    REQUIRE(big_back == "prefix:" + big);
  });
  REQUIRE(lines == std::vector<std::string>{"hello", "world", "third"});
  REQUIRE(!copy_ec);
  REQUIRE(copied == 12);
}
