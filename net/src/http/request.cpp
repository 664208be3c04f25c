// request.cpp - see request.hpp.
#include "gort/http/request.hpp"

#include "hex.hpp"
#include "server_conn.hpp"

namespace gort::http {

namespace {
constexpr std::size_t kKeepBytes = 16 * 1024;  // a pooled Request keeps at most this much per buffer
}  // namespace

bool unescape(std::string_view in, std::string& out, bool plus_is_space) {
  if (in.find('%') == std::string_view::npos && (!plus_is_space || in.find('+') == std::string_view::npos)) {
    out.assign(in);  // the common case: nothing to decode
    return true;
  }
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); i++) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = detail::hex_value(in[i + 1]);
      int lo = detail::hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

std::string Request::query(std::string_view key) const {
  std::string_view q = raw_query_;
  std::string k, v;
  while (!q.empty()) {
    std::size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (item.empty()) continue;
    std::size_t eq = item.find('=');
    std::string_view rk = item.substr(0, eq);
    std::string_view rv = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    if (!unescape(rk, k, true) || k != key) continue;
    if (!unescape(rv, v, true)) continue;  // Go skips malformed pairs
    return v;
  }
  return {};
}

void Request::clear() noexcept {
  header.clear();
  trailer.clear();
  method_.clear();
  target_.clear();
  path_.clear();
  raw_query_.clear();
  version_ = 11;
  content_length_ = 0;
  close_ = false;
}

const Context& Request::context() {
  static const Context background;
  return conn_ != nullptr ? conn_->request_context() : background;
}

void Request::shrink() noexcept {
  header.shrink(kKeepBytes);
  trailer.shrink(kKeepBytes);
  for (std::string* s : {&method_, &target_, &path_, &raw_query_}) {
    if (s->capacity() > kKeepBytes) std::string().swap(*s);
  }
}

}  // namespace gort::http
