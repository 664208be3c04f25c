// sema.cpp - see sema.hpp.
#include "gort/scheduler/sema.hpp"

#include "gort/scheduler/park.hpp"

namespace gort::detail {

bool Sema::try_acquire() noexcept {
  lock_.lock();
  bool ok = count_ > 0;
  if (ok) count_--;
  lock_.unlock();
  return ok;
}

void Sema::acquire(WaitReason reason, bool lifo) noexcept {
  RuntimeScope scope;
  lock_.lock();
  if (count_ > 0) {
    count_--;
    lock_.unlock();
    return;
  }
  Waiter w;
  if (lifo) {
    w.next = head_;
    head_ = &w;
    if (tail_ == nullptr) tail_ = &w;
  } else {
    if (tail_) tail_->next = &w; else head_ = &w;
    tail_ = &w;
  }
  nwait_.fetch_add(1, std::memory_order_relaxed);
  if (G* g = current_g()) {
    w.g = g;
    park_unlock(lock_, reason);  // the unit is ours when we wake (INV1)
    return;
  }
  Note note;
  w.note = &note;
  lock_.unlock();
  note.sleep();
}

void Sema::release(bool handoff) noexcept {
  bool readied = false;
  {
    RuntimeScope scope(false);
    lock_.lock();
    Waiter* w = head_;
    // Waiters abandoned when their runtime ended never take the unit.
    while (w != nullptr && w->g != nullptr && is_abandoned(w->g)) {
      head_ = w->next;
      nwait_.fetch_sub(1, std::memory_order_relaxed);
      w = head_;
    }
    if (w == nullptr) {
      tail_ = nullptr;
      count_++;
      lock_.unlock();
      return;
    }
    head_ = w->next;
    if (head_ == nullptr) tail_ = nullptr;
    nwait_.fetch_sub(1, std::memory_order_relaxed);
    G* g = w->g;
    Note* note = w->note;
    lock_.unlock();
    if (g != nullptr) {
      ready(g);
      readied = true;
    } else {
      note->wakeup();
    }
  }
  // Outside the runtime bracket: yield() is a user-level call.
  if (handoff && readied && current_g() != nullptr) yield();
}

}  // namespace gort::detail
