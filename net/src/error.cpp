// error.cpp - see error.hpp.
#include "gort/net/error.hpp"

#include <cerrno>

namespace gort::net {

namespace {
class NetCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gort.net"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::eof: return "EOF";
      case errc::closed: return "use of closed network connection";
      case errc::timed_out: return "i/o timeout";
      case errc::unexpected_eof: return "unexpected EOF";
      case errc::not_pollable: return "not pollable";
      case errc::canceled: return "operation was canceled";
      case errc::buffer_full: return "bufio: buffer full";
      case errc::line_too_long: return "bufio: line too long";
      case errc::frame_too_long: return "frame too long";
      case errc::bad_frame: return "invalid frame";
      case errc::short_write: return "short write";
      case errc::no_progress: return "multiple Read calls return no data or error";
      case errc::no_runtime: return "no gort runtime is running (gort::run has returned)";
    }
    return "unknown gort.net error";
  }
  // So that portable checks work: ec == std::errc::timed_out for a deadline,
  // std::errc::operation_canceled for a cancelled dial.
  std::error_condition default_error_condition(int ev) const noexcept override {
    switch (static_cast<errc>(ev)) {
      case errc::timed_out: return std::errc::timed_out;
      case errc::canceled: return std::errc::operation_canceled;
      default: return {ev, *this};
    }
  }
};
}  // namespace

const std::error_category& net_category() noexcept {
  static const NetCategory c;
  return c;
}

bool is_timeout(const std::error_code& ec) noexcept {
  return ec == errc::timed_out || ec == std::errc::timed_out;
}

std::string error_text(const std::error_code& ec) {
  std::string m = ec.message();
  if (ec.category() != net_category() && !m.empty() && m[0] >= 'A' && m[0] <= 'Z' &&
      !(m.size() > 1 && m[1] >= 'A' && m[1] <= 'Z')) {  // keep acronyms ("EOF")
    m[0] = static_cast<char>(m[0] - 'A' + 'a');
  }
  return m;
}

OpError::OpError(std::error_code ec, std::string op, std::string net, std::string source, std::string addr,
                 const char* syscall)
    : std::system_error(ec), op_(std::move(op)), net_(std::move(net)), source_(std::move(source)),
      addr_(std::move(addr)) {
  text_ = op_ + " " + net_;
  if (!source_.empty() && !addr_.empty()) {
    text_ += " " + source_ + "->" + addr_;
  } else if (!addr_.empty()) {
    text_ += " " + addr_;
  } else if (!source_.empty()) {
    text_ += " " + source_;
  }
  if (syscall != nullptr) text_ += std::string(": ") + syscall;
  text_ += ": " + error_text(ec);
}

bool OpError::timeout() const noexcept { return is_timeout(code()); }

OpError op_error(const std::string& op, const std::string& net, const std::string& source,
                 const std::string& addr, std::error_code ec, const char* syscall) {
  return OpError(ec, op, net, source, addr, syscall);
}

}  // namespace gort::net
