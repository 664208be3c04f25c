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
    }
    return "unknown gort.http error";
  }
};
}  // namespace

const std::error_category& http_category() noexcept {
  static const HttpCategory c;
  return c;
}

}  // namespace gort::http
