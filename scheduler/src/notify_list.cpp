// notify_list.cpp - see notify_list.hpp.
#include "gort/scheduler/notify_list.hpp"

#include "gort/scheduler/park.hpp"

namespace gort::detail {
namespace {
// Go: less. a < b in ticket order, across wrap-around.
bool less(std::uint32_t a, std::uint32_t b) noexcept { return static_cast<std::int32_t>(a - b) < 0; }
}  // namespace

void NotifyList::wake(Waiter* w) noexcept {
  // w may vanish as soon as its owner runs: read it first.
  G* g = w->g;
  Note* note = w->note;
  if (g != nullptr) {
    ready(g);
  } else {
    note->wakeup();
  }
}

void NotifyList::wait(std::uint32_t t, WaitReason reason) noexcept {
  RuntimeScope scope;
  lock_.lock();
  if (less(t, notify_.load(std::memory_order_relaxed))) {  // notified already
    lock_.unlock();
    return;
  }
  Waiter w;
  w.ticket = t;
  if (tail_ != nullptr) tail_->next = &w; else head_ = &w;
  tail_ = &w;
  if (G* g = current_g()) {
    w.g = g;
    park_unlock(lock_, reason);
    return;
  }
  Note note;
  w.note = &note;
  lock_.unlock();
  note.sleep();
}

void NotifyList::notify_all() noexcept {
  if (wait_.load(std::memory_order_acquire) == notify_.load(std::memory_order_acquire)) return;
  RuntimeScope scope(false);
  lock_.lock();
  Waiter* w = head_;
  head_ = tail_ = nullptr;
  notify_.store(wait_.load(std::memory_order_acquire), std::memory_order_release);
  lock_.unlock();
  while (w != nullptr) {
    Waiter* next = w->next;
    wake(w);
    w = next;
  }
}

void NotifyList::notify_one() noexcept {
  if (wait_.load(std::memory_order_acquire) == notify_.load(std::memory_order_acquire)) return;
  RuntimeScope scope(false);
  lock_.lock();
  for (;;) {
    std::uint32_t t = notify_.load(std::memory_order_relaxed);
    if (t == wait_.load(std::memory_order_acquire)) break;
    // Ticket t is notified whether or not its waiter has queued yet (if
    // not, its wait() returns at once).
    notify_.store(t + 1, std::memory_order_release);
    Waiter* found = nullptr;
    for (Waiter *prev = nullptr, *w = head_; w != nullptr; prev = w, w = w->next) {
      if (w->ticket != t) continue;
      Waiter* next = w->next;
      if (prev != nullptr) prev->next = next; else head_ = next;
      if (tail_ == w) tail_ = prev;
      found = w;
      break;
    }
    if (found == nullptr) break;
    // A waiter abandoned when its runtime ended cannot use the signal:
    // pass it to the next ticket.
    if (found->g != nullptr && is_abandoned(found->g)) continue;
    lock_.unlock();
    wake(found);
    return;
  }
  lock_.unlock();
}

}  // namespace gort::detail
