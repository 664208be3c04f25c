// errgroup.cpp - golang.org/x/sync/errgroup (errgroup.go: Group.Go, TryGo,
// Wait, SetLimit, done).
//
// State (shared by the ErrGroup handle and its fibers):
//   - wg counts the fibers started and not finished (Go: g.wg).
//   - sem holds one token per running fiber when a limit is set (Go: g.sem):
//     go() sends before starting, the fiber receives when it is done. It is
//     replaced only by set_limit, which requires no running fibers.
//   - failed/err/exception record the first failure, under mu (Go: errOnce).
//     They are written before the failing fiber's wg.done(), so wait() reads
//     them after wg.wait() with the WaitGroup's happens-before; mu still
//     serialises racing failures and a wait() racing a late go().
#include "gort/errgroup.hpp"

#include <stdexcept>
#include <string>

namespace gort {

ErrGroup::ErrGroup() : state_(std::make_shared<State>()) {}

// Go: errgroup.WithContext (withCancelCause; gort has no causes, so the
// context's err() is errc::canceled and the failure itself is wait()'s).
ErrGroup::ErrGroup(Context parent) : state_(std::make_shared<State>()) {
  auto [ctx, cancel] = with_cancel(std::move(parent));
  state_->ctx = std::move(ctx);
  state_->cancel = std::move(cancel);
}

void ErrGroup::State::fail(std::error_code ec, std::exception_ptr ex) {
  {
    std::lock_guard lk(mu);
    if (failed) return;  // Go: errOnce.Do: later errors are dropped
    failed = true;
    err = ec;
    exception = std::move(ex);
  }
  if (cancel) cancel();  // outside mu: cancel closes channels
}

void ErrGroup::State::done() {
  if (sem) sem.recv();  // Go: <-g.sem (our own token is there: never blocks)
  wg.done();
}

void ErrGroup::acquire_slot() {
  if (state_->sem) state_->sem.send(std::monostate{});  // Go: g.sem <- token{}
}

bool ErrGroup::try_acquire_slot() {
  return !state_->sem || state_->sem.try_send(std::monostate{});
}

std::error_code ErrGroup::wait() {
  state_->wg.wait();
  if (state_->cancel) state_->cancel();  // Go: Wait cancels the context once all returned
  std::error_code ec;
  std::exception_ptr ex;
  {
    std::lock_guard lk(state_->mu);
    ec = state_->err;
    ex = state_->exception;
  }
  if (ex) std::rethrow_exception(ex);
  return ec;
}

void ErrGroup::set_limit(int n) {
  if (n < 0) {
    state_->sem = {};
    return;
  }
  if (std::size_t active = state_->sem.len(); active != 0) {
    throw std::logic_error("errgroup: modify limit while " + std::to_string(active) +
                           " goroutines in the group are still active");
  }
  state_->sem = chan<std::monostate>(static_cast<std::size_t>(n));
}

}  // namespace gort
