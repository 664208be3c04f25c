// thread_state.hpp - whether another thread of this process is on a CPU or
// asleep in the kernel. Platform code (thread_state_linux.cpp).
#pragma once

#include <sys/types.h>

namespace gort::detail {

// The calling thread's kernel id (Linux: gettid).
pid_t current_tid() noexcept;

// True if thread `tid` is waiting in the kernel (a blocking system call, a
// sleep, a page being read in), false if it runs or is runnable, or if this
// cannot be told. sysmon asks before it sends the preemption signal: a
// thread that waits in the kernel is not hogging a CPU, and the signal
// would only cut its call short with EINTR.
bool thread_waits_in_kernel(pid_t tid) noexcept;

}  // namespace gort::detail
