// once.hpp - Go's sync.Once: run a function exactly once.
//
//   gort::Once once;
//   Config* cfg;
//   once.call([&] { cfg = load_config(); });   // every caller returns after it ran
//
// The first caller runs f; callers that arrive meanwhile wait (fibers park on
// a gort::Mutex) and return after f returned, seeing all its writes. Later
// calls return at once (one acquire load).
//
// Go's semantics, not std::call_once's, when f throws: the Once counts as done
// (Go: "if f panics, Do considers it to have returned; future calls of Do
// return without calling f") and the exception propagates to the caller that
// ran f. Callers that waited return normally. To retry on failure, keep the
// error in your own state.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <utility>

#include "gort/mutex.hpp"

namespace gort {

class Once {
 public:
  Once() = default;
  Once(const Once&) = delete;
  Once& operator=(const Once&) = delete;

  template <class F, class... Args>
  void call(F&& f, Args&&... args) {
    if (done_.load(std::memory_order_acquire)) return;  // Go: the inlined fast path
    std::lock_guard lk(m_);
    if (done_.load(std::memory_order_relaxed)) return;
    struct MarkDone {
      std::atomic<bool>& d;
      ~MarkDone() { d.store(true, std::memory_order_release); }
    } mark{done_};
    std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  }
  bool done() const noexcept { return done_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> done_{false};
  Mutex m_;
};

}  // namespace gort
