// futex.hpp - the OS's wait-on-address primitive (platform file:
// note_linux.cpp). Used by Note and RuntimeMutex.
#pragma once

#include <atomic>
#include <cstdint>

namespace gort::detail {

// Sleeps while *addr == val, at most timeout_ns (< 0: no limit). Spurious
// returns are allowed; callers re-check.
void futex_wait(std::atomic<std::uint32_t>* addr, std::uint32_t val, std::int64_t timeout_ns) noexcept;
// Wakes up to n sleepers on addr.
void futex_wake(std::atomic<std::uint32_t>* addr, int n) noexcept;

}  // namespace gort::detail
