// g_ring.hpp - a growable FIFO of G pointers (the global run queue).
//
// Go keeps the global run queue as a list linked through the G's. Popping a
// batch from such a list reads each G's link field in turn: a chain of
// dependent cache misses when the G's have gone cold (a burst of spawns that
// overflowed the local rings). An array of pointers moves batches without
// touching the G's at all. Not synchronised: sched.lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "gort/scheduler/fiber.hpp"

namespace gort::detail {

[[noreturn]] void fatal(const char* msg) noexcept;  // sched.hpp

class GRing {
 public:
  std::size_t size() const noexcept { return tail_ - head_; }
  bool empty() const noexcept { return tail_ == head_; }

  void push_back(G* g) noexcept {
    if (size() == cap_) grow();
    buf_[tail_++ & (cap_ - 1)] = g;
  }
  G* pop_front() noexcept {
    if (empty()) return nullptr;
    return buf_[head_++ & (cap_ - 1)];
  }

 private:
  // Runs inside noexcept scheduler paths (globrunq_put): out of memory is
  // fatal with a message, as Go's throw("out of memory"), rather than an
  // anonymous std::terminate.
  void grow() noexcept {
    std::size_t cap = cap_ ? cap_ * 2 : 256;
    std::unique_ptr<G*[]> buf(new (std::nothrow) G*[cap]);
    if (!buf) fatal("gort: out of memory growing a run queue");
    std::size_t n = size();
    for (std::size_t i = 0; i < n; i++) buf[i] = buf_[(head_ + i) & (cap_ - 1)];
    buf_ = std::move(buf);
    cap_ = cap;
    head_ = 0;
    tail_ = n;
  }

  std::unique_ptr<G*[]> buf_;
  std::size_t cap_ = 0;
  std::size_t head_ = 0;  // free-running
  std::size_t tail_ = 0;
};

}  // namespace gort::detail
