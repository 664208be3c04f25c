// sys_io.hpp - the system calls of NetFD's hot paths, without libc's
// wrappers. Private to net/src.
//
// glibc's read/send/readv/sendmsg are pthread cancellation points: each call
// enables and disables asynchronous cancellation around the syscall (about 80
// instructions per message for a read plus a send, ~7 % of gort's user time in
// the echo benchmark). gort never uses pthread cancellation on its M's, so on
// Linux NetFD enters the kernel through syscall(2) directly. This is also what
// a later syscall-hooks layer needs: interposed libc read/send must not
// recurse into themselves from the netpoller's own I/O. Same results and errno
// as the libc functions; elsewhere they are the libc functions.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/syscall.h>
#endif

namespace gort::net::detail::sys {

#if defined(__linux__)
inline ssize_t read(int fd, void* buf, size_t n) noexcept { return ::syscall(SYS_read, fd, buf, n); }
inline ssize_t send(int fd, const void* buf, size_t n, int flags) noexcept {
  return ::syscall(SYS_sendto, fd, buf, n, flags, nullptr, 0);
}
inline ssize_t write(int fd, const void* buf, size_t n) noexcept { return ::syscall(SYS_write, fd, buf, n); }
inline ssize_t readv(int fd, const iovec* iov, int cnt) noexcept { return ::syscall(SYS_readv, fd, iov, cnt); }
inline ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  return ::syscall(SYS_sendmsg, fd, msg, flags);
}
#else
inline ssize_t read(int fd, void* buf, size_t n) noexcept { return ::read(fd, buf, n); }
inline ssize_t send(int fd, const void* buf, size_t n, int flags) noexcept { return ::send(fd, buf, n, flags); }
inline ssize_t write(int fd, const void* buf, size_t n) noexcept { return ::write(fd, buf, n); }
inline ssize_t readv(int fd, const iovec* iov, int cnt) noexcept { return ::readv(fd, iov, cnt); }
inline ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept { return ::sendmsg(fd, msg, flags); }
#endif

}  // namespace gort::net::detail::sys
