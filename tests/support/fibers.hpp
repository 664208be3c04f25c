// Test support: wait until fibers are observably parked, instead of
// sleeping "to let them park" (a sleep proves nothing on a loaded machine:
// the test then silently takes another path). Call from a fiber.
#pragma once

#include <string_view>

#include "gort/debug.hpp"
#include "gort/go.hpp"

namespace gort::test {

// Number of fibers parked with wait reason `state` ("IO wait", "select",
// "chan receive", "sync.Mutex.Lock", ... as gort::debug::fibers() spells it).
inline int parked(std::string_view state) {
  int n = 0;
  for (const auto& f : gort::debug::fibers()) n += f.waiting && f.state == state;
  return n;
}

// Yields until at least n fibers are parked with wait reason `state`.
inline void await_parked(std::string_view state, int n = 1) {
  while (parked(state) < n) gort::yield();
}

}  // namespace gort::test
