// conn.hpp - a connected socket (Go: net.Conn, *net.TCPConn, *net.UnixConn,
// a connected *net.UDPConn), usable as an Asio SyncReadStream and
// SyncWriteStream.
//
//   auto conn = gort::net::dial("tcp", "127.0.0.1:8080");
//   conn.write(request);                       // writes everything
//   std::array<char, 4096> buf;
//   std::size_t n = conn.read(buf);            // parks the fiber until data
//   boost::asio::read_until(conn, dynbuf, "\r\n");   // Asio and Beast sync calls work
//
// Reads and writes park the calling fiber (or block a plain thread) until
// the socket is ready, a deadline passes (errc::timed_out) or the
// connection is closed by this side (errc::closed). Errors throw
// std::system_error with Go's message ("read tcp 127.0.0.1:8888->
// 127.0.0.1:51234: connection reset by peer"); the std::error_code&
// overloads never throw. End of stream is errc::eof (Go's io.EOF). A write
// to a peer that is gone is EPIPE/ECONNRESET, never a SIGPIPE.
//
// One fiber may read while another writes; concurrent reads (or writes)
// take turns. close() from any fiber wakes the others' parked operations.
// Move-only; the destructor closes. Do not destroy a Conn while another
// fiber is still inside one of its calls (close() it instead).
#pragma once

#include <sys/uio.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <system_error>
#include <vector>

#include "gort/net/address.hpp"
#include "gort/net/error.hpp"

namespace gort::net {

namespace detail {
class NetFD;
}

using Clock = std::chrono::steady_clock;
// A deadline that never passes (Go: the zero time.Time).
inline constexpr Clock::time_point no_deadline{};

// A buffer lent to a read only while the read can proceed (see
// Conn::read(LazyBuffer&)). acquire() is called right before each read
// attempt and returns where to put the bytes (non-empty); release() is called
// before the fiber parks because no data is there yet. After a successful
// read the buffer is acquired and holds the bytes; after a failed one it may
// be either.
class LazyBuffer {
 public:
  virtual std::span<char> acquire() = 0;
  virtual void release() noexcept = 0;

 protected:
  ~LazyBuffer() = default;
};

class Conn {
 public:
  Conn() noexcept;
  explicit Conn(std::unique_ptr<detail::NetFD> fd) noexcept;
  Conn(Conn&&) noexcept;
  Conn& operator=(Conn&&) noexcept;
  ~Conn();

  // Go: Read. At least one byte, or an error (errc::eof at end of stream).
  std::size_t read(std::span<char> buf);
  std::size_t read(std::span<char> buf, std::error_code& ec) noexcept;
  // Go: Write. All of buf, or an error (returning how much was written).
  std::size_t write(std::span<const char> buf);
  std::size_t write(std::span<const char> buf, std::error_code& ec) noexcept;

  // Go's Read, for servers with many idle connections: the buffer is taken
  // only when there is data and handed back while the fiber waits, so a
  // waiting connection holds none (and a pool can hand the same warm buffer
  // to whichever connection has data next). Same results as read().
  std::size_t read(LazyBuffer& buf, std::error_code& ec) noexcept;

  // Park until a read (write) would not park: data, end of stream or an
  // error is pending (the send buffer has room), the deadline passes or the
  // connection is closed. Consumes nothing (Go: syscall.RawConn's Read and
  // Write; Asio: socket.wait). With wait_readable a server can hold its
  // buffer only while a request is in flight, so an idle connection costs
  // its fiber's few stack pages and no buffer:
  //   for (;;) { c.wait_readable(); auto buf = pool.get(); c.read(*buf); ... }
  void wait_readable();
  void wait_readable(std::error_code& ec) noexcept;
  void wait_writable();
  void wait_writable(std::error_code& ec) noexcept;

  // Scatter/gather with Asio buffer sequences (readv/writev).
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) noexcept {
    iovec iov[kMaxIov];
    int n = to_iov(buffers, iov);
    if (n == 0) {
      ec = {};
      return 0;
    }
    std::error_code e;
    std::size_t got = readv_impl(iov, n, e);
    ec = to_asio(e);
    return got;
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec, op_text("read"));
    return n;
  }
  // Asio's write_some; this one writes everything (a short write is still
  // correct for Asio's algorithms, which loop).
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) noexcept {
    iovec iov[kMaxIov];
    int n = to_iov(buffers, iov);
    if (n == 0) {
      ec = {};
      return 0;
    }
    std::error_code e;
    std::size_t put = writev_impl(iov, n, e);
    ec = to_asio(e);
    return put;
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    boost::system::error_code ec;
    std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec, op_text("write"));
    return n;
  }
  // Go: net.Buffers.WriteTo: every buffer, with writev, under one write lock
  // (a concurrent writer's bytes never land between two of these buffers).
  // Past kMaxIov buffers the iovec array moves to the heap.
  template <class ConstBufferSequence>
  std::size_t writev(const ConstBufferSequence& buffers) {
    std::error_code ec;
    std::size_t put = writev(buffers, ec);
    if (ec) throw_op("write", ec);
    return put;
  }
  template <class ConstBufferSequence>
  std::size_t writev(const ConstBufferSequence& buffers, std::error_code& ec) noexcept {
    iovec iov[kMaxIov];
    int n = to_iov(buffers, iov);
    if (n < kMaxIov) return writev_impl(iov, n, ec);
    std::vector<iovec> all;
    if (!to_iov_all(buffers, all, ec)) return 0;
    return writev_impl(all.data(), static_cast<int>(all.size()), ec);
  }

  void close();
  void close(std::error_code& ec) noexcept;
  // Go: CloseRead / CloseWrite (half-close: shutdown(2)).
  void close_read();
  void close_read(std::error_code& ec) noexcept;
  void close_write();
  void close_write(std::error_code& ec) noexcept;

  // Go: SetDeadline / SetReadDeadline / SetWriteDeadline. no_deadline clears.
  // Changing a deadline while an operation is parked applies to it.
  void set_deadline(Clock::time_point t);
  void set_read_deadline(Clock::time_point t);
  void set_write_deadline(Clock::time_point t);

  // TCP options. New TCP connections have no-delay on and keep-alive every
  // 15 s, as Go's.
  void set_no_delay(bool on);
  void set_keep_alive(bool on);
  void set_keep_alive_period(std::chrono::seconds period);

  const Addr& local_address() const;
  const Addr& remote_address() const;
  int native_handle() const noexcept;
  bool is_open() const noexcept;
  explicit operator bool() const noexcept { return is_open(); }

  // Asio's executor requirement for a stream is not needed by the
  // synchronous algorithms, so none is provided.

 private:
  static constexpr int kMaxIov = 64;

  template <class Buffers>
  static int to_iov(const Buffers& buffers, iovec* iov) noexcept {
    int n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers) && n < kMaxIov;
         ++it) {
      auto b = *it;
      if (b.size() == 0) continue;
      iov[n].iov_base = const_cast<void*>(static_cast<const void*>(b.data()));
      iov[n].iov_len = b.size();
      n++;
    }
    return n;
  }
  // Every non-empty buffer; false (ec = no memory, or too many for an int)
  // when they cannot be gathered.
  template <class Buffers>
  static bool to_iov_all(const Buffers& buffers, std::vector<iovec>& iov, std::error_code& ec) noexcept {
    try {
      for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
        auto b = *it;
        if (b.size() == 0) continue;
        iov.push_back({const_cast<void*>(static_cast<const void*>(b.data())), b.size()});
      }
    } catch (const std::bad_alloc&) {
      ec = std::make_error_code(std::errc::not_enough_memory);
      return false;
    }
    if (iov.size() > static_cast<std::size_t>(INT32_MAX)) {
      ec = std::make_error_code(std::errc::argument_list_too_long);
      return false;
    }
    return true;
  }
  static boost::system::error_code to_asio(const std::error_code& e) noexcept;
  std::size_t readv_impl(const iovec* iov, int n, std::error_code& ec) noexcept;
  std::size_t writev_impl(const iovec* iov, int n, std::error_code& ec) noexcept;
  std::string op_text(const char* op) const;
  [[noreturn]] void throw_op(const char* op, std::error_code ec) const;
  void deadline(Clock::time_point t, int mode);
  detail::NetFD& fd() const;

  std::unique_ptr<detail::NetFD> fd_;
};

}  // namespace gort::net
