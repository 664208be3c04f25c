// response_writer.hpp - how a handler answers (Go: net/http.ResponseWriter
// and http.Flusher).
//
//   void hello(gort::http::ResponseWriter& w, gort::http::Request& r) {
//     w.header().set("Content-Type", "text/plain; charset=utf-8");
//     w.write("Hello World!\n");            // status 200 unless write_header came first
//   }
//
// As in Go, the body is buffered: a response whose body fits in 4 KiB when
// the handler returns gets a Content-Length; a longer one (or one flushed
// early) is sent with chunked encoding, unless the handler set
// Content-Length itself. A missing Content-Type is derived from the first
// bytes (Go: DetectContentType, simplified: HTML, plain text or octet
// stream). Date and Server are added. HEAD responses carry the headers and
// length of the body the handler wrote, but no body.
//
// write() throws std::system_error when the client is gone (then the
// server closes the connection once the handler returns); the
// std::error_code& overload never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "gort/http/header.hpp"

namespace gort::http {

class ServerConn;
struct Exchange;

class ResponseWriter {
 public:
  // The response's header fields; changes after the header was sent (by a
  // write beyond the buffer, or flush()) have no effect, as in Go.
  Header& header() noexcept { return header_; }
  // Sends the status (Go: WriteHeader). Later calls are ignored. 1xx codes
  // other than 101 are not supported and are ignored.
  void write_header(int status) noexcept;
  // Appends to the body (Go: Write). Writing more than a declared
  // Content-Length fails with errc::content_length_exceeded; a status
  // without a body (204, 304, 1xx) fails with errc::body_not_allowed.
  std::size_t write(std::string_view data);
  std::size_t write(std::string_view data, std::error_code& ec) noexcept;
  // Sends the header and whatever body is buffered now (Go: Flusher.Flush).
  void flush();
  void flush(std::error_code& ec) noexcept;

  int status() const noexcept { return status_ == 0 ? 200 : status_; }
  bool header_sent() const noexcept { return header_sent_; }
  std::uint64_t bytes_written() const noexcept { return written_; }

 private:
  friend class ServerConn;
  friend struct Exchange;
  explicit ResponseWriter(ServerConn* c) noexcept : conn_(c) {}
  void reset(bool head, bool http10, bool keep_alive) noexcept;
  // Sends the header with either the given Content-Length (>= 0) or chunked
  // encoding (-1; a close-delimited body for HTTP/1.0).
  void send_header(std::int64_t length);
  // Completes the response (Go: response.finishRequest). Returns false if
  // the connection cannot be reused (a short body, an I/O error).
  bool finish(std::error_code& ec) noexcept;
  void append_body(std::string_view data);
  // Gives back memory a large response grew (the writer is pooled).
  void shrink() noexcept;

  ServerConn* conn_;
  Header header_;
  std::string pending_;  // body bytes written before the header was sent
  int status_ = 0;
  bool head_ = false;
  bool http10_ = false;
  bool keep_alive_ = true;
  bool header_sent_ = false;
  bool chunked_ = false;
  bool failed_ = false;
  std::int64_t declared_ = -1;  // a Content-Length the handler set
  std::uint64_t written_ = 0;   // body bytes the handler wrote
};

}  // namespace gort::http
