// fuzz_bufio - gort::bufio::Reader and Writer (and io::read_full, copy,
// copy_n) over in-memory streams whose chunking the input chooses.
//
// Input: [flags][size][len lo][len hi][len bytes of payload][n][n chunk
// sizes][operations...] (fuzz/make_corpus.py writes seeds in this format).
// flags bit 0: Writer instead of Reader; bit 1: the Asio flavour of the
// stream; bit 2: the stream ends with a reset instead of EOF (Reader) / the
// sink fails quietly with a short count (Writer); bit 3: the end error comes
// with the last bytes; bit 4 (Writer): a sink with writev.
//
// Reader invariants, checked after every operation: every byte an operation
// returns or consumes is the next byte of the payload (a model tracks the
// position); bytes delivered by the source minus bytes consumed equals
// buffered(); peek returns exactly n bytes or an error (buffer_full iff n >
// size()); read returns 1..len(p) bytes or an error; read_slice's slice ends
// at the first delimiter and fits the buffer; read_line's line has no '\n',
// is at most max_len long, and its terminator ("\n", "\r\n" or the end of the
// stream) is what follows it; line_too_long only for a line really longer
// than the limit; read_until likewise; read_full and discard return all or an
// error (eof only with nothing read, unexpected_eof in between); errors are
// only the ones the stream produced. At the end, copying the rest out gives
// exactly the unread payload.
//
// Writer invariants: the sink's bytes are a prefix of the bytes the Writer
// accepted, and the sink's bytes plus buffered() are all of them; buffered()
// <= size(); an error is sticky (later writes take nothing and return it); a
// flush without an error leaves the sink holding everything accepted.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gort/net/bufio.hpp"
#include "gort/net/io.hpp"
#include "support/check.hpp"
#include "support/fuzz_io.hpp"

namespace {

using gort::net::errc;
using fuzz::Script;

std::string_view sv(std::span<const char> s) { return {s.data(), s.size()}; }
std::size_t arg16(Script& ops) { return ops.next(0) | std::size_t{ops.next(0)} << 8; }

struct ReaderCase {
  fuzz::Source& src;
  gort::io::ReaderRef ref;  // src, or its Asio flavour
  gort::bufio::Reader& r;
  std::size_t pos = 0;  // payload bytes consumed through r
  bool lost = false;    // after line_too_long the position inside the line is unspecified

  std::string_view rest() const { return std::string_view(src.data).substr(pos); }
  bool is_prefix(std::string_view s) const { return rest().substr(0, s.size()) == s && s.size() <= rest().size(); }
  bool is_end(const std::error_code& ec) const { return ec == src.end || ec == errc::no_progress; }
  // Where the stream ended cleanly, every byte was delivered.
  void check_end(const std::error_code& ec) const {
    FUZZ_CHECK(is_end(ec));
    if (ec == errc::eof) FUZZ_CHECK(src.pos == src.data.size());
  }
  void consumed(std::string_view s) {
    FUZZ_CHECK(is_prefix(s));
    pos += s.size();
  }

  void step(std::uint8_t op, Script& ops) {
    std::error_code ec;
    const std::size_t size = r.size();
    switch (op % 11) {
      case 0: {  // peek
        std::size_t n = arg16(ops) % (size + 8);
        auto v = r.peek(n, ec);
        FUZZ_CHECK(is_prefix(sv(v)));
        if (n > size) {
          FUZZ_CHECK(ec == errc::buffer_full && v.size() == r.buffered());
        } else if (!ec) {
          FUZZ_CHECK(v.size() == n);
        } else {
          check_end(ec);
          FUZZ_CHECK(v.size() < n && v.size() == r.buffered());
        }
        break;
      }
      case 1: {  // read
        std::vector<char> p(arg16(ops) % (2 * size + 1));
        std::size_t n = r.read(p, ec);
        if (!ec) {
          FUZZ_CHECK(p.empty() ? n == 0 : (n >= 1 && n <= p.size()));
        } else {
          check_end(ec);
          FUZZ_CHECK(n == 0);
        }
        consumed({p.data(), n});
        break;
      }
      case 2: {  // read_slice
        char delim = static_cast<char>(ops.next('\n'));
        auto v = r.read_slice(delim, ec);
        std::string_view s = sv(v);
        consumed(s);
        FUZZ_CHECK(s.size() <= size);
        std::string_view body = !ec && !s.empty() ? s.substr(0, s.size() - 1) : s;
        FUZZ_CHECK(body.find(delim) == std::string_view::npos);
        if (!ec) {
          FUZZ_CHECK(!s.empty() && s.back() == delim);
        } else if (ec == errc::buffer_full) {
          FUZZ_CHECK(s.size() == size);
        } else {
          check_end(ec);
        }
        break;
      }
      case 3: {  // read_line
        std::size_t max = arg16(ops) % (2 * size + 4);
        std::string line = "stale";
        bool ok = r.read_line(line, max, ec);
        FUZZ_CHECK(ok == !ec);
        FUZZ_CHECK(line.find('\n') == std::string::npos);
        FUZZ_CHECK(is_prefix(line));
        std::string_view after = rest().substr(line.size());
        if (ok) {
          FUZZ_CHECK(line.size() <= max);
          std::size_t term = after.starts_with('\n') ? 1 : after.starts_with("\r\n") ? 2 : 0;
          FUZZ_CHECK(term > 0 || after.empty());
          pos += line.size() + term;
        } else if (ec == errc::line_too_long) {
          FUZZ_CHECK(line.size() == max);
          std::string_view all = rest();
          std::size_t nl = all.find('\n');
          std::size_t content = nl == std::string_view::npos ? all.size() : nl > 0 && all[nl - 1] == '\r' ? nl - 1 : nl;
          FUZZ_CHECK(content > max);
          lost = true;
        } else {
          check_end(ec);
          if (ec == errc::eof) FUZZ_CHECK(line.empty());
          pos += line.size();
        }
        break;
      }
      case 4: {  // read_until
        char delim = static_cast<char>(ops.next('\n'));
        std::size_t max = arg16(ops) % (2 * size + 4);
        std::string out = "stale";
        bool ok = r.read_until(delim, out, max, ec);
        FUZZ_CHECK(ok == !ec);
        FUZZ_CHECK(out.size() <= max);
        std::size_t first = out.find(delim);
        if (ok) {
          FUZZ_CHECK(!out.empty() && first == out.size() - 1);
        } else if (ec == errc::line_too_long) {
          FUZZ_CHECK(out.size() == max && first == std::string::npos);
          std::size_t d = rest().find(delim);
          FUZZ_CHECK(d == std::string_view::npos || d >= max);  // the token with its delimiter exceeds max
        } else {
          check_end(ec);
          FUZZ_CHECK(first == std::string::npos);
        }
        consumed(out);
        break;
      }
      case 5: {  // read_full
        std::vector<char> p(arg16(ops) % (2 * size + 1));
        std::size_t n = r.read_full(p, ec);
        FUZZ_CHECK(n <= p.size());
        if (!ec) {
          FUZZ_CHECK(n == p.size());
        } else if (ec == errc::unexpected_eof) {
          FUZZ_CHECK(src.end == errc::eof && n > 0 && n < p.size() && src.pos == src.data.size());
        } else {
          check_end(ec);
          FUZZ_CHECK(n < p.size());
          if (ec == errc::eof) FUZZ_CHECK(n == 0);
        }
        consumed({p.data(), n});
        break;
      }
      case 6: {  // discard
        std::size_t k = arg16(ops) % (3 * size + 1);
        std::size_t n = r.discard(k, ec);
        if (!ec) {
          FUZZ_CHECK(n == k);
        } else {
          check_end(ec);
          FUZZ_CHECK(n < k);
        }
        FUZZ_CHECK(n <= rest().size());
        pos += n;
        break;
      }
      case 7: {  // fill
        std::size_t before = r.buffered();
        std::size_t n = r.fill(ec);
        if (!ec) {
          FUZZ_CHECK(n > 0 && r.buffered() == before + n);
        } else if (ec == errc::buffer_full) {
          FUZZ_CHECK(n == 0 && before == size);
        } else {
          check_end(ec);
          FUZZ_CHECK(n == 0 && r.buffered() == before);
        }
        break;
      }
      case 8: {  // buffered_view + consume
        auto v = r.buffered_view();
        FUZZ_CHECK(v.size() == r.buffered() && v.size() <= size);
        FUZZ_CHECK(is_prefix(sv(v)));
        std::size_t k = ops.next(0) % (v.size() + 2);
        r.consume(k);
        pos += std::min(k, v.size());
        break;
      }
      case 9: {  // copy_n to a sink
        fuzz::Sink sink;
        std::size_t k = arg16(ops) % (3 * size + 1);
        std::size_t n = gort::io::copy_n(sink, r, k, ec);
        FUZZ_CHECK(n == sink.out.size());
        if (!ec) {
          FUZZ_CHECK(n == k);
        } else {
          check_end(ec);
          FUZZ_CHECK(n < k);
        }
        consumed(sink.out);
        break;
      }
      case 10: {  // reset onto the same source: buffered bytes are dropped
        r.reset(ref);
        pos = src.pos;
        break;
      }
    }
    if (!lost) FUZZ_CHECK(src.pos - pos == r.buffered());
    FUZZ_CHECK(r.buffered() <= size);
  }

  // The rest, copied out, is exactly the unread payload.
  void drain(Script& ops) {
    fuzz::Sink sink;
    std::vector<char> buf(1 + ops.next(255) % 64 * 8);
    std::error_code ec;
    gort::io::copy_buffer(sink, r, buf, ec);
    FUZZ_CHECK(is_prefix(sink.out));
    if (!ec) {
      FUZZ_CHECK(src.end == errc::eof && sink.out == rest());
    } else {
      check_end(ec);
    }
  }
};

struct WriterCase {
  gort::bufio::Writer& w;
  const std::string& out;  // the sink's bytes
  std::string accepted;    // what the Writer took (since the last reset), sink's bytes first

  void check() const {
    FUZZ_CHECK(w.buffered() <= w.size() && w.available() == w.size() - w.buffered());
    FUZZ_CHECK(out.size() <= accepted.size() && std::string_view(accepted).substr(0, out.size()) == out);
    FUZZ_CHECK(out.size() + w.buffered() == accepted.size());
  }
  void checked_error(const std::error_code& ec, const std::error_code& sticky) const {
    FUZZ_CHECK(ec == fuzz::kReset || ec == errc::short_write);
    FUZZ_CHECK(w.error() == ec);
    if (sticky) FUZZ_CHECK(ec == sticky);
  }

  void step(std::uint8_t op, Script& ops, std::string_view payload, std::size_t& next) {
    std::error_code ec, sticky = w.error();
    std::size_t buffered = w.buffered();
    switch (op % 5) {
      case 0:
      case 1: {  // write: a span, or a string_view (the template overload)
        std::size_t k = std::min(arg16(ops) % (3 * w.size() + 1), payload.size() - next);
        std::string_view p = payload.substr(next, k);
        next += k;
        std::size_t n = op % 5 == 0 ? w.write(std::span<const char>(p.data(), p.size()), ec) : w.write(p, ec);
        FUZZ_CHECK(n <= k);
        if (!ec) {
          FUZZ_CHECK(n == k);
        } else {
          checked_error(ec, sticky);
          if (sticky) FUZZ_CHECK(n == 0 && w.buffered() == buffered);
        }
        accepted.append(p.substr(0, n));
        break;
      }
      case 2: {  // put
        char c = static_cast<char>(ops.next('x'));
        w.put(c, ec);
        if (!ec) {
          accepted.push_back(c);
        } else {
          checked_error(ec, sticky);
        }
        break;
      }
      case 3:  // flush
        w.flush(ec);
        if (!ec) {
          FUZZ_CHECK(w.buffered() == 0 && out == accepted);
        } else {
          checked_error(ec, sticky);
        }
        break;
      case 4:  // reset (onto the same sink): buffered bytes and the error go
        if (ops.next(0) % 4 != 0) break;  // rarely, or errors would seldom stick
        w.reset(w_ref);
        FUZZ_CHECK(w.buffered() == 0 && !w.error());
        accepted = out;
        break;
    }
    check();
  }
  gort::io::WriterRef w_ref;
};

template <class Sink>
void run_writer(Sink& sink, const std::string& out, std::size_t size, Script& ops, std::string_view payload) {
  gort::bufio::Writer w(sink, size);
  WriterCase c{w, out, {}, gort::io::WriterRef(sink)};
  std::size_t next = 0;
  while (!ops.empty()) c.step(ops.next(0), ops, payload, next);
  std::error_code ec;
  w.flush(ec);
  if (!ec) FUZZ_CHECK(out == c.accepted);
  c.check();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Script in{data, size};
  std::uint8_t flags = in.next(0);
  std::size_t bufsize = in.next(0);
  std::size_t len = in.next(0) | std::size_t{in.next(0)} << 8;
  len = std::min(len, in.n);
  std::string payload(reinterpret_cast<const char*>(in.p), len);
  in.p += len;
  in.n -= len;
  std::size_t nchunks = std::min<std::size_t>(in.next(0), in.n);
  Script chunks{in.p, nchunks};
  Script ops{in.p + nchunks, in.n - nchunks};

  if (flags & 1) {
    std::size_t budget = bufsize == 0 ? SIZE_MAX : (chunks.next(255) * std::size_t{7});
    std::size_t wsize = bufsize;  // 0: the default size
    if ((flags >> 1) & 1) {
      fuzz::AsioSink sink{.budget = budget, .chunks = chunks};
      run_writer(sink, sink.out, wsize, ops, payload);
    } else if ((flags >> 4) & 1) {
      fuzz::GatherSink sink;
      sink.budget = budget;
      sink.quiet = (flags >> 2) & 1;
      run_writer(sink, sink.out, wsize, ops, payload);
    } else {
      fuzz::Sink sink{.budget = budget, .quiet = ((flags >> 2) & 1) != 0};
      run_writer(sink, sink.out, wsize, ops, payload);
    }
    return 0;
  }

  fuzz::AsioSource asio{fuzz::Source{.data = payload, .chunks = chunks}};
  fuzz::Source& src = asio.s;
  if ((flags >> 2) & 1) src.end = fuzz::kReset;
  src.end_with_data = (flags >> 3) & 1;
  bool use_asio = (flags >> 1) & 1;
  gort::io::ReaderRef ref = use_asio ? gort::io::ReaderRef(asio) : gort::io::ReaderRef(src);
  gort::bufio::Reader r(ref, bufsize);  // below kMinSize: kMinSize
  ReaderCase c{src, ref, r};
  while (!ops.empty() && !c.lost) c.step(ops.next(0), ops);
  if (!c.lost) c.drain(ops);
  return 0;
}
