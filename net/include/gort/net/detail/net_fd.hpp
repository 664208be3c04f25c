// net_fd.hpp - one network file descriptor: Go's internal/poll.FD plus the
// bits of net.netFD that the public types share.
//
// Go: internal/poll/fd_unix.go, fd_poll_runtime.go; net/fd_unix.go.
//
// Every operation holds a reference on the fd mutex (reads and writes take
// its read or write lock), resets the pollDesc, tries the syscall, and on
// EAGAIN parks the fiber on the pollDesc until the fd is ready, its deadline
// passes or it is closed. EINTR is retried. Writes write everything or fail.
// close() marks the fd closed, wakes every parked operation (which fails with
// errc::closed), and waits until the last operation in flight has left; only
// then is the descriptor closed, so its number cannot be reused under a
// fiber that is still inside a syscall on it.
//
// All methods report errors through a std::error_code& and never throw; the
// public types turn them into Go-shaped std::system_error messages.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "gort/net/address.hpp"
#include "gort/net/detail/fd_mutex.hpp"
#include "gort/poller/poll_desc.hpp"
#include "gort/scheduler/sema.hpp"
#include "gort/scheduler/spin_lock.hpp"

namespace gort::net {
class LazyBuffer;
}

namespace gort::net::detail {

class NetFD {
 public:
  // Takes a non-blocking, close-on-exec socket and registers it with the
  // poller. On failure the socket is closed and null returned.
  static std::unique_ptr<NetFD> open(int sysfd, int family, int sotype, std::string net, std::error_code& ec);
  ~NetFD();

  NetFD(const NetFD&) = delete;
  NetFD& operator=(const NetFD&) = delete;

  std::size_t read(void* p, std::size_t n, std::error_code& ec);
  std::size_t readv(const iovec* iov, int cnt, std::error_code& ec);
  // read() with the buffer taken from `buf` before each attempt and given
  // back before each park (Conn::read(LazyBuffer&)).
  std::size_t read_lazy(LazyBuffer& buf, std::error_code& ec);
  std::size_t write(const void* p, std::size_t n, std::error_code& ec);
  std::size_t writev(const iovec* iov, int cnt, std::error_code& ec);
  std::size_t read_from(void* p, std::size_t n, sockaddr_storage* from, socklen_t* fromlen, std::error_code& ec);
  std::size_t write_to(const void* p, std::size_t n, const sockaddr* to, socklen_t tolen, std::error_code& ec);
  // Go: RawConn.Read / RawConn.Write with a readiness probe: park until a
  // read (write) would not park, honouring the deadline and close.
  void wait_ready(int mode, std::error_code& ec);
  // Returns the accepted socket (non-blocking, close-on-exec) or -1. `call`
  // names the failing syscall for error messages.
  int accept(sockaddr_storage* from, socklen_t* fromlen, std::error_code& ec, const char** call);
  // Go: netFD.connect. deadline: absolute nanotime, 0 for none.
  void connect(const sockaddr* sa, socklen_t len, std::int64_t deadline, std::error_code& ec, const char** call);
  void close(std::error_code& ec);
  void shutdown(int how, std::error_code& ec);
  // mode 'r', 'w' or 'r'+'w'; d: absolute nanotime, 0 none, < 0 expired.
  void set_deadline(std::int64_t d, int mode, std::error_code& ec);
  void setsockopt_int(int level, int name, int value, std::error_code& ec);
  void set_addrs();  // laddr from getsockname, raddr from getpeername

  int sysfd() const noexcept { return sysfd_; }
  const std::string& net() const noexcept { return net_; }
  int family() const noexcept { return family_; }
  int sotype() const noexcept { return sotype_; }
  bool closed_by_us() const noexcept { return closing_.load(std::memory_order_relaxed); }

  // (laddr and raddr, public, come after the hot fields: see the end.)

 private:
  NetFD(int sysfd, int family, int sotype, std::string net);
  bool read_lock(std::error_code& ec);
  void read_unlock();
  bool write_lock(std::error_code& ec);
  void write_unlock();
  bool incref(std::error_code& ec);
  void decref();
  void destroy();
  bool prepare(int mode, std::error_code& ec);
  bool prepare_write(std::error_code& ec);
  bool wait(int mode, std::error_code& ec);
  bool prepare_read(std::error_code& ec, LazyBuffer* buf, bool& deferred);
  // The outcome (r, a syscall result) of the first read after prepare_read
  // deferred it: a miss (EAGAIN) makes the next kDeferSkipAfterMiss reads
  // wait at once. EINTR is no outcome: the read is retried.
  void settle_deferred(long r, bool& deferred) noexcept {
    if (r == -EINTR) return;
    if (r == -EAGAIN) defer_skip_ = kDeferSkipAfterMiss;
    deferred = false;
  }
  void note_read(std::size_t got, std::size_t asked) noexcept {
    drained_.store(is_stream_ && got > 0 && got < asked, std::memory_order_relaxed);
  }

  // First what every read and write touches (with many connections in
  // rotation a NetFD is cold when its fiber wakes): 32 bytes, so usually in
  // one cache line. Not alignas(64): over-aligned allocations cost ~0.1 KiB
  // of memory per connection (measured), more than the rare split line.
  int sysfd_;
  int family_;
  int sotype_;
  bool is_stream_;
  // Deferred reads (prepare_read): after a short read, the next read first
  // lets every other runnable fiber run once (gort::detail::yield_for_io),
  // with the fd's epoll events switched off meanwhile (disarm), and only
  // then tries read(2), which by then usually finds the peer's answer: no
  // poller work at all. A miss (EAGAIN) costs that syscall and a pair of
  // epoll_ctl calls (re-enable, later disable again), so after one the next
  // kDeferSkipAfterMiss reads wait on the pollDesc at once: a peer slower
  // than a round of the run queue (10,000 connections: 7 % misses) puts its
  // reader back in Go's mode. Reader only, under the read lock.
  std::uint8_t defer_skip_ = 0;
  static constexpr std::uint8_t kDeferSkipAfterMiss = 64;
  std::atomic<bool> disarmed_{false};  // written under arm_mu_: see disarm() in net_fd.cpp
  bool writer_waits_ GORT_GUARDED_BY(arm_mu_) = false;
  gort::detail::SpinLock arm_mu_;
  void disarm() noexcept;
  void arm(int mode) noexcept;
  // The last read on this stream returned fewer bytes than asked: the
  // kernel's receive queue was empty when it finished, and any byte arriving
  // since raised an edge-triggered event (pollDesc rg = ready). Unless the
  // pollDesc saw a hang-up, an error or urgent data (kInfoReadHup: then more
  // than data may be pending behind the short read). So the next
  // read waits on the pollDesc first, without the reset that would discard
  // that event, instead of a read(2) that would most likely fail with EAGAIN:
  // one syscall less per message for request/response traffic. Go always
  // tries the read first. Written by the reader (under the read lock);
  // cleared by wait_ready and shutdown, whose probes or events make the
  // shortcut unnecessary. Relaxed: a stale true costs one wait, a stale false
  // one read.
  std::atomic<bool> drained_{false};
  gort::detail::PollDesc* pd_ = nullptr;
  FdMutex fdmu_;  // its state word is in the first line; its semaphores follow
  std::atomic<bool> closing_{false};
  std::string net_;
  gort::detail::Sema csema_;  // released by destroy(); close() waits for it

 public:
  Addr laddr;
  Addr raddr;
};

// socket(2) with SOCK_NONBLOCK | SOCK_CLOEXEC. -1 and ec on failure.
int sys_socket(int family, int sotype, int proto, std::error_code& ec);

}  // namespace gort::net::detail
