// error.hpp - gort::http's error codes (Go: net/http's Err... values).
#pragma once

#include <system_error>

namespace gort::http {

enum class errc {
  content_length_exceeded = 1,  // Go: ErrContentLength
  body_not_allowed = 2,         // Go: ErrBodyNotAllowed
  server_closed = 3,            // Go: ErrServerClosed
  handler_failed = 4,           // the handler threw; the connection was closed
  // Reading a request body (gort/http/body.hpp); the client's fault, so a
  // handler that lets one escape answers 400 (413 for body_too_large).
  body_too_large = 5,           // Go: MaxBytesError, "http: request body too large"
  malformed_chunked = 6,        // a bad chunk size, a bare LF, no CRLF after chunk data
  chunked_line_too_long = 7,    // a chunk-size line (with extensions) over 4 KiB
  chunk_too_large = 8,          // a chunk size of more than 16 hex digits
  chunk_overhead = 9,           // chunk lines far larger than their data (CVE-2023-39326)
  bad_trailer = 10,             // a malformed or forbidden trailer field
  trailer_too_large = 11,       // trailer fields beyond the header limit
};

// Whether ec is one of the body errors above that the client caused, and
// the status that answers it (400, or 413 for body_too_large); 0 if not.
int client_error_status(const std::error_code& ec) noexcept;

}  // namespace gort::http

template <>
struct std::is_error_code_enum<gort::http::errc> : std::true_type {};

namespace gort::http {

const std::error_category& http_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), http_category()}; }

}  // namespace gort::http
