// request.hpp - an HTTP request as a handler sees it (Go: net/http.Request).
//
// The handler is called once the header has arrived; body() streams the
// body from the connection as the handler reads it (Go: Request.Body; see
// gort/http/body.hpp). A connection reuses one Request for all its requests:
// handlers must not keep references to it after they return.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gort/context.hpp"
#include "gort/http/body.hpp"
#include "gort/http/header.hpp"

namespace gort::http {

class ServerConn;

class Request {
 public:
  // "GET", "POST", ... as received (Go: Method).
  std::string_view method() const noexcept { return method_; }
  // The request-target as received, e.g. "/search?q=go%20lang" (Go: RequestURI).
  std::string_view target() const noexcept { return target_; }
  // The target's path, percent-decoded (Go: URL.Path). For "*" (OPTIONS *),
  // "*"; for an absolute-form target, its path part.
  std::string_view path() const noexcept { return path_; }
  // The target's query without '?', still encoded (Go: URL.RawQuery).
  std::string_view raw_query() const noexcept { return raw_query_; }
  // The first value of a query parameter, decoded, or "" (Go: URL.Query().Get).
  std::string query(std::string_view key) const;
  // "HTTP/1.1" or "HTTP/1.0" (Go: Proto), and 11 or 10.
  std::string_view proto() const noexcept { return version_ == 10 ? "HTTP/1.0" : "HTTP/1.1"; }
  int version() const noexcept { return version_; }
  // The Host header (Go: Request.Host).
  std::string_view host() const noexcept { return header.get("Host"); }
  // The peer, "ip:port" (Go: RemoteAddr).
  std::string_view remote_addr() const noexcept { return remote_addr_; }
  // The body's declared length, -1 if it was chunked (Go: ContentLength).
  std::int64_t content_length() const noexcept { return content_length_; }
  // Whether the connection closes after this request: the client asked for
  // it, or it is HTTP/1.0 without keep-alive (Go: Request.Close).
  bool close() const noexcept { return close_; }

  // Go: Request.Context(). Cancelled when the client goes away (its
  // connection reaches end of stream or an error while the handler runs,
  // once the body was read to its end - Go's background read), when the
  // server shuts down or closes, and when the handler returns. Made on the
  // first call: a handler that never asks pays nothing for it.
  const Context& context();

  // The body, read as the handler asks for it (Go: Request.Body).
  Body& body() noexcept { return body_; }

  Header header;
  // Fields sent after a chunked body; filled once body() reached its end
  // (Go: Request.Trailer).
  Header trailer;

 private:
  friend class RequestReader;
  friend class ServerConn;
  friend struct Exchange;
  void clear() noexcept;
  // Gives back memory a large request grew (a pooled Request keeps it
  // otherwise).
  void shrink() noexcept;

  Body body_;
  ServerConn* conn_ = nullptr;  // the connection serving it (null: none)

  std::string method_;
  std::string target_;
  std::string path_;
  std::string raw_query_;
  std::string_view remote_addr_;  // the connection's, which outlives the request
  int version_ = 11;
  std::int64_t content_length_ = 0;
  bool close_ = false;
};

// Percent-decoding of a URL component (Go: url.PathUnescape when plus_is_space
// is false, url.QueryUnescape when true). False if an escape is malformed.
bool unescape(std::string_view in, std::string& out, bool plus_is_space);

}  // namespace gort::http
