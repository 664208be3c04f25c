// error.hpp - gort::http's error codes (Go: net/http's Err... values).
#pragma once

#include <system_error>

namespace gort::http {

enum class errc {
  content_length_exceeded = 1,  // Go: ErrContentLength
  body_not_allowed = 2,         // Go: ErrBodyNotAllowed
  server_closed = 3,            // Go: ErrServerClosed
  handler_failed = 4,           // the handler threw; the connection was closed
};

}  // namespace gort::http

template <>
struct std::is_error_code_enum<gort::http::errc> : std::true_type {};

namespace gort::http {

const std::error_category& http_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), http_category()}; }

}  // namespace gort::http
