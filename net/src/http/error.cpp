// error.cpp - see error.hpp.
#include "gort/http/error.hpp"

#include <string>

namespace gort::http {

namespace {
class HttpCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gort.http"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::content_length_exceeded: return "http: wrote more than the declared Content-Length";
      case errc::body_not_allowed: return "http: request method or response status code does not allow body";
      case errc::server_closed: return "http: Server closed";
      case errc::handler_failed: return "http: handler failed";
      case errc::body_too_large: return "http: request body too large";
      case errc::malformed_chunked: return "http: malformed chunked encoding";
      case errc::chunked_line_too_long: return "http: chunked line too long";
      case errc::chunk_too_large: return "http: chunk length too large";
      case errc::chunk_overhead: return "http: chunked encoding contains too much non-data";
      case errc::bad_trailer: return "http: malformed trailer";
      case errc::trailer_too_large: return "http: trailer too large";
    }
    return "unknown gort.http error";
  }
};
}  // namespace

int client_error_status(const std::error_code& ec) noexcept {
  if (ec.category() != http_category()) return 0;
  switch (static_cast<errc>(ec.value())) {
    case errc::body_too_large: return 413;
    case errc::malformed_chunked:
    case errc::chunked_line_too_long:
    case errc::chunk_too_large:
    case errc::chunk_overhead:
    case errc::bad_trailer:
    case errc::trailer_too_large: return 400;
    default: return 0;
  }
}

const std::error_category& http_category() noexcept {
  static const HttpCategory c;
  return c;
}

}  // namespace gort::http
