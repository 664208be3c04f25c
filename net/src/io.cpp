// io.cpp - see io.hpp. Go: io/io.go.
#include "gort/net/io.hpp"

#include <boost/asio/error.hpp>
#include <algorithm>
#include <limits>
#include <memory>

namespace gort::io {

using net::errc;

namespace {
// Go: io.go, the loop bound behind ErrNoProgress (bufio's maxConsecutiveEmptyReads).
constexpr int kMaxEmptyReads = 100;
constexpr std::size_t kCopyBuffer = 32 * 1024;  // Go: io.copyBuffer's default size
}  // namespace

namespace detail {
std::error_code from_asio(const boost::system::error_code& e) noexcept {
  if (!e) return {};
  if (e == boost::asio::error::eof) return errc::eof;
  if (e == boost::asio::error::operation_aborted) return errc::closed;
  if (e == boost::asio::error::timed_out) return errc::timed_out;
  if (e.category() == boost::system::system_category() || e.category() == boost::system::generic_category()) {
    return {e.value(), std::generic_category()};
  }
  return e;
}
}  // namespace detail

void throw_error(const std::error_code& ec) { throw std::system_error(ec); }

std::size_t ReaderRef::read(std::span<char> buf) const {
  std::error_code ec;
  std::size_t n = read(buf, ec);
  if (ec && n == 0) throw_error(ec);
  return n;
}

std::size_t WriterRef::write(std::span<const char> buf) const {
  std::error_code ec;
  std::size_t n = write(buf, ec);
  if (ec) throw_error(ec);
  return n;
}

std::size_t WriterRef::writev(std::span<const std::span<const char>> bufs) const {
  std::error_code ec;
  std::size_t n = writev(bufs, ec);
  if (ec) throw_error(ec);
  return n;
}

// Go: io.ReadFull -> io.ReadAtLeast(r, buf, len(buf)).
std::size_t read_full(ReaderRef r, std::span<char> buf, std::error_code& ec) {
  ec.clear();
  std::size_t n = 0;
  int empty = 0;
  while (n < buf.size()) {
    std::error_code e;
    std::size_t k = r.read(buf.subspan(n), e);
    n += k;
    if (e) {
      // Go: an error that comes with the last bytes needed is no error.
      if (n == buf.size()) return n;
      ec = (e == errc::eof && n > 0) ? make_error_code(errc::unexpected_eof) : e;
      return n;
    }
    empty = k == 0 ? empty + 1 : 0;
    if (empty >= kMaxEmptyReads) {
      ec = errc::no_progress;
      return n;
    }
  }
  return n;
}

std::size_t read_full(ReaderRef r, std::span<char> buf) {
  std::error_code ec;
  std::size_t n = read_full(r, buf, ec);
  if (ec) throw_error(ec);
  return n;
}

namespace {

// The loop of io.copyBuffer and io.CopyN: moves at most `limit` bytes through
// buf. The source's end of stream is an error only when `eof_is_error` (CopyN
// stopping short); a short write is errc::short_write; a source that keeps
// returning nothing is errc::no_progress.
std::size_t copy_loop(WriterRef dst, ReaderRef src, std::span<char> buf, std::size_t limit, bool eof_is_error,
                      std::error_code& ec) {
  std::size_t written = 0;
  int empty = 0;
  while (written < limit) {
    std::error_code re;
    std::size_t nr = src.read(buf.first(std::min(buf.size(), limit - written)), re);
    if (nr > 0) {
      std::error_code we;
      std::size_t nw = dst.write(buf.first(nr), we);
      written += nw;
      if (we) {
        ec = we;
        return written;
      }
      if (nw != nr) {
        ec = errc::short_write;
        return written;
      }
    }
    if (re) {
      if (re != errc::eof || (eof_is_error && written < limit)) ec = re;
      return written;
    }
    empty = nr == 0 ? empty + 1 : 0;
    if (empty >= kMaxEmptyReads) {
      ec = errc::no_progress;
      return written;
    }
  }
  return written;
}

}  // namespace

// Go: io.copyBuffer (without the WriterTo/ReaderFrom shortcuts: a type-erased
// reference cannot ask its target for them).
std::size_t copy_buffer(WriterRef dst, ReaderRef src, std::span<char> buf, std::error_code& ec) {
  ec.clear();
  if (buf.empty()) {  // Go panics ("empty buffer in CopyBuffer")
    ec = std::make_error_code(std::errc::invalid_argument);
    return 0;
  }
  return copy_loop(dst, src, buf, std::numeric_limits<std::size_t>::max(), false, ec);
}

std::size_t copy_buffer(WriterRef dst, ReaderRef src, std::span<char> buf) {
  std::error_code ec;
  std::size_t n = copy_buffer(dst, src, buf, ec);
  if (ec) throw_error(ec);
  return n;
}

std::size_t copy(WriterRef dst, ReaderRef src, std::error_code& ec) {
  auto buf = std::make_unique_for_overwrite<char[]>(kCopyBuffer);
  return copy_buffer(dst, src, {buf.get(), kCopyBuffer}, ec);
}

std::size_t copy(WriterRef dst, ReaderRef src) {
  std::error_code ec;
  std::size_t n = copy(dst, src, ec);
  if (ec) throw_error(ec);
  return n;
}

// Go: io.CopyN (Copy from a LimitReader, then EOF if short).
std::size_t copy_n(WriterRef dst, ReaderRef src, std::size_t n, std::error_code& ec) {
  ec.clear();
  if (n == 0) return 0;
  std::size_t size = std::min(n, kCopyBuffer);
  auto buf = std::make_unique_for_overwrite<char[]>(size);
  return copy_loop(dst, src, {buf.get(), size}, n, true, ec);
}

std::size_t copy_n(WriterRef dst, ReaderRef src, std::size_t n) {
  std::error_code ec;
  std::size_t k = copy_n(dst, src, n, ec);
  if (ec) throw_error(ec);
  return k;
}

}  // namespace gort::io
