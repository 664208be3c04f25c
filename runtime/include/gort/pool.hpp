// pool.hpp - a cache of reusable objects, kept per P (Go: sync.Pool).
//
//   gort::Pool<Buffer> buffers;
//   auto b = buffers.get();        // the object this P returned last, or a new one
//   ... use *b ...
//   buffers.put(std::move(b));     // for the next get on this P
//
// Each P keeps a small LIFO of objects, so a get() usually returns memory
// its own core touched a moment ago (warm in cache), without contention.
// Unlike Go's pool, nothing is dropped by a garbage collector: a P keeps at
// most `per_p` objects and deletes the ones put beyond that. Objects come
// back as they were put: reset them before use. Any thread may use a pool
// (threads without a P share one more LIFO).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace gort {

namespace detail {
// Type-erased per-P LIFO of void*; see pool.cpp for its invariants.
class PoolCore {
 public:
  PoolCore(std::size_t per_p, void (*destroy)(void*));
  ~PoolCore();
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;
  void* get() noexcept;          // null: empty
  void put(void* obj) noexcept;  // destroys obj when this P's LIFO is full

 private:
  struct Slot;
  std::unique_ptr<Slot[]> slots_;
  std::size_t per_p_;
  void (*destroy_)(void*);
};
}  // namespace detail

template <class T>
class Pool {
 public:
  explicit Pool(std::function<std::unique_ptr<T>()> make = [] { return std::make_unique<T>(); },
                std::size_t per_p = 8)
      : make_(std::move(make)), core_(per_p, [](void* p) { delete static_cast<T*>(p); }) {}

  std::unique_ptr<T> get() {
    if (void* p = core_.get()) return std::unique_ptr<T>(static_cast<T*>(p));
    return make_();
  }
  void put(std::unique_ptr<T> obj) noexcept {
    if (obj) core_.put(obj.release());
  }

 private:
  std::function<std::unique_ptr<T>()> make_;
  detail::PoolCore core_;
};

}  // namespace gort
