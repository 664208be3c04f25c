// status.hpp - HTTP status codes and their reason phrases (Go: http.StatusText).
#pragma once

#include <string_view>

namespace gort::http {

// "OK", "Not Found", ...; "" for an unknown code.
std::string_view status_text(int code) noexcept;

}  // namespace gort::http
