// prefetch.hpp - prefetching a cache line that is about to be written.
//
// __builtin_prefetch(p, 1) asks for write intent, but unless the target
// enables PRFCHW (Debian builds for generic x86-64, which does not) GCC emits
// a plain read prefetch: the line arrives shared, and if another core holds
// it (a G that last ran on another P, a pollDesc the poller thread touched)
// the store still waits for the ownership round trip. PREFETCHW fetches the
// line exclusive. It is in every AMD64 CPU and in Intel's since Broadwell;
// older Intel parts decode its opcode as a NOP, so it is safe everywhere.
#pragma once

namespace gort::detail {

__attribute__((always_inline)) inline void prefetch_write(const void* p) noexcept {
#if defined(__x86_64__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 1);
#endif
}

}  // namespace gort::detail
