// sys_io.hpp - the system calls of NetFD's hot paths, without libc's
// wrappers and without errno. Private to net/src.
//
// Each returns what the kernel returns: a count >= 0, or -errno on failure
// (EAGAIN comes back as -EAGAIN). Nothing here touches errno, a thread-local
// that a fiber must not cache across a switch, so the I/O loops that park and
// retry (perhaps on another thread) never read it.
//
// Why not libc: glibc's read/send/readv/sendmsg are pthread cancellation
// points (each call enables and disables asynchronous cancellation around
// the syscall, about 80 instructions per message for a read plus a send,
// ~7 % of gort's user time in the echo benchmark), and syscall(2) still
// costs a call and the errno store. gort never uses pthread cancellation on
// its M's. On x86-64 Linux this is the bare syscall instruction; on other
// Linux architectures syscall(2) (hand-written asm only where it was
// measured); elsewhere the libc functions; all with the same convention.
// NetFD's fds are all sockets, so reads use recvfrom rather than read: read
// goes through the VFS layer first (permission hooks, fsnotify, per-task I/O
// accounting), a measurable share of a small message's kernel time.
//
// This is also what a later syscall-hooks layer needs: interposed libc
// read/send must not recurse into themselves from the netpoller's own I/O.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#if defined(__linux__)
#include <sys/syscall.h>
#endif

namespace gort::net::detail::sys {

#if defined(__linux__) && defined(__x86_64__)
#define GORT_RAW_SYSCALLS 1
// The kernel ABI: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9;
// the instruction clobbers rcx and r11; result in rax.
inline long raw(long n, long a, long b, long c) noexcept {
  long r;
  asm volatile("syscall" : "=a"(r) : "0"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
inline long raw(long n, long a, long b, long c, long d, long e, long f) noexcept {
  long r;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  asm volatile("syscall"
               : "=a"(r)
               : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return r;
}
#endif

#if defined(GORT_RAW_SYSCALLS)
inline ssize_t recv(int fd, void* buf, size_t n, int flags) noexcept {
  return raw(SYS_recvfrom, fd, reinterpret_cast<long>(buf), static_cast<long>(n), flags, 0, 0);
}
inline ssize_t send(int fd, const void* buf, size_t n, int flags) noexcept {
  return raw(SYS_sendto, fd, reinterpret_cast<long>(buf), static_cast<long>(n), flags, 0, 0);
}
inline ssize_t write(int fd, const void* buf, size_t n) noexcept {
  return raw(SYS_write, fd, reinterpret_cast<long>(buf), static_cast<long>(n));
}
inline ssize_t readv(int fd, const iovec* iov, int cnt) noexcept {
  return raw(SYS_readv, fd, reinterpret_cast<long>(iov), cnt);
}
inline ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  return raw(SYS_sendmsg, fd, reinterpret_cast<long>(msg), flags);
}
#else
// errno is read right after the call, before anything can switch fibers.
inline ssize_t neg_errno(ssize_t r) noexcept { return r < 0 ? -errno : r; }
#if defined(__linux__)
// Other Linux architectures: syscall(2), still without the cancellation bracket.
inline ssize_t recv(int fd, void* buf, size_t n, int flags) noexcept {
  return neg_errno(::syscall(SYS_recvfrom, fd, buf, n, flags, nullptr, nullptr));
}
inline ssize_t send(int fd, const void* buf, size_t n, int flags) noexcept {
  return neg_errno(::syscall(SYS_sendto, fd, buf, n, flags, nullptr, 0));
}
inline ssize_t write(int fd, const void* buf, size_t n) noexcept { return neg_errno(::syscall(SYS_write, fd, buf, n)); }
inline ssize_t readv(int fd, const iovec* iov, int cnt) noexcept {
  return neg_errno(::syscall(SYS_readv, fd, iov, cnt));
}
inline ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  return neg_errno(::syscall(SYS_sendmsg, fd, msg, flags));
}
#else
inline ssize_t recv(int fd, void* buf, size_t n, int flags) noexcept { return neg_errno(::recv(fd, buf, n, flags)); }
inline ssize_t send(int fd, const void* buf, size_t n, int flags) noexcept {
  return neg_errno(::send(fd, buf, n, flags));
}
inline ssize_t write(int fd, const void* buf, size_t n) noexcept { return neg_errno(::write(fd, buf, n)); }
inline ssize_t readv(int fd, const iovec* iov, int cnt) noexcept { return neg_errno(::readv(fd, iov, cnt)); }
inline ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  return neg_errno(::sendmsg(fd, msg, flags));
}
#endif
#endif

}  // namespace gort::net::detail::sys
