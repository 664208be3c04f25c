// errgroup.hpp - golang.org/x/sync/errgroup: run fibers for the parts of one
// task, wait for all of them, keep the first failure.
//
//   auto [g, ctx] = gort::ErrGroup::with_context(parent);   // errgroup.WithContext
//   for (auto& url : urls) {
//     g.go([ctx, &url]() -> std::error_code { return fetch(ctx, url); });
//   }
//   if (std::error_code ec = g.wait()) ...                   // if err := g.Wait(); err != nil
//
// A function given to go() returns std::error_code (empty: success) or void.
// An exception escaping it is that fiber's error, not a process panic: the
// first failure - a non-empty code or an exception - wins, cancels the
// group's context (with_context groups only), and is what wait() reports:
// it returns the code, or rethrows the exception (every call to wait()).
// Later failures are dropped, as in x/sync.
//
// A default-constructed group has no context and cancels nothing (Go's zero
// Group). ErrGroup is a movable handle on shared state, so fibers that
// outlive a moved-from or destroyed group stay safe; it must not be copied
// (Go's Group must not be copied either). go(), try_go() and wait() are safe
// from any fiber or plain thread; wait() parks (or blocks a thread).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "gort/chan.hpp"
#include "gort/context.hpp"
#include "gort/go.hpp"
#include "gort/wait_group.hpp"

namespace gort {

class ErrGroup {
 public:
  // Go: var g errgroup.Group.
  ErrGroup();
  // Go: errgroup.WithContext(parent). context() is a child of parent that is
  // canceled by the first failure or when wait() returns, whichever is first.
  explicit ErrGroup(Context parent);
  static std::pair<ErrGroup, Context> with_context(Context parent) {
    ErrGroup g(std::move(parent));
    Context ctx = g.context();
    return {std::move(g), std::move(ctx)};
  }

  ErrGroup(ErrGroup&&) noexcept = default;
  ErrGroup& operator=(ErrGroup&&) noexcept = default;
  ErrGroup(const ErrGroup&) = delete;
  ErrGroup& operator=(const ErrGroup&) = delete;

  // The group's context (Background for a default-constructed group).
  Context context() const { return state_->ctx; }

  // Go: Group.Go. Runs f in a new fiber; with a limit set, first waits until
  // fewer than `limit` of the group's fibers are running.
  template <class F>
  void go(F&& f) {
    acquire_slot();
    start(std::forward<F>(f));
  }

  // Go: Group.TryGo. Starts f only if the limit allows it now.
  template <class F>
  bool try_go(F&& f) {
    if (!try_acquire_slot()) return false;
    start(std::forward<F>(f));
    return true;
  }

  // Go: Group.Wait. Waits for every fiber started by go(), then cancels the
  // group's context and returns the first error code, or rethrows the first
  // exception.
  std::error_code wait();

  // Go: Group.SetLimit. At most n of the group's fibers run at once (n < 0:
  // no limit; 0 makes go() block for good, as in Go). Throws
  // std::logic_error if fibers of the group are running.
  void set_limit(int n);

 private:
  struct State {
    WaitGroup wg;
    chan<std::monostate> sem;  // Go: sem chan token; nil: no limit
    Context ctx;
    CancelFunc cancel;  // empty: a group without context
    std::mutex mu;      // guards the first failure
    bool failed = false;
    std::error_code err;
    std::exception_ptr exception;

    void fail(std::error_code ec, std::exception_ptr ex);
    void done();  // Go: Group.done
  };

  void acquire_slot();
  bool try_acquire_slot();

  template <class F>
  void start(F&& f) {
    state_->wg.add(1);
    std::exception_ptr ex;
    try {
      spawn(std::forward<F>(f));
    } catch (...) {
      ex = std::current_exception();  // no fiber started (no runtime, or copying f threw)
    }
    if (ex) {
      state_->done();  // undo the add and the slot, outside the catch block (it may switch)
      std::rethrow_exception(ex);
    }
  }

  template <class F>
  void spawn(F&& f) {
    gort::go([st = state_, f = std::forward<F>(f)]() mutable {
      std::error_code ec;
      std::exception_ptr ex;
      try {
        if constexpr (std::is_void_v<std::invoke_result_t<std::decay_t<F>&>>) {
          std::invoke(f);
        } else {
          static_assert(std::is_convertible_v<std::invoke_result_t<std::decay_t<F>&>, std::error_code>,
                        "gort::ErrGroup::go: f must return std::error_code or void");
          ec = std::invoke(f);
        }
      } catch (...) {
        ex = std::current_exception();  // leave the catch block before anything can switch
      }
      if (ec || ex) st->fail(ec, std::move(ex));
      st->done();
    });
  }

  std::shared_ptr<State> state_;
};

}  // namespace gort
