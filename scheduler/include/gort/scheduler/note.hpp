// note.hpp - a one-shot sleep/wakeup event for OS threads (idle M's, sysmon).
//
// Go: lock_futex.go note (notesleep, notetsleep, notewakeup, noteclear).
//
// Invariants: key_ is 0 (clear) or 1 (signalled). wakeup() sets it to 1 and
// wakes the sleeper; sleep() returns once it is 1. clear() is called by the
// sleeper only, before it publishes itself as sleeping (so a wakeup can never
// fall between clear and sleep). Any number of wakeups collapse into one.
// Platform code: note_linux.cpp (futex); other systems would add a file.
#pragma once

#include <atomic>
#include <cstdint>

namespace gort::detail {

class Note {
 public:
  void clear() noexcept { key_.store(0, std::memory_order_relaxed); }
  void wakeup() noexcept;
  void sleep() noexcept;
  // Sleeps at most ns nanoseconds (ns < 0: no limit). True if woken.
  bool sleep_for(std::int64_t ns) noexcept;
  bool signalled() const noexcept { return key_.load(std::memory_order_acquire) != 0; }

 private:
  std::atomic<std::uint32_t> key_{0};
};

}  // namespace gort::detail
