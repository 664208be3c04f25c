// body.cpp - see body.hpp. The Content-Length reader (Go: net/http body
// over io.LimitReader) and the chunked decoder (Go: net/http/internal
// chunkedReader, body.readTrailer).
//
// Bounds, so that no input makes the decoder hold or scan more than a fixed
// amount: a chunk-size line (with its extensions) is at most 4 KiB; the
// trailer section at most the server's header limit; and the overhead of
// chunk lines beyond 16 bytes per chunk plus twice the chunk's data may not
// exceed 16 KiB in all (Go 1.21.5's answer to CVE-2023-39326: a sender of
// one byte per chunk with long extensions). Line ends are strict CRLF, as
// for the header: a bare LF is an error (RFC 9112 7.1; request smuggling
// relies on parsers that disagree here).
#include "gort/http/body.hpp"

#include <algorithm>
#include <cstring>

#include "body_source.hpp"
#include "hex.hpp"
#include "gort/http/error.hpp"
#include "gort/http/header.hpp"
#include "gort/net/error.hpp"

namespace gort::http {

namespace {
constexpr std::size_t kMaxChunkLine = 4096;           // Go: maxLineLength
constexpr std::int64_t kMaxExcess = 16 * 1024;        // Go: chunkedReader.excess limit
constexpr std::size_t kReadAllReserve = 64 * 1024;    // read_all's first allocation at most
}  // namespace

void Body::start(detail::BodySource* src, Framing f, std::uint64_t length, Header* trailer, std::size_t trailer_limit,
                 std::uint64_t limit) noexcept {
  src_ = src;
  framing_ = f;
  left_ = f == Framing::length ? length : 0;
  trailer_ = trailer;
  trailer_left_ = trailer_limit;
  limit_ = limit;
  read_ = 0;
  excess_ = 0;
  err_.clear();
  chunk_ = Chunk::size_line;
  eof_ = f == Framing::none || (f == Framing::length && length == 0);
  started_ = false;
}

std::size_t Body::fail(std::error_code e) noexcept {
  err_ = e;
  return 0;
}

std::size_t Body::read(std::span<char> buf, std::error_code& ec) noexcept {
  ec.clear();
  if (err_) {
    ec = err_;
    return 0;
  }
  if (eof_ || framing_ == Framing::none) {
    ec = make_error_code(net::errc::eof);
    return 0;
  }
  if (buf.empty()) return 0;
  if (!started_) {
    started_ = true;
    try {
      src_->first_read();
    } catch (const std::bad_alloc&) {
      ec = err_ = std::make_error_code(std::errc::not_enough_memory);
      return 0;
    }
  }
  // Go: MaxBytesReader reads one byte beyond the limit to tell a body of
  // exactly `limit` bytes from a longer one.
  std::uint64_t room = limit_ - std::min(limit_, read_);
  if (buf.size() - 1 > room) buf = buf.first(static_cast<std::size_t>(room) + 1);
  std::size_t n = 0;
  bool was_eof = eof_;
  try {
    n = framing_ == Framing::length ? read_length(buf, ec) : read_chunked(buf, ec);
  } catch (const std::bad_alloc&) {
    err_ = std::make_error_code(std::errc::not_enough_memory);
  }
  if (n > room) {
    n = static_cast<std::size_t>(room);
    err_ = make_error_code(errc::body_too_large);  // reported by the next read
  }
  read_ += n;
  if (eof_ && !was_eof && !err_) src_->ended();
  if (n == 0) {
    if (err_) {
      ec = err_;
    } else if (eof_) {
      ec = make_error_code(net::errc::eof);
    }
  }
  return n;
}

std::size_t Body::read(std::span<char> buf) {
  std::error_code ec;
  std::size_t n = read(buf, ec);
  if (ec) throw std::system_error(ec, "http: read request body");
  return n;
}

std::string Body::read_all(std::error_code& ec) {
  ec.clear();
  std::string out;
  if (framing_ == Framing::length) {
    out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>({left_, limit_, kReadAllReserve})));
  }
  for (;;) {
    if (out.capacity() - out.size() < 512) out.reserve(std::max<std::size_t>(out.capacity() * 2, 4096));
    std::size_t have = out.size();
    out.resize(out.capacity());
    std::size_t n = read(std::span<char>(out.data() + have, out.size() - have), ec);
    out.resize(have + n);
    if (ec) {
      if (ec == net::errc::eof) ec.clear();
      return out;
    }
  }
}

std::string Body::read_all() {
  std::error_code ec;
  std::string s = read_all(ec);
  if (ec) throw std::system_error(ec, "http: read request body");
  return s;
}

std::size_t Body::read_length(std::span<char> buf, std::error_code& ec) {
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), left_));
  std::string_view have = src_->buffered();
  std::size_t n;
  if (!have.empty()) {
    n = std::min(have.size(), want);
    std::memcpy(buf.data(), have.data(), n);
    src_->consume(n);
  } else {
    n = src_->read_direct(buf.first(want), ec);
    if (n == 0) return fail(ec == net::errc::eof ? make_error_code(net::errc::unexpected_eof) : ec);
  }
  left_ -= n;
  if (left_ == 0) eof_ = true;
  return n;
}

bool Body::take_line(std::size_t max, std::string_view& line, std::size_t& used) {
  for (;;) {
    std::string_view have = src_->buffered();
    std::size_t lf = have.substr(0, max + 2).find('\n');
    if (lf != std::string_view::npos) {
      if (lf == 0 || have[lf - 1] != '\r') {
        fail(make_error_code(errc::malformed_chunked));  // a bare LF
        return false;
      }
      line = have.substr(0, lf - 1);
      used = lf + 1;
      return true;
    }
    if (have.size() >= max + 2) {
      fail(make_error_code(chunk_ == Chunk::trailer ? errc::trailer_too_large : errc::chunked_line_too_long));
      return false;
    }
    std::error_code ec;
    if (!src_->fill(ec)) {
      fail(ec == net::errc::eof ? make_error_code(net::errc::unexpected_eof) : ec);
      return false;
    }
  }
}

bool Body::begin_chunk(std::string_view line) {
  // chunk = chunk-size [ chunk-ext ] CRLF; extensions are ignored (Go
  // strips them too), trailing blanks before them tolerated.
  std::string_view size = line.substr(0, line.find(';'));
  while (!size.empty() && (size.back() == ' ' || size.back() == '\t')) size.remove_suffix(1);
  if (size.empty()) {
    fail(make_error_code(errc::malformed_chunked));
    return false;
  }
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < size.size(); i++) {
    int v = detail::hex_value(size[i]);
    if (v < 0 || i == 16) {
      fail(make_error_code(v < 0 ? errc::malformed_chunked : errc::chunk_too_large));
      return false;
    }
    n = (n << 4) | static_cast<std::uint64_t>(v);
  }
  // Overhead accounting (Go: chunkedReader.beginChunk): 16 bytes per chunk
  // plus twice its data are free; a sender that pads tiny chunks with long
  // extensions runs out of allowance.
  excess_ += static_cast<std::int64_t>(line.size()) + 4;  // the line's CRLF and the data's
  std::int64_t allowance = n > static_cast<std::uint64_t>(kMaxExcess) ? kMaxExcess * 2 : 16 + 2 * static_cast<std::int64_t>(n);
  excess_ = std::max<std::int64_t>(excess_ - allowance, 0);
  if (excess_ > kMaxExcess) {
    fail(make_error_code(errc::chunk_overhead));
    return false;
  }
  if (n == 0) {
    chunk_ = Chunk::trailer;
  } else {
    left_ = n;
    chunk_ = Chunk::data;
  }
  return true;
}

bool Body::trailer_field(std::string_view line) {
  // field-line = field-name ":" OWS field-value OWS; no obs-fold.
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || !valid_field_name(line.substr(0, colon))) {
    fail(make_error_code(errc::bad_trailer));
    return false;
  }
  std::string_view name = line.substr(0, colon);
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  // Fields that frame the message have no place after it (RFC 9110 6.5.1).
  if (!valid_field_value(value) || iequals(name, "Transfer-Encoding") || iequals(name, "Content-Length")) {
    fail(make_error_code(errc::bad_trailer));
    return false;
  }
  if (trailer_ != nullptr) trailer_->add(name, value);
  return true;
}

std::size_t Body::read_chunked(std::span<char> buf, std::error_code& ec) {
  std::size_t n = 0;
  for (;;) {
    switch (chunk_) {
      case Chunk::size_line: {
        // With data in hand, return it rather than wait for the next line.
        if (n > 0 && src_->buffered().find('\n') == std::string_view::npos) return n;
        std::string_view line;
        std::size_t used = 0;
        if (!take_line(kMaxChunkLine, line, used) || !begin_chunk(line)) return n;
        src_->consume(used);
        break;
      }
      case Chunk::data: {
        if (n == buf.size()) return n;
        std::size_t room = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size() - n, left_));
        std::string_view have = src_->buffered();
        std::size_t got;
        if (!have.empty()) {
          got = std::min(have.size(), room);
          std::memcpy(buf.data() + n, have.data(), got);
          src_->consume(got);
        } else if (n > 0) {
          return n;  // do not wait with data in hand
        } else {
          got = src_->read_direct(buf.subspan(n, room), ec);
          if (got == 0) return fail(ec == net::errc::eof ? make_error_code(net::errc::unexpected_eof) : ec);
        }
        n += got;
        left_ -= got;
        if (left_ == 0) chunk_ = Chunk::data_end;
        break;
      }
      case Chunk::data_end: {
        std::string_view have = src_->buffered();
        if (have.size() < 2) {
          if (n > 0) return n;
          if (!src_->fill(ec)) return fail(ec == net::errc::eof ? make_error_code(net::errc::unexpected_eof) : ec);
          break;
        }
        if (have[0] != '\r' || have[1] != '\n') {
          fail(make_error_code(errc::malformed_chunked));
          return n;
        }
        src_->consume(2);
        chunk_ = Chunk::size_line;
        break;
      }
      case Chunk::trailer: {
        if (n > 0 && src_->buffered().find('\n') == std::string_view::npos) return n;
        std::string_view line;
        std::size_t used = 0;
        if (!take_line(trailer_left_ >= 2 ? trailer_left_ - 2 : 0, line, used)) return n;
        if (line.empty()) {
          src_->consume(used);
          eof_ = true;
          return n;
        }
        if (!trailer_field(line)) return n;
        trailer_left_ -= used;
        src_->consume(used);
        break;
      }
    }
  }
}

}  // namespace gort::http
