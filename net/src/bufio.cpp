// bufio.cpp - see bufio.hpp. Go: bufio/bufio.go.
#include "gort/net/bufio.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace gort::bufio {

using net::errc;

namespace {
constexpr int kMaxEmptyReads = 100;  // Go: maxConsecutiveEmptyReads

const char* find(const char* p, std::size_t n, char c) noexcept {
  return n == 0 ? nullptr : static_cast<const char*>(std::memchr(p, static_cast<unsigned char>(c), n));
}
}  // namespace

// ---------------------------------------------------------------- Reader

Reader::Reader(io::ReaderRef src, std::size_t size)
    : src_(src), buf_(std::make_unique_for_overwrite<char[]>(std::max(size, kMinSize))),
      size_(std::max(size, kMinSize)) {}

void Reader::reset(io::ReaderRef src) noexcept {
  src_ = src;
  r_ = w_ = 0;
  err_.clear();
}

std::error_code Reader::take_error() noexcept {
  std::error_code e = err_;
  err_.clear();
  return e;
}

void Reader::compact() noexcept {
  if (r_ > 0) {
    std::memmove(buf_.get(), buf_.get() + r_, w_ - r_);
    w_ -= r_;
    r_ = 0;
  }
}

// Go: (*Reader).fill. One read into the free space (retrying a source that
// returns nothing without an error, up to a bound); an error is kept in
// err_. The caller makes sure the buffer is not full.
void Reader::fill_once() noexcept {
  compact();
  for (int i = 0; i < kMaxEmptyReads; i++) {
    std::error_code e;
    std::size_t n = src_.read({buf_.get() + w_, size_ - w_}, e);
    w_ += std::min(n, size_ - w_);  // a source never returns more than asked; stay in bounds if one does
    if (e) {
      err_ = e;
      return;
    }
    if (n > 0) return;
  }
  err_ = errc::no_progress;
}

void Reader::consume(std::size_t n) noexcept { r_ += std::min(n, w_ - r_); }

std::size_t Reader::fill(std::error_code& ec) {
  ec.clear();
  if (w_ - r_ >= size_) {
    ec = errc::buffer_full;
    return 0;
  }
  if (err_) {
    ec = take_error();
    return 0;
  }
  std::size_t before = w_ - r_;
  fill_once();
  std::size_t added = (w_ - r_) - before;
  if (added == 0) ec = take_error();  // else the error, if any, waits for the next call
  return added;
}

// Go: (*Reader).Peek.
std::span<const char> Reader::peek(std::size_t n, std::error_code& ec) {
  ec.clear();
  if (n > size_) {
    ec = errc::buffer_full;
    return buffered_view();
  }
  while (w_ - r_ < n && !err_) fill_once();
  if (w_ - r_ < n) {
    ec = take_error();
    return buffered_view();
  }
  return {buf_.get() + r_, n};
}

// Go: (*Reader).Read.
std::size_t Reader::read(std::span<char> p, std::error_code& ec) {
  ec.clear();
  if (p.empty()) {
    if (buffered() == 0) ec = take_error();
    return 0;
  }
  if (r_ == w_) {
    if (err_) {
      ec = take_error();
      return 0;
    }
    if (p.size() >= size_) {
      // Large read, empty buffer: read directly into p to avoid a copy.
      for (int i = 0; i < kMaxEmptyReads; i++) {
        std::error_code e;
        std::size_t n = src_.read(p, e);
        if (n > 0) {
          err_ = e;  // data first
          return std::min(n, p.size());
        }
        if (e) {
          ec = e;
          return 0;
        }
      }
      ec = errc::no_progress;
      return 0;
    }
    r_ = w_ = 0;
    fill_once();
    if (r_ == w_) {
      ec = take_error();
      return 0;
    }
  }
  std::size_t n = std::min(p.size(), w_ - r_);
  std::memcpy(p.data(), buf_.get() + r_, n);
  r_ += n;
  return n;
}

// Go: (*Reader).ReadSlice.
std::span<const char> Reader::read_slice(char delim, std::error_code& ec) {
  ec.clear();
  std::size_t s = 0;  // bytes already searched
  for (;;) {
    if (const char* q = find(buf_.get() + r_ + s, w_ - r_ - s, delim)) {
      std::size_t n = static_cast<std::size_t>(q - (buf_.get() + r_)) + 1;
      std::span<const char> line{buf_.get() + r_, n};
      r_ += n;
      return line;
    }
    if (err_) {
      std::span<const char> line = buffered_view();
      r_ = w_;
      ec = take_error();
      return line;
    }
    if (buffered() >= size_) {
      std::span<const char> line = buffered_view();
      r_ = w_;
      ec = errc::buffer_full;
      return line;
    }
    s = w_ - r_;
    fill_once();
  }
}

bool Reader::read_until(char delim, std::string& out, std::size_t max_len, std::error_code& ec) {
  ec.clear();
  out.clear();
  for (;;) {
    const char* base = buf_.get() + r_;
    std::size_t avail = w_ - r_;
    const char* q = find(base, avail, delim);
    std::size_t n = q != nullptr ? static_cast<std::size_t>(q - base) + 1 : avail;
    // Without the delimiter in view, reaching max_len already means the token
    // (which still needs its delimiter) cannot end within it.
    if (q != nullptr ? out.size() + n > max_len : n > 0 && out.size() + n >= max_len) {
      std::size_t take = max_len - std::min(out.size(), max_len);
      take = std::min(take, n);
      out.append(base, take);
      r_ += take;
      ec = errc::line_too_long;
      return false;
    }
    out.append(base, n);
    r_ += n;
    if (q != nullptr) return true;
    if (err_) {
      ec = take_error();
      return false;
    }
    fill_once();  // the buffer is empty now, so there is room
  }
}

bool Reader::read_line(std::string& line, std::size_t max_len, std::error_code& ec) {
  ec.clear();
  line.clear();
  auto too_long = [&](const char* base, std::size_t n, std::size_t consumed) {
    if (line.size() > max_len) line.resize(max_len);
    line.append(base, std::min(n, max_len - line.size()));
    r_ += consumed;
    ec = errc::line_too_long;
    return false;
  };
  for (;;) {
    const char* base = buf_.get() + r_;
    std::size_t avail = w_ - r_;
    const char* q = find(base, avail, '\n');
    std::size_t n = q != nullptr ? static_cast<std::size_t>(q - base) : avail;  // bytes before the newline
    std::size_t total = line.size() + n;
    char last = n > 0 ? base[n - 1] : (line.empty() ? '\0' : line.back());
    // A '\r' right before the newline is not part of the line; without the
    // newline in view a trailing '\r' may still turn out to be one.
    std::size_t content = total - (total > 0 && last == '\r' ? 1 : 0);
    if (content > max_len) return too_long(base, n, q != nullptr ? n + 1 : n);
    line.append(base, n);
    if (q != nullptr) {
      r_ += n + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return true;
    }
    r_ += n;
    if (err_) {
      std::error_code e = take_error();
      if (e == errc::eof && !line.empty()) {
        // Go: the last line without a newline is a line; a trailing '\r'
        // stays (it ends no "\r\n"), so it counts.
        if (line.size() > max_len) {
          line.resize(max_len);
          ec = errc::line_too_long;
          return false;
        }
        err_ = e;  // reported by the next call
        return true;
      }
      ec = e;
      return false;
    }
    fill_once();  // the buffer is empty now, so there is room
  }
}

std::size_t Reader::read_full(std::span<char> p, std::error_code& ec) { return io::read_full(*this, p, ec); }

// Go: (*Reader).Discard.
std::size_t Reader::discard(std::size_t n, std::error_code& ec) {
  ec.clear();
  std::size_t remain = n;
  for (;;) {
    std::size_t skip = buffered();
    if (skip == 0 && !err_) {
      fill_once();
      skip = buffered();
    }
    skip = std::min(skip, remain);
    r_ += skip;
    remain -= skip;
    if (remain == 0) return n;
    if (err_) {
      ec = take_error();
      return n - remain;
    }
  }
}

// Throwing overloads.
std::span<const char> Reader::peek(std::size_t n) {
  std::error_code ec;
  auto v = peek(n, ec);
  if (ec) io::throw_error(ec);
  return v;
}

std::size_t Reader::read(std::span<char> p) {
  std::error_code ec;
  std::size_t n = read(p, ec);
  if (ec) io::throw_error(ec);
  return n;
}

std::span<const char> Reader::read_slice(char delim) {
  std::error_code ec;
  auto v = read_slice(delim, ec);
  if (ec) io::throw_error(ec);
  return v;
}

bool Reader::read_line(std::string& line, std::size_t max_len) {
  std::error_code ec;
  if (read_line(line, max_len, ec)) return true;
  if (ec == errc::eof) return false;
  io::throw_error(ec);
}

bool Reader::read_until(char delim, std::string& out, std::size_t max_len) {
  std::error_code ec;
  if (read_until(delim, out, max_len, ec)) return true;
  if (ec == errc::eof) return false;
  io::throw_error(ec);
}

std::size_t Reader::read_full(std::span<char> p) {
  std::error_code ec;
  std::size_t n = read_full(p, ec);
  if (ec) io::throw_error(ec);
  return n;
}

std::size_t Reader::discard(std::size_t n) {
  std::error_code ec;
  std::size_t k = discard(n, ec);
  if (ec) io::throw_error(ec);
  return k;
}

std::size_t Reader::fill() {
  std::error_code ec;
  std::size_t n = fill(ec);
  if (ec) io::throw_error(ec);
  return n;
}

// ---------------------------------------------------------------- Writer

Writer::Writer(io::WriterRef dst, std::size_t size)
    : dst_(dst), buf_(std::make_unique_for_overwrite<char[]>(size == 0 ? kDefaultSize : size)),
      size_(size == 0 ? kDefaultSize : size) {}

void Writer::reset(io::WriterRef dst) noexcept {
  dst_ = dst;
  n_ = 0;
  err_.clear();
}

void Writer::fail(std::error_code& ec, std::error_code e) noexcept {
  err_ = e;
  ec = e;
}

// Go: (*Writer).Flush.
void Writer::flush(std::error_code& ec) {
  ec = err_;
  if (err_ || n_ == 0) return;
  std::error_code e;
  std::size_t n = std::min(dst_.write({buf_.get(), n_}, e), n_);
  if (n < n_ && !e) e = errc::short_write;
  if (e) {
    if (n > 0) std::memmove(buf_.get(), buf_.get() + n, n_ - n);
    n_ -= n;
    fail(ec, e);
    return;
  }
  n_ = 0;
}

// Go: (*Writer).Write, with one gather write where Go makes two.
std::size_t Writer::write(std::span<const char> p, std::error_code& ec) {
  ec = err_;
  if (err_) return 0;
  if (p.size() <= available()) {
    if (!p.empty()) std::memcpy(buf_.get() + n_, p.data(), p.size());
    n_ += p.size();
    return p.size();
  }
  std::error_code e;
  if (n_ == 0) {
    // Large write, empty buffer: write directly from p to avoid a copy.
    std::size_t n = std::min(dst_.write(p, e), p.size());
    if (n < p.size() && !e) e = errc::short_write;
    if (e) fail(ec, e);
    return n;
  }
  if (p.size() >= size_) {
    // Buffered bytes, then a large p: both in one writev.
    std::array<std::span<const char>, 2> bufs{std::span<const char>(buf_.get(), n_), p};
    std::size_t n = std::min(dst_.writev(bufs, e), n_ + p.size());
    if (n < n_ + p.size() && !e) e = errc::short_write;
    if (n >= n_) {
      std::size_t from_p = n - n_;
      n_ = 0;
      if (e) fail(ec, e);
      return from_p;
    }
    // Not even the buffered bytes went out: keep the rest of them.
    std::memmove(buf_.get(), buf_.get() + n, n_ - n);
    n_ -= n;
    fail(ec, e);
    return 0;
  }
  // A small p that does not fit: top up, flush, buffer the rest.
  std::size_t k = available();
  std::memcpy(buf_.get() + n_, p.data(), k);
  n_ += k;
  flush(ec);
  if (ec) return k;  // Go counts the bytes copied into the buffer as written
  std::memcpy(buf_.get(), p.data() + k, p.size() - k);
  n_ = p.size() - k;
  return p.size();
}

// Go: (*Writer).WriteByte.
void Writer::put(char c, std::error_code& ec) {
  ec = err_;
  if (err_) return;
  if (n_ == size_) {
    flush(ec);
    if (ec) return;
  }
  buf_[n_++] = c;
}

std::size_t Writer::write(std::span<const char> p) {
  std::error_code ec;
  std::size_t n = write(p, ec);
  if (ec) io::throw_error(ec);
  return n;
}

void Writer::put(char c) {
  std::error_code ec;
  put(c, ec);
  if (ec) io::throw_error(ec);
}

void Writer::flush() {
  std::error_code ec;
  flush(ec);
  if (ec) io::throw_error(ec);
}

}  // namespace gort::bufio
