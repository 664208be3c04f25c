// thread_state_linux.cpp - thread_state.hpp from /proc/self/task/TID/stat.
#include "thread_state.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace gort::detail {

pid_t current_tid() noexcept { return static_cast<pid_t>(::syscall(SYS_gettid)); }

bool thread_waits_in_kernel(pid_t tid) noexcept {
  if (tid <= 0) return false;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  // "tid (comm) S ...": the state follows the last ')' (comm may hold one).
  const char* close_paren = std::strrchr(buf, ')');
  if (close_paren == nullptr || close_paren[1] != ' ') return false;
  char state = close_paren[2];
  return state == 'S' || state == 'D';
}

}  // namespace gort::detail
