// error.hpp - gort::net's errors, shaped like Go's.
//
// Failures throw std::system_error (or set a std::error_code& in the
// overloads that never throw). what() reads like Go's *net.OpError:
//
//   read tcp 127.0.0.1:8888->127.0.0.1:51234: connection reset by peer
//   dial tcp 127.0.0.1:1: connect: connection refused
//   accept tcp 127.0.0.1:8888: use of closed network connection
//
// and code() is the errno (std::generic_category) or one of gort::net::errc:
//   errc::eof            the peer closed the stream (Go's io.EOF)
//   errc::closed         use of a connection this side closed (net.ErrClosed)
//   errc::timed_out      a deadline passed (os.ErrDeadlineExceeded, "i/o timeout")
//   errc::unexpected_eof a write made no progress (io.ErrUnexpectedEOF)
//   errc::canceled       a dial's context was cancelled ("operation was canceled")
//   errc::no_runtime     a deadline set after gort::run returned (no timers are left to run it)
// and, for bufio, io and the codecs (gort/net/bufio.hpp, io.hpp, codec.hpp):
//   errc::buffer_full    a peek or slice needs more than the fixed buffer (bufio.ErrBufferFull)
//   errc::line_too_long  a line (or token) is longer than the caller's limit
//   errc::frame_too_long a frame is longer than its codec's maximum
//   errc::bad_frame      a frame header that cannot be right (netty's CorruptedFrameException),
//                        or a payload that its codec cannot frame
//   errc::short_write    a writer took fewer bytes than given, without an error (io.ErrShortWrite)
//   errc::no_progress    a source kept returning no data and no error (io.ErrNoProgress)
// is_timeout(ec) is Go's err.(net.Error).Timeout().
#pragma once

#include <string>
#include <system_error>

namespace gort::net {

enum class errc {
  eof = 1,
  closed = 2,
  timed_out = 3,
  unexpected_eof = 4,
  not_pollable = 5,
  canceled = 6,
  buffer_full = 7,
  line_too_long = 8,
  frame_too_long = 9,
  bad_frame = 10,
  short_write = 11,
  no_progress = 12,
  no_runtime = 13,
};

}  // namespace gort::net

template <>
struct std::is_error_code_enum<gort::net::errc> : std::true_type {};

namespace gort::net {

const std::error_category& net_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), net_category()}; }

inline bool is_eof(const std::error_code& ec) noexcept { return ec == errc::eof; }
bool is_timeout(const std::error_code& ec) noexcept;

// Go: *net.OpError. A std::system_error whose what() is Go's text, with
// errno messages spelled as Go spells them ("connection refused").
class OpError : public std::system_error {
 public:
  OpError(std::error_code ec, std::string op, std::string net, std::string source, std::string addr,
          const char* syscall);
  const char* what() const noexcept override { return text_.c_str(); }
  const std::string& op() const noexcept { return op_; }
  const std::string& net() const noexcept { return net_; }
  const std::string& source() const noexcept { return source_; }  // local address, if any
  const std::string& addr() const noexcept { return addr_; }      // remote address
  bool timeout() const noexcept;

 private:
  std::string op_, net_, source_, addr_, text_;
};

// Go's text for a cause: gort.net errors as they are, errno messages with a
// lower-case first letter (Go's syscall.Errno strings).
std::string error_text(const std::error_code& ec);

// op ("read", "dial", ...), net ("tcp", ...), source and addr (either may be
// empty), and the cause; `syscall` ("connect", "bind") adds Go's
// os.SyscallError layer: "dial tcp 127.0.0.1:1: connect: connection refused".
OpError op_error(const std::string& op, const std::string& net, const std::string& source,
                 const std::string& addr, std::error_code ec, const char* syscall = nullptr);

}  // namespace gort::net
