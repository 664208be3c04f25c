// entry.hpp - turns a C++ callable into the scheduler's type-erased
// FiberEntry. The callable is moved onto the top of the new fiber's own stack
// (no heap allocation per spawn).
#pragma once

#include <new>
#include <utility>

#include "gort/scheduler/fiber.hpp"

namespace gort::detail {

template <class Fn>
struct EntryOps {
  static void relocate(void* dst, void* src) { ::new (dst) Fn(std::move(*static_cast<Fn*>(src))); }
  static void invoke(void* obj) { (*static_cast<Fn*>(obj))(); }
  static void destroy(void* obj) noexcept { static_cast<Fn*>(obj)->~Fn(); }
  static constexpr FiberEntry entry{&relocate, &invoke, &destroy, sizeof(Fn), alignof(Fn)};
};

}  // namespace gort::detail
