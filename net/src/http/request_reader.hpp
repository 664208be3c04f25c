// request_reader.hpp - Boost.Beast's HTTP/1 parser filling a gort Request
// (Go: net/http readRequest). Private to net/src/http.
//
// Beast checks the grammar and the framing (conflicting Content-Length and
// Transfer-Encoding, differing duplicate lengths, chunk syntax, header and
// body limits); the hooks below copy the message into the Request and add
// Go's checks on top: exactly one Host in HTTP/1.1, a Transfer-Encoding
// other than "chunked" is not implemented (501), versions other than 1.0
// and 1.1 are refused (505), the target must be a valid path. It reads the
// header only: the body is Body's (body.hpp), which decodes its framing as
// the handler reads. A Content-Length above the body limit is refused here
// (413), before the handler runs.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <string_view>

#include "gort/http/request.hpp"

namespace gort::http {

class RequestReader final : public boost::beast::http::basic_parser<true> {
 public:
  RequestReader(Request& r, std::size_t header_limit, std::uint64_t body_limit);
  // The status to answer when the parse failed because of one of Go's
  // checks (0: the error is Beast's own; see status_for).
  int reject_status() const noexcept { return reject_; }
  bool expects_continue() const noexcept { return expect_continue_; }
  // The status for a Beast error: 431 header too large, 413 body too
  // large, 505 a well-formed version other than 1.0 and 1.1 (`input` holds
  // the start line), 400 anything else.
  static int status_for(const boost::system::error_code& ec, std::string_view input) noexcept;

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;
  void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int version,
                       error_code& ec) override;
  void on_response_impl(int, string_view, int, error_code& ec) override;
  void on_field_impl(boost::beast::http::field f, string_view name, string_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;
  void fail(int status, error_code& ec) noexcept;

  Request& r_;
  int reject_ = 0;
  int hosts_ = 0;
  bool te_ = false;
  bool expect_continue_ = false;
  bool bad_expect_ = false;
};

}  // namespace gort::http
