// cond.hpp - Go's sync.Cond: a condition variable for fibers and threads.
//
//   gort::Mutex mu;
//   gort::Cond ready;
//   std::deque<Job> jobs;
//   // consumer                                  // producer
//   std::unique_lock lk(mu);                     { std::lock_guard lk(mu); jobs.push_back(j); }
//   ready.wait(lk, [&] { return !jobs.empty(); });  ready.signal();
//
// wait(lk) atomically releases lk and parks the fiber ("sync.Cond.Wait"),
// then relocks lk before returning. lk is anything with lock() and unlock()
// (std::unique_lock<gort::Mutex>, a gort::Mutex itself, a
// std::shared_lock<gort::RWMutex> for waiting as a reader, ...). As in Go and
// C++, wakeups carry no condition: wait in a loop, or use wait(lk, pred).
// A signal that comes after a waiter released the lock is never lost, even if
// the waiter has not parked yet (tickets; see scheduler/notify_list.hpp).
// signal/broadcast need not hold the lock (Go's and C++'s rule). No timed
// wait: for a deadline, wait on a chan in a select with gort::after.
#pragma once

#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/notify_list.hpp"

namespace gort {

class Cond {
 public:
  Cond() = default;
  Cond(const Cond&) = delete;
  Cond& operator=(const Cond&) = delete;

  template <class Lock>
  void wait(Lock& lk) {
    std::uint32_t ticket = list_.add();
    lk.unlock();
    list_.wait(ticket, detail::WaitReason::sync_cond_wait);
    lk.lock();
  }
  template <class Lock, class Pred>
  void wait(Lock& lk, Pred pred) {
    while (!pred()) wait(lk);
  }

  // Go: Signal / Broadcast. Wake the oldest waiter / all waiters.
  void signal() noexcept { list_.notify_one(); }
  void broadcast() noexcept { list_.notify_all(); }
  // std::condition_variable_any's names.
  void notify_one() noexcept { signal(); }
  void notify_all() noexcept { broadcast(); }

 private:
  detail::NotifyList list_;
};

}  // namespace gort
