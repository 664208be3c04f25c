// nanotime.hpp - the runtime's monotonic clock, in nanoseconds (Go: nanotime).
//
// CLOCK_MONOTONIC, the clock behind std::chrono::steady_clock on Linux, so
// deadlines given as steady_clock time_points convert exactly.
#pragma once

#include <time.h>

#include <cstdint>

namespace gort::detail {

inline std::int64_t nanotime() noexcept {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Millisecond-grained and cheaper: for bookkeeping that only needs a rough
// age (how long a fiber has been waiting), never for timers.
inline std::int64_t coarse_nanotime() noexcept {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace gort::detail
