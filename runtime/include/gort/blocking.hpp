// blocking.hpp - running a call that may block its thread.
//
//   auto n = gort::blocking([&] { return ::read(file_fd, buf, len); });
//
// Go: entersyscall/exitsyscall around every syscall. The fiber gives up its
// P for the duration, so if the call blocks for more than ~20 us sysmon hands
// the P to another thread and the other fibers keep running. Use it around
// file I/O, DNS lookups and third-party libraries that block. The function
// must not park (no channel, mutex, sleep or net operation inside); it may
// spawn fibers. Its result or exception is passed through.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "gort/scheduler/park.hpp"

namespace gort {

template <class F>
decltype(auto) blocking(F&& f) {
  using R = std::invoke_result_t<F>;
  if (!detail::blocking_enter()) return std::invoke(std::forward<F>(f));
  // The exception (if any) is caught here and rethrown after leaving: leaving
  // may switch this fiber to another thread, which must not happen while an
  // exception is being unwound.
  std::exception_ptr error;
  if constexpr (std::is_void_v<R>) {
    try {
      std::invoke(std::forward<F>(f));
    } catch (...) {
      error = std::current_exception();
    }
    detail::blocking_leave();
    if (error) std::rethrow_exception(error);
  } else if constexpr (std::is_reference_v<R>) {
    std::remove_reference_t<R>* result = nullptr;
    try {
      result = &std::invoke(std::forward<F>(f));
    } catch (...) {
      error = std::current_exception();
    }
    detail::blocking_leave();
    if (error) std::rethrow_exception(error);
    return static_cast<R>(*result);
  } else {
    std::optional<R> result;
    try {
      result.emplace(std::invoke(std::forward<F>(f)));
    } catch (...) {
      error = std::current_exception();
    }
    detail::blocking_leave();
    if (error) std::rethrow_exception(error);
    return R(std::move(*result));
  }
}

}  // namespace gort
