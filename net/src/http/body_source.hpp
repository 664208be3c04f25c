// body_source.hpp - where a Body's bytes come from (private to net/src/http).
//
// The server's connection implements it over its read buffer (ServerConn);
// tests and the fuzz target implement it over memory. A Body consumes what
// it decoded from buffered() and asks for more with fill() or, for a long
// run of body bytes while nothing is buffered, read_direct() straight into
// the handler's buffer (no copy for large uploads).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>

namespace gort::http::detail {

class BodySource {
 public:
  // Bytes received and not consumed yet.
  virtual std::string_view buffered() noexcept = 0;
  virtual void consume(std::size_t n) noexcept = 0;
  // Receives more: true with buffered() longer than before; false with ec
  // (net::errc::eof at the end of the stream, a timeout, a full buffer).
  virtual bool fill(std::error_code& ec) = 0;
  // With nothing buffered: receives at most dst.size() bytes into dst. At
  // least one byte, or 0 and ec.
  virtual std::size_t read_direct(std::span<char> dst, std::error_code& ec) = 0;
  // Called once, before the body's first read (the server sends "100
  // Continue" here; Go: expectContinueReader).
  virtual void first_read() {}
  // Called once, when the body reached its end.
  virtual void ended() {}

 protected:
  ~BodySource() = default;
};

}  // namespace gort::http::detail
