// request_reader.cpp - see request_reader.hpp.
#include "request_reader.hpp"

#include <boost/beast/http/error.hpp>

#include "gort/http/header.hpp"

namespace gort::http {

namespace bhttp = boost::beast::http;

RequestReader::RequestReader(Request& r, std::size_t header_limit, std::uint64_t body_limit) : r_(r) {
  this->header_limit(static_cast<std::uint32_t>(header_limit > UINT32_MAX ? UINT32_MAX : header_limit));
  this->body_limit(body_limit);
}

int RequestReader::status_for(const boost::system::error_code& ec, std::string_view input) noexcept {
  if (ec == bhttp::error::header_limit) return 431;
  if (ec == bhttp::error::body_limit) return 413;
  if (ec == bhttp::error::bad_version) {
    // Go: a version that parses but is not 1.x gets 505 (Beast refuses both).
    std::string_view line = input.substr(0, input.find("\r\n"));
    std::size_t sp = line.rfind(' ');
    std::string_view v = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (v.size() == 8 && v.substr(0, 5) == "HTTP/" && digit(v[5]) && v[6] == '.' && digit(v[7])) return 505;
  }
  return 400;
}

void RequestReader::fail(int status, error_code& ec) noexcept {
  reject_ = status;
  ec = bhttp::error::bad_value;  // any error stops the parser; reject_ says which
}

void RequestReader::on_request_impl(bhttp::verb, string_view method, string_view target, int version,
                                    error_code& ec) {
  if (version != 10 && version != 11) return fail(505, ec);
  r_.method_.assign(method.data(), method.size());
  r_.target_.assign(target.data(), target.size());
  r_.version_ = version;
  // Go: url.ParseRequestURI. Origin form "/p?q", asterisk form "*",
  // absolute form "http://host/p?q" (its path is used), authority form for
  // CONNECT.
  std::string_view t(target.data(), target.size());
  if (t == "*") {
    r_.path_ = "*";
    return;
  }
  if (method == "CONNECT" && !t.empty() && t.front() != '/') {
    r_.path_.clear();  // authority form: no path
    return;
  }
  if (t.empty()) return fail(400, ec);
  if (t.front() != '/') {
    std::size_t scheme = t.find("://");
    if (scheme == std::string_view::npos) return fail(400, ec);
    std::size_t slash = t.find('/', scheme + 3);
    std::size_t qmark = t.find('?', scheme + 3);
    if (slash == std::string_view::npos || (qmark != std::string_view::npos && qmark < slash)) {
      t = qmark == std::string_view::npos ? std::string_view("/") : t.substr(qmark);
      if (t.front() == '?') {
        r_.raw_query_.assign(t.substr(1));
        r_.path_ = "/";
        return;
      }
    } else {
      t = t.substr(slash);
    }
  }
  std::size_t q = t.find('?');
  std::string_view raw_path = t.substr(0, q);
  if (q != std::string_view::npos) r_.raw_query_.assign(t.substr(q + 1));
  // A fragment is not sent by clients; Go drops it from the path too.
  if (std::size_t hash = raw_path.find('#'); hash != std::string_view::npos) raw_path = raw_path.substr(0, hash);
  if (!unescape(raw_path, r_.path_, false)) return fail(400, ec);
}

void RequestReader::on_response_impl(int, string_view, int, error_code& ec) { ec = bhttp::error::bad_method; }

void RequestReader::on_field_impl(bhttp::field f, string_view name, string_view value, error_code& ec) {
  std::string_view v(value.data(), value.size());
  if (f == bhttp::field::host) {
    if (++hosts_ > 1) return fail(400, ec);  // Go: "too many Host headers"
  } else if (f == bhttp::field::transfer_encoding) {
    te_ = true;
  } else if (f == bhttp::field::expect) {
    if (iequals(v, "100-continue")) {
      expect_continue_ = true;
    } else {
      bad_expect_ = true;
    }
  }
  r_.header.add(std::string_view(name.data(), name.size()), v);
}

void RequestReader::on_header_impl(error_code& ec) {
  if (r_.version_ == 11 && hosts_ == 0) return fail(400, ec);  // Go: "missing required Host header"
  // Beast sets chunked only when "chunked" is the last coding; any other
  // Transfer-Encoding cannot be framed here (RFC 9112 6.1: 501 or 400).
  if (te_ && !this->chunked()) return fail(501, ec);
  if (bad_expect_) return fail(417, ec);
  r_.close_ = !this->keep_alive();
  r_.content_length_ = this->chunked() ? -1 : static_cast<std::int64_t>(this->content_length().value_or(0));
}

// The body is framed and read by Body (body.cpp) as the handler reads it;
// the parser stops at the end of the header (eager(false)) and never sees it.
void RequestReader::on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) {}

std::size_t RequestReader::on_body_impl(string_view, error_code& ec) {
  ec = bhttp::error::bad_value;
  return 0;
}

void RequestReader::on_chunk_header_impl(std::uint64_t, string_view, error_code& ec) { ec = bhttp::error::bad_value; }

std::size_t RequestReader::on_chunk_body_impl(std::uint64_t, string_view, error_code& ec) {
  ec = bhttp::error::bad_value;
  return 0;
}

void RequestReader::on_finish_impl(error_code&) {}

}  // namespace gort::http
