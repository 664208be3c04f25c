// context.hpp - Go's context package: cancellation, deadlines and
// request-scoped values that flow down a tree of contexts.
//
//   auto [ctx, cancel] = gort::with_timeout(gort::Context::background(), 100ms);
//   gort::go([ctx = ctx] {
//     gort::select(gort::recv(ctx.done()),            // case <-ctx.Done():
//                  gort::recv(jobs, [](Job j) { ... }));
//   });
//   cancel();                                       // defer cancel()
//   if (ctx.err() == gort::errc::canceled) ...      // errors.Is(err, context.Canceled)
//
// A Context is a handle (Go's interface value): copies share one node, and a
// node keeps its parent alive. Every method, every CancelFunc and every
// with_* call is safe from any fiber and from plain threads. A future deadline
// needs a running runtime (its timer lives there).
//
// Semantics are Go's (context/context.go): done() is closed and err() becomes
// errc::canceled or errc::deadline_exceeded at the same moment, the first
// cause wins, cancellation flows to every descendant and never upward, a
// canceled child leaves its parent's children set, and a child of a canceled
// parent is born canceled. Background (also the default-constructed Context)
// is never canceled: its done() is a nil channel, as in Go.
//
// Deviation (C++ has no garbage collector): a parent refers to its children
// and a deadline timer to its context only weakly. A context is kept alive by
// its handles - Context copies, CancelFuncs, descendants - and one that
// nobody holds any more is destroyed, leaving its parent and stopping its
// timer; Go keeps it until the parent is canceled or the timer fires. So a
// forgotten cancel() leaks nothing, but keep the Context (not only its done()
// channel) while you wait on it.
#pragma once

#include <any>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>
#include <variant>

#include "gort/chan.hpp"
#include "gort/time.hpp"

namespace gort {

// gort's own error codes (category "gort"). Context errors: Go's
// context.Canceled and context.DeadlineExceeded. They compare equal to the
// portable conditions std::errc::operation_canceled and std::errc::timed_out
// (Go: DeadlineExceeded.Timeout() is true).
enum class errc {
  canceled = 1,           // "context canceled"
  deadline_exceeded = 2,  // "context deadline exceeded"
};

}  // namespace gort

template <>
struct std::is_error_code_enum<gort::errc> : std::true_type {};

namespace gort {

const std::error_category& gort_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), gort_category()}; }

// What done() returns: Go's <-chan struct{}. Only ever closed, never sent on.
using DoneChan = chan<std::monostate>;

// Go: context.CancelFunc. Copyable; the first call cancels, later calls (from
// any fiber or thread) do nothing. Never empty when returned by with_*.
using CancelFunc = std::function<void()>;

// A typed value key (Go's idiom: an unexported key type per package). Keys
// compare by address, so define each one once, as a static or global:
//   static const gort::ContextKey<std::string> request_id;
template <class T>
class ContextKey {
 public:
  constexpr ContextKey() noexcept = default;
  ContextKey(const ContextKey&) = delete;
  ContextKey& operator=(const ContextKey&) = delete;

 private:
  char unused_ = 0;  // a non-empty object: distinct keys have distinct addresses
};

class Context;

namespace detail {
class ContextNode;
class CancelNode;
// Introspection for tests: how many live children are registered with the
// context's cancel node (0 for a context that can never be canceled).
std::size_t context_children(const Context& c) noexcept;
}  // namespace detail

class Context {
 public:
  // Go: context.Background(): never canceled, no deadline, no values.
  Context() noexcept = default;
  static Context background() noexcept { return {}; }
  // Go: context.TODO(): the same empty context, named for code not yet plumbed.
  static Context todo() noexcept { return {}; }

  // Go: ctx.Done(). Closed when this context is canceled; every call returns
  // the same channel. A nil channel (blocks forever, never ready in a select)
  // when the context can never be canceled.
  DoneChan done() const;
  // Go: ctx.Err(). Empty until done() is closed, then errc::canceled or
  // errc::deadline_exceeded for good. Lock-free while not canceled.
  std::error_code err() const noexcept;
  // Go: ctx.Deadline(). The earliest deadline of this context and its
  // ancestors, if any.
  std::optional<Clock::time_point> deadline() const noexcept;

  // Go: ctx.Value(key). The value of the nearest with_value for `key` up the
  // chain; an empty std::any if none (Go's nil).
  std::any value(const void* key) const;
  // Typed lookup: a copy of the value, nullopt if none (std::bad_any_cast if
  // the key's address was also used untyped, with another type).
  template <class T>
  std::optional<T> value(const ContextKey<T>& key) const {
    const std::any* v = find_value(&key);
    if (v == nullptr) return std::nullopt;
    return std::any_cast<const T&>(*v);
  }

  // Same underlying context (Go: interface equality).
  friend bool operator==(const Context& a, const Context& b) noexcept { return a.node_ == b.node_; }

 private:
  friend std::pair<Context, CancelFunc> with_cancel(Context parent);
  friend std::pair<Context, CancelFunc> with_deadline(Context parent, Clock::time_point d);
  friend Context with_value(Context parent, const void* key, std::any value);
  friend std::size_t detail::context_children(const Context& c) noexcept;

  explicit Context(std::shared_ptr<detail::ContextNode> n) noexcept : node_(std::move(n)) {}
  const std::any* find_value(const void* key) const noexcept;
  detail::CancelNode* canceler() const noexcept;

  std::shared_ptr<detail::ContextNode> node_;  // null: Background
};

// Go: context.WithCancel. A child whose done() closes when cancel is called or
// when parent is canceled, whichever happens first. Call cancel when the work
// is over: it releases the child's place in its parent at once.
std::pair<Context, CancelFunc> with_cancel(Context parent);

// Go: context.WithDeadline. As with_cancel, and also canceled with
// errc::deadline_exceeded at d. If parent's deadline is earlier, this is
// with_cancel(parent) (parent's deadline governs); a d already past cancels
// the child at once. A future d needs a running runtime for its timer
// (std::logic_error otherwise).
std::pair<Context, CancelFunc> with_deadline(Context parent, Clock::time_point d);

// Go: context.WithTimeout: with_deadline(parent, now + timeout).
template <class Rep, class Period>
std::pair<Context, CancelFunc> with_timeout(Context parent,
                                            const std::chrono::duration<Rep, Period>& timeout) {
  // deadline_after saturates: a huge timeout means "never" instead of overflowing.
  std::int64_t when = detail::deadline_after(std::chrono::ceil<std::chrono::nanoseconds>(timeout));
  auto d = std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(when));
  return with_deadline(std::move(parent), Clock::time_point(d));
}

// Go: context.WithValue. A child that carries value under key (any non-null
// address, typically of a static object; std::invalid_argument for null, as
// Go panics on a nil key). Lookups walk up the chain, so keep chains short
// and values few: request-scoped data, not optional parameters.
Context with_value(Context parent, const void* key, std::any value);

template <class T, class V>
Context with_value(Context parent, const ContextKey<T>& key, V&& value) {
  return with_value(std::move(parent), static_cast<const void*>(&key), std::any(T(std::forward<V>(value))));
}

}  // namespace gort
