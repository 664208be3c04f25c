// net_fd.cpp - Go's internal/poll.FD on gort's netpoller. See net_fd.hpp.
#include "gort/net/detail/net_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "gort/net/conn.hpp"
#include "gort/net/error.hpp"
#include "gort/poller/netpoll.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/park.hpp"
#include "gort/scheduler/sched.hpp"
#include "sys_io.hpp"

namespace gort::net::detail {

namespace {

constexpr std::size_t kMaxRW = std::size_t{1} << 30;  // Go: maxRW (1 GiB per syscall on streams)

std::error_code sys_err(int e) { return {e, std::generic_category()}; }

std::error_code poll_err(gort::detail::PollError e) {
  switch (e) {
    case gort::detail::PollError::none: return {};
    case gort::detail::PollError::closing: return make_error_code(errc::closed);
    case gort::detail::PollError::timeout: return make_error_code(errc::timed_out);
    case gort::detail::PollError::not_pollable: return make_error_code(errc::not_pollable);
  }
  return {};
}

// The success test of prepare, prepare_write and wait. They leave ec alone
// on success (every caller starts from a cleared code): building an empty
// std::error_code calls into libstdc++ for system_category(), twice per
// message otherwise.
bool poll_ok(gort::detail::PollError e, std::error_code& ec) {
  if (e == gort::detail::PollError::none) return true;
  ec = poll_err(e);
  return false;
}

}  // namespace

int sys_socket(int family, int sotype, int proto, std::error_code& ec) {
  int fd = ::socket(family, sotype | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) ec = sys_err(gort::detail::get_errno());
  return fd;
}

NetFD::NetFD(int sysfd, int family, int sotype, std::string net)
    : sysfd_(sysfd), family_(family), sotype_(sotype), is_stream_(sotype == SOCK_STREAM), net_(std::move(net)) {}

std::unique_ptr<NetFD> NetFD::open(int sysfd, int family, int sotype, std::string net, std::error_code& ec) {
  std::unique_ptr<NetFD> fd;
  try {
    fd.reset(new NetFD(sysfd, family, sotype, std::move(net)));
  } catch (const std::bad_alloc&) {
    ::close(sysfd);  // an accepted or dialed fd must not leak (the review's L4)
    ec = std::make_error_code(std::errc::not_enough_memory);
    return nullptr;
  }
  fd->pd_ = gort::detail::poll_open(sysfd);
  if (fd->pd_ == nullptr) {
    ec = sys_err(gort::detail::get_errno());
    ::close(sysfd);
    fd->sysfd_ = -1;
    return nullptr;
  }
  return fd;
}

NetFD::~NetFD() {
  if (sysfd_ >= 0 && !closing_.load()) {
    std::error_code ec;
    close(ec);
  }
}

// ---- references and locks (Go: fd_mutex.go readLock etc.) ----

bool NetFD::incref(std::error_code& ec) {
  if (fdmu_.incref()) return true;
  ec = make_error_code(errc::closed);
  return false;
}
void NetFD::decref() {
  if (fdmu_.decref()) destroy();
}
bool NetFD::read_lock(std::error_code& ec) {
  if (fdmu_.rwlock(true)) return true;
  ec = make_error_code(errc::closed);
  return false;
}
void NetFD::read_unlock() {
  if (fdmu_.rwunlock(true)) destroy();
}
bool NetFD::write_lock(std::error_code& ec) {
  if (fdmu_.rwlock(false)) return true;
  ec = make_error_code(errc::closed);
  return false;
}
void NetFD::write_unlock() {
  if (fdmu_.rwunlock(false)) destroy();
}

// Go: FD.destroy. Runs when the last reference of a closed fd is dropped.
void NetFD::destroy() {
  gort::detail::poll_close(pd_);
  ::close(sysfd_);
  sysfd_ = -1;
  csema_.release();
}

bool NetFD::prepare(int mode, std::error_code& ec) { return poll_ok(gort::detail::poll_reset(pd_, mode), ec); }

// Writes check for errors but leave a write readiness latched before them
// in place, where Go's pollReset clears it. Every epoll event of a writable
// socket carries EPOLLOUT, so clearing it here would cost a store per write
// and a compare-exchange in the poller per event (it finds nil and latches
// ready again). Left in place, a stale "ready" costs at most one extra
// attempt when the socket buffer is full: block() consumes it, the write
// fails with EAGAIN again, and the next block() parks.
bool NetFD::prepare_write(std::error_code& ec) { return poll_ok(gort::detail::poll_check_err(pd_, 'w'), ec); }

bool NetFD::wait(int mode, std::error_code& ec) {
  arm(mode);
  bool ok = poll_ok(gort::detail::poll_wait(pd_, mode), ec);
  if (mode == 'w') {
    gort::detail::LockGuard lk(arm_mu_);
    writer_waits_ = false;
  }
  return ok;
}

// While the reader defers, the fd's epoll registration is disabled (only
// EPOLLET left: the kernel neither queues nor reports it), so that data the
// deferred read will take anyway does not leave a stale item in the ready
// list for every message. Everything that parks on the pollDesc goes
// through wait(), which re-enables it first; a reader never disables it
// while a writer waits for EPOLLOUT. arm_mu_ orders the flags and the two
// epoll_ctl calls between a reader and a writer on different threads.
// Only readers (serialised by the read lock) disable, so a reader that
// sees disarmed_ set, or clear when it is about to wait, needs no lock: the
// hot path (every deferred read) is one relaxed load. docs/poller.md,
// "deferred reads", has the measurements.
void NetFD::disarm() noexcept {
  if (disarmed_.load(std::memory_order_relaxed)) return;
  gort::detail::LockGuard lk(arm_mu_);
  if (disarmed_.load(std::memory_order_relaxed) || writer_waits_) return;
  if (gort::detail::netpoll_arm(sysfd_, pd_, false) == 0) disarmed_.store(true, std::memory_order_relaxed);
}

void NetFD::arm(int mode) noexcept {
  if (mode == 'r' && !disarmed_.load(std::memory_order_relaxed)) return;
  gort::detail::LockGuard lk(arm_mu_);
  if (mode == 'w') writer_waits_ = true;
  if (!disarmed_.load(std::memory_order_relaxed)) return;
  // A failure leaves the registration disabled: nothing would wake the
  // waiter. Go has no such state; die loudly rather than hang.
  if (gort::detail::netpoll_arm(sysfd_, pd_, true) != 0) gort::detail::fatal("gort: cannot re-enable an fd in epoll");
  disarmed_.store(false, std::memory_order_relaxed);
}

// prepare('r'), or, after a short read on a stream, one of two ways to
// skip the read(2) that would most likely fail with EAGAIN:
// - deferred (see defer_skip_): let the other runnable fibers run first,
//   then prepare('r') (which drops a readiness event the poller latched
//   meanwhile: the read that follows takes its data) and read. `deferred`
//   tells the caller to report the read's outcome to settle_deferred.
// - the wait its read(2) would have led to (see drained_): poll_wait
//   consumes a readiness event that came meanwhile, or parks until one
//   comes, the deadline passes or the fd closes.
bool NetFD::prepare_read(std::error_code& ec, LazyBuffer* buf, bool& deferred) {
  if (!drained_.load(std::memory_order_relaxed)) return prepare('r', ec);
  drained_.store(false, std::memory_order_relaxed);
  // End of stream, an error or urgent data may be pending behind the short
  // read: read first, as Go always does.
  if (gort::detail::poll_read_hup(pd_)) return prepare('r', ec);
  if (buf != nullptr) buf->release();
  if (defer_skip_ != 0) {
    defer_skip_--;
  } else if (gort::detail::yield_for_io_possible()) {
    disarm();
    gort::detail::yield_for_io();
    deferred = true;
    return prepare('r', ec);
  }
  return wait('r', ec);
}

// Go: FD.RawRead / RawWrite with f = a probe that does not consume data.
// Readable: recv(MSG_PEEK) of one byte finds data, end of stream or a
// pending error. Writable: poll(2) with no timeout reports POLLOUT or an
// error. Woken by an event, the probe runs again, so this returns only when
// the next read (write) will not park.
void NetFD::wait_ready(int mode, std::error_code& ec) {
  ec.clear();
  bool reading = mode == 'r';
  if (!(reading ? read_lock(ec) : write_lock(ec))) return;
  if (reading) drained_.store(false, std::memory_order_relaxed);  // the probe below decides
  if (prepare(mode, ec)) {
    for (;;) {
      bool ready;
      if (reading) {
        char b;
        ssize_t r = ::recv(sysfd_, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        int e = r < 0 ? gort::detail::get_errno() : 0;
        if (e == EINTR) continue;
        ready = e != EAGAIN;
      } else {
        pollfd p{sysfd_, POLLOUT, 0};
        int r = ::poll(&p, 1, 0);
        if (r < 0 && gort::detail::get_errno() == EINTR) continue;
        ready = r != 0;
      }
      if (ready || !wait(mode, ec)) break;
    }
  }
  if (reading) {
    read_unlock();
  } else {
    write_unlock();
  }
}

// ---- I/O (Go: FD.Read, Write, Readv, Writev, ReadFrom, WriteTo, Accept) ----

std::size_t NetFD::read(void* p, std::size_t n, std::error_code& ec) {
  ec.clear();
  if (!read_lock(ec)) return 0;
  std::size_t got = 0;
  bool deferred = false;
  if (n > 0 && prepare_read(ec, nullptr, deferred)) {
    if (is_stream_ && n > kMaxRW) n = kMaxRW;
    for (;;) {
      ssize_t r = sys::recv(sysfd_, p, n, 0);
      if (deferred) settle_deferred(r, deferred);
      if (r >= 0) {
        got = static_cast<std::size_t>(r);
        note_read(got, n);
        if (r == 0 && is_stream_) ec = make_error_code(errc::eof);  // Go: eofError
        break;
      }
      int e = static_cast<int>(-r);
      if (e == EINTR) continue;
      if (e == EAGAIN && wait('r', ec)) continue;
      if (!ec) ec = sys_err(e);
      break;
    }
  }
  read_unlock();
  return got;
}

std::size_t NetFD::read_lazy(LazyBuffer& buf, std::error_code& ec) {
  ec.clear();
  if (!read_lock(ec)) return 0;
  std::size_t got = 0;
  bool deferred = false;
  if (prepare_read(ec, &buf, deferred)) {
    for (;;) {
      std::span<char> sp = buf.acquire();
      std::size_t n = sp.size();
      if (is_stream_ && n > kMaxRW) n = kMaxRW;
      ssize_t r = sys::recv(sysfd_, sp.data(), n, 0);
      if (deferred) settle_deferred(r, deferred);
      if (r >= 0) {
        got = static_cast<std::size_t>(r);
        note_read(got, n);
        if (r == 0 && is_stream_ && n > 0) ec = make_error_code(errc::eof);
        break;
      }
      int e = static_cast<int>(-r);
      if (e == EINTR) continue;
      if (e == EAGAIN) {
        buf.release();
        if (wait('r', ec)) continue;
        break;
      }
      ec = sys_err(e);
      break;
    }
  }
  read_unlock();
  return got;
}

std::size_t NetFD::readv(const iovec* iov, int cnt, std::error_code& ec) {
  ec.clear();
  if (!read_lock(ec)) return 0;
  std::size_t got = 0;
  bool deferred = false;
  if (prepare_read(ec, nullptr, deferred)) {
    for (;;) {
      ssize_t r = sys::readv(sysfd_, iov, cnt);
      if (deferred) settle_deferred(r, deferred);
      if (r >= 0) {
        got = static_cast<std::size_t>(r);
        std::size_t want = 0;
        for (int i = 0; i < cnt; i++) want += iov[i].iov_len;
        note_read(got, want);
        if (r == 0 && want > 0 && is_stream_) ec = make_error_code(errc::eof);
        break;
      }
      int e = static_cast<int>(-r);
      if (e == EINTR) continue;
      if (e == EAGAIN && wait('r', ec)) continue;
      if (!ec) ec = sys_err(e);
      break;
    }
  }
  read_unlock();
  return got;
}

std::size_t NetFD::write(const void* p, std::size_t n, std::error_code& ec) {
  ec.clear();
  if (!write_lock(ec)) return 0;
  std::size_t nn = 0;
  if (prepare_write(ec)) {
    const char* b = static_cast<const char*>(p);
    while (nn < n) {
      std::size_t chunk = is_stream_ ? std::min(n - nn, kMaxRW) : n - nn;
      // MSG_NOSIGNAL: a vanished peer is an EPIPE error, never a SIGPIPE.
      ssize_t w = is_stream_ ? sys::send(sysfd_, b + nn, chunk, MSG_NOSIGNAL) : sys::write(sysfd_, b + nn, chunk);
      if (w > 0) {
        nn += static_cast<std::size_t>(w);
        continue;
      }
      if (w == 0) {
        ec = make_error_code(errc::unexpected_eof);
        break;
      }
      int e = static_cast<int>(-w);
      if (e == EINTR) continue;
      if (e == EAGAIN && wait('w', ec)) continue;
      if (!ec) ec = sys_err(e);
      break;
    }
  }
  write_unlock();
  return nn;
}

std::size_t NetFD::writev(const iovec* iov_in, int cnt, std::error_code& ec) {
  ec.clear();
  if (!write_lock(ec)) return 0;
  std::size_t nn = 0;
  if (prepare_write(ec)) {
    // The kernel takes at most IOV_MAX (1,024) iovecs a call; gather them
    // in windows of 128 (2 KiB of a fiber stack that may be 16 KiB), all
    // under the one write lock.
    constexpr int kMaxIov = 128;
    iovec local[kMaxIov];
    int next = 0;  // first caller iovec not yet in `local`
    int n = 0;
    int first = 0;
    auto refill = [&] {
      n = 0;
      first = 0;
      for (; next < cnt && n < kMaxIov; next++) {
        if (iov_in[next].iov_len > 0) local[n++] = iov_in[next];
      }
    };
    refill();
    while (first < n) {
      msghdr msg{};
      msg.msg_iov = local + first;
      msg.msg_iovlen = static_cast<std::size_t>(n - first);
      ssize_t w = sys::sendmsg(sysfd_, &msg, MSG_NOSIGNAL);
      if (w > 0) {
        nn += static_cast<std::size_t>(w);
        // Drop what was written from the front of the vector.
        auto left = static_cast<std::size_t>(w);
        while (first < n && left >= local[first].iov_len) left -= local[first++].iov_len;
        if (first < n) {
          local[first].iov_base = static_cast<char*>(local[first].iov_base) + left;
          local[first].iov_len -= left;
        } else {
          refill();
        }
        continue;
      }
      if (w == 0) {
        ec = make_error_code(errc::unexpected_eof);
        break;
      }
      int e = static_cast<int>(-w);
      if (e == EINTR) continue;
      if (e == EAGAIN && wait('w', ec)) continue;
      if (!ec) ec = sys_err(e);
      break;
    }
  }
  write_unlock();
  return nn;
}

std::size_t NetFD::read_from(void* p, std::size_t n, sockaddr_storage* from, socklen_t* fromlen,
                             std::error_code& ec) {
  ec.clear();
  if (!read_lock(ec)) return 0;
  std::size_t got = 0;
  if (prepare('r', ec)) {
    for (;;) {
      *fromlen = sizeof(sockaddr_storage);
      ssize_t r = ::recvfrom(sysfd_, p, n, 0, reinterpret_cast<sockaddr*>(from), fromlen);
      if (r >= 0) {
        got = static_cast<std::size_t>(r);
        break;
      }
      int e = gort::detail::get_errno();
      if (e == EINTR) continue;
      if (e == EAGAIN && wait('r', ec)) continue;
      if (!ec) ec = sys_err(e);
      break;
    }
  }
  read_unlock();
  return got;
}

std::size_t NetFD::write_to(const void* p, std::size_t n, const sockaddr* to, socklen_t tolen, std::error_code& ec) {
  ec.clear();
  if (!write_lock(ec)) return 0;
  std::size_t sent = 0;
  if (prepare_write(ec)) {
    for (;;) {
      ssize_t w = ::sendto(sysfd_, p, n, MSG_NOSIGNAL, to, tolen);
      if (w >= 0) {
        sent = static_cast<std::size_t>(w);
        break;
      }
      int e = gort::detail::get_errno();
      if (e == EINTR) continue;
      if (e == EAGAIN && wait('w', ec)) continue;
      if (!ec) ec = sys_err(e);
      break;
    }
  }
  write_unlock();
  return sent;
}

int NetFD::accept(sockaddr_storage* from, socklen_t* fromlen, std::error_code& ec, const char** call) {
  ec.clear();
  *call = nullptr;
  if (!read_lock(ec)) return -1;
  int s = -1;
  if (prepare('r', ec)) {
    for (;;) {
      *fromlen = sizeof(sockaddr_storage);
      s = ::accept4(sysfd_, reinterpret_cast<sockaddr*>(from), fromlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (s >= 0) break;
      int e = gort::detail::get_errno();
      // EINTR: retry. ECONNABORTED: the peer left while queued; take the next.
      if (e == EINTR || e == ECONNABORTED) continue;
      if (e == EAGAIN && wait('r', ec)) continue;
      if (!ec) {
        ec = sys_err(e);
        *call = "accept4";
      }
      break;
    }
  }
  read_unlock();
  return s;
}

void NetFD::connect(const sockaddr* sa, socklen_t len, std::int64_t deadline, std::error_code& ec,
                    const char** call) {
  ec.clear();
  *call = nullptr;
  int rc = ::connect(sysfd_, sa, len);
  int e = rc == 0 ? 0 : gort::detail::get_errno();
  if (e == 0 || e == EISCONN) return;
  if (e != EINPROGRESS && e != EALREADY && e != EINTR) {
    ec = sys_err(e);
    *call = "connect";
    return;
  }
  if (deadline != 0) set_deadline(deadline, 'w', ec);
  if (ec) return;
  // Go: netFD.connect. Wait until writable, then ask SO_ERROR. A wakeup with
  // no error but no peer either is spurious (golang/go#14548): wait again.
  for (;;) {
    std::error_code werr;
    if (!write_lock(werr)) {
      ec = werr;
      return;
    }
    bool ok = wait('w', werr);
    write_unlock();
    if (!ok) {
      ec = werr;
      break;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (::getsockopt(sysfd_, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
      ec = sys_err(gort::detail::get_errno());
      *call = "getsockopt";
      break;
    }
    if (soerr == EINPROGRESS || soerr == EALREADY || soerr == EINTR) continue;
    if (soerr == EISCONN) break;
    if (soerr == 0) {
      sockaddr_storage peer;
      socklen_t pl = sizeof peer;
      if (::getpeername(sysfd_, reinterpret_cast<sockaddr*>(&peer), &pl) == 0) break;
      continue;
    }
    ec = sys_err(soerr);
    *call = "connect";
    break;
  }
  if (deadline != 0) {
    std::error_code ignored;
    set_deadline(0, 'w', ignored);
  }
}

void NetFD::close(std::error_code& ec) {
  ec.clear();
  if (!fdmu_.incref_and_close()) {
    ec = make_error_code(errc::closed);
    return;
  }
  closing_.store(true, std::memory_order_relaxed);
  // Go: pd.evict. Every parked operation wakes up and fails with "closed".
  gort::detail::poll_unblock(pd_);
  decref();
  // Wait until the last operation in flight has left and the descriptor
  // is really closed (Go: FD.Close waits on csema).
  if (!gort::detail::runtime_running()) {
    // gort::run has returned: an operation still counted is one of an
    // abandoned fiber, which never runs again to drop its reference
    // (docs/architecture.md, "After gort::run returns"). Close now.
    if (csema_.try_acquire()) return;
    gort::detail::poll_close(pd_);
    ::close(sysfd_);
    sysfd_ = -1;
    return;
  }
  csema_.acquire(gort::detail::WaitReason::semacquire);
}

void NetFD::shutdown(int how, std::error_code& ec) {
  ec.clear();
  if (!incref(ec)) return;
  if (how != SHUT_WR) drained_.store(false, std::memory_order_relaxed);
  if (::shutdown(sysfd_, how) != 0) ec = sys_err(gort::detail::get_errno());
  decref();
}

void NetFD::set_deadline(std::int64_t d, int mode, std::error_code& ec) {
  ec.clear();
  // A future deadline is a timer on a P's heap: there is none once gort::run
  // has returned. (Clearing one, or one already past, needs no timer.)
  if (d > 0 && !gort::detail::runtime_running()) {
    ec = make_error_code(errc::no_runtime);
    return;
  }
  if (!incref(ec)) return;
  gort::detail::poll_set_deadline(pd_, d, mode);
  decref();
}

void NetFD::setsockopt_int(int level, int name, int value, std::error_code& ec) {
  ec.clear();
  if (!incref(ec)) return;
  if (::setsockopt(sysfd_, level, name, &value, sizeof value) != 0) ec = sys_err(gort::detail::get_errno());
  decref();
}

void NetFD::set_addrs() {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getsockname(sysfd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    laddr = Addr(net_, reinterpret_cast<sockaddr*>(&ss), len);
  }
  len = sizeof ss;
  if (::getpeername(sysfd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    raddr = Addr(net_, reinterpret_cast<sockaddr*>(&ss), len);
  }
}

}  // namespace gort::net::detail
