// body.hpp - a request body as a stream (Go: Request.Body on the server).
//
//   void upload(gort::http::ResponseWriter& w, gort::http::Request& r) {
//     r.body().set_limit(64 << 20);            // Go: http.MaxBytesReader
//     std::array<char, 32 << 10> buf;
//     std::error_code ec;
//     while (std::size_t n = r.body().read(buf, ec)) sink(buf.data(), n);
//     if (ec != gort::net::errc::eof) return gort::http::error(w, ec.message(), 400);
//     ...
//   }
//   std::string all = r.body().read_all();    // Go: io.ReadAll(r.Body)
//
// The handler is called as soon as the request's header has arrived; the
// body is read from the connection as the handler reads it, with its
// framing (Content-Length or chunked) decoded. Nothing is buffered beyond
// the connection's read buffer, so a slow or huge upload costs the server
// no more memory than a small one.
//
// Contract (gort::io's, so a Body works with io::copy, bufio::Reader and
// the codecs): read() with a non-empty buffer returns at least one byte, or
// 0 and an error; net::errc::eof ends the body (also for a request without
// one). A body cut short by the client ends with net::errc::unexpected_eof;
// a framing error with one of gort::http::errc's codes (chunked_line_too_long,
// malformed_chunked, ...); a body longer than the limit with
// errc::body_too_large once the limit's bytes were read. Errors are sticky.
// The throwing overloads throw std::system_error; a handler that lets such
// a client-caused error escape gets 400 (413 for body_too_large) instead of
// 500, if it had sent nothing yet.
//
// Like Go's, the first read of a request that sent "Expect: 100-continue"
// sends "100 Continue" first: a handler that answers without reading lets
// the client skip the upload. What the handler leaves unread is discarded
// when the response header is written, up to 256 KiB (more, and the
// connection closes after the response); so read what you need before
// writing a response larger than 4 KiB (Go's HTTP/1 rule too). The body is
// valid only during the handler's call.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <system_error>

namespace gort::http {

class Header;

namespace detail {
// Where a body's bytes come from (the connection; a test's buffer). Defined
// in net/src/http/body_source.hpp.
class BodySource;
}  // namespace detail

class Body {
 public:
  Body() noexcept = default;
  Body(const Body&) = delete;
  Body& operator=(const Body&) = delete;

  // Go: Body.Read. At least one byte, or 0 and an error (net::errc::eof at
  // the end).
  std::size_t read(std::span<char> buf, std::error_code& ec) noexcept;
  std::size_t read(std::span<char> buf);
  // Go: io.ReadAll(r.Body). Everything up to the end; with ec, the bytes
  // read before the error are returned too.
  std::string read_all(std::error_code& ec);
  std::string read_all();
  // Go: http.MaxBytesReader(w, r.Body, n). Reading more than max_bytes in
  // all fails with errc::body_too_large (and the connection closes after
  // the response). The server's ServerOptions::max_body_bytes is the
  // default; a handler may raise or lower it before reading.
  void set_limit(std::uint64_t max_bytes) noexcept { limit_ = max_bytes; }
  std::uint64_t limit() const noexcept { return limit_; }
  // The end of the body was reached (Go: the body returned io.EOF).
  bool done() const noexcept { return framing_ == Framing::none || (eof_ && !err_); }
  // Body bytes handed to the handler so far.
  std::uint64_t bytes_read() const noexcept { return read_; }

 private:
  friend class ServerConn;
  friend struct BodyTest;  // the fuzz target and unit tests reach the framing through it
  enum class Framing : std::uint8_t { none, length, chunked };
  // Where a chunked body's decoder stands (Go: internal/chunked.go).
  enum class Chunk : std::uint8_t { size_line, data, data_end, trailer };

  // Starts a body: none, `length` bytes, or chunked with trailer fields
  // going to `trailer` (up to trailer_limit bytes of them).
  void start(detail::BodySource* src, Framing f, std::uint64_t length, Header* trailer, std::size_t trailer_limit,
             std::uint64_t limit) noexcept;
  std::size_t read_length(std::span<char> buf, std::error_code& ec);
  std::size_t read_chunked(std::span<char> buf, std::error_code& ec);
  // One CRLF-terminated line of at most max bytes (without its CRLF),
  // valid until the next read; false with err_ set on failure.
  bool take_line(std::size_t max, std::string_view& line, std::size_t& used);
  bool begin_chunk(std::string_view line);
  bool trailer_field(std::string_view line);
  std::size_t fail(std::error_code e) noexcept;

  detail::BodySource* src_ = nullptr;
  Header* trailer_ = nullptr;
  std::uint64_t left_ = 0;   // length: bytes left in the body; chunked: in the chunk
  std::uint64_t read_ = 0;   // bytes returned so far
  std::uint64_t limit_ = UINT64_MAX;
  std::int64_t excess_ = 0;  // chunk overhead beyond what the data justifies
  std::size_t trailer_left_ = 0;
  std::error_code err_;      // sticky
  Framing framing_ = Framing::none;
  Chunk chunk_ = Chunk::size_line;
  bool eof_ = false;
  bool started_ = false;     // the first read happened (100 Continue sent)
};

}  // namespace gort::http
