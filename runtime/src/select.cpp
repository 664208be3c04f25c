// select.cpp - Go's selectgo (runtime/select.go).
//
//   1. Poll order: a random permutation of the cases (uniform choice among
//      the ready ones). Lock order: the distinct channels sorted by address,
//      so concurrent selects never deadlock.
//   2. Pass 0 (gort): each case in poll order under its own channel's lock;
//      the first ready one proceeds. Else lock every channel; pass 1 looks
//      again for a ready case in poll order.
//   3. None ready: with a default, unlock and return -1. Otherwise enqueue one
//      waiter per case (all sharing one SelectState) and park; the park commit
//      unlocks the channels.
//   4. The waker that wins SelectState::done records the winning waiter and
//      readies the fiber. It relocks every channel, dequeues its other waiters
//      (pass 3) and unlocks.
// Invariants: gort/detail/chan_core.hpp.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

#include "gort/detail/chan_core.hpp"

namespace gort::detail {

void send_to_waiter(ChanCore* c, Sudog* sg, void* elem) noexcept GORT_REQUIRES(c->lock);
void recv_from_waiter(ChanCore* c, Sudog* sg, void* elem) noexcept GORT_REQUIRES(c->lock);
void buf_send(ChanCore* c, void* elem) noexcept GORT_REQUIRES(c->lock);
void buf_recv(ChanCore* c, void* elem) noexcept GORT_REQUIRES(c->lock);

namespace {

// Thread-safety analysis: a select holds a set of channel locks known only
// at run time (one per distinct channel, in address order) and releases it
// through callbacks and a park commit. The analysis names locks by
// expression and cannot track such a set, so the functions that take or
// release it (Locks, unlock_all_commit, try_case, select_go) are not
// analysed. The channel operations they call (send_to_waiter, buf_send, ...)
// still declare the lock they need, checked in chan.cpp.
struct Locks {
  ChanCore** order;  // distinct channels, ascending addresses
  int n;
  void lock() const noexcept GORT_NO_THREAD_SAFETY_ANALYSIS {
    for (int i = 0; i < n; i++) order[i]->lock.lock();
  }
  void unlock() const noexcept GORT_NO_THREAD_SAFETY_ANALYSIS {
    for (int i = n - 1; i >= 0; i--) order[i]->lock.unlock();
  }
};

bool unlock_all_commit(G*, void* arg) noexcept {
  static_cast<const Locks*>(arg)->unlock();
  return true;
}

void wake(G* g, Note* note) noexcept {
  if (g != nullptr) {
    RuntimeScope scope(false);
    ready(g);
  } else {
    note->wakeup();
  }
}

template <class T, int N>
class SmallVec {
 public:
  explicit SmallVec(int n) : ptr_(n <= N ? inline_ : (heap_ = std::make_unique<T[]>(static_cast<std::size_t>(n))).get()) {}
  T& operator[](int i) noexcept { return ptr_[i]; }
  T* data() noexcept { return ptr_; }

 private:
  T inline_[N];
  std::unique_ptr<T[]> heap_;
  T* ptr_;
};

// Pass 1's look at one case, with the case's channel locked (and maybe
// others): if it can proceed, does it, calls unlock(), wakes the peer and
// returns true. Otherwise changes nothing and returns false, locks held.
template <class Unlock>
bool try_case(SelectCase& cs, Unlock unlock) GORT_NO_THREAD_SAFETY_ANALYSIS {
  ChanCore* c = cs.c;
  if (cs.is_send) {
    if (c->closed.load(std::memory_order_relaxed)) {
      unlock();
      throw std::logic_error("send on closed channel");
    }
    if (Sudog* sg = c->recvq.dequeue()) {
      send_to_waiter(c, sg, cs.elem);
      G* g = sg->g;
      Note* note = sg->note;
      unlock();
      wake(g, note);
      return true;
    }
    if (c->qcount.load(std::memory_order_relaxed) < c->dataqsiz) {
      buf_send(c, cs.elem);
      unlock();
      return true;
    }
    return false;
  }
  if (Sudog* sg = c->sendq.dequeue()) {
    recv_from_waiter(c, sg, cs.elem);
    G* g = sg->g;
    Note* note = sg->note;
    unlock();
    wake(g, note);
    cs.received = true;
    return true;
  }
  if (c->qcount.load(std::memory_order_relaxed) > 0) {
    buf_recv(c, cs.elem);
    unlock();
    cs.received = true;
    return true;
  }
  if (c->closed.load(std::memory_order_relaxed)) {
    unlock();
    cs.received = false;
    return true;
  }
  return false;
}

}  // namespace

int select_go(SelectCase* cases, int n, bool block) GORT_NO_THREAD_SAFETY_ANALYSIS {
  // Poll order: Go inserts each case at a random position (cheaprandn(i+1)).
  SmallVec<int, 8> poll(n);
  int npoll = 0;
  for (int i = 0; i < n; i++) {
    if (cases[i].c == nullptr) continue;  // a nil channel case never proceeds
    int j = static_cast<int>(chan_rand() % static_cast<std::uint32_t>(npoll + 1));
    poll[npoll] = poll[j];
    poll[j] = i;
    npoll++;
  }
  if (npoll == 0) {
    if (!block) return -1;
    if (current_g() != nullptr) {
      RuntimeScope scope;
      park(nullptr, nullptr, WaitReason::select_no_cases);
    }
    Note note;
    for (;;) note.sleep();
  }

  // Pass 0 (gort; Go goes straight to pass 1): the same checks in poll order,
  // each under its own channel's lock only. A select whose first polled case
  // is ready takes one lock instead of all. Equivalent to Go's linearisation:
  // a case found not ready was not ready when it was looked at, and the
  // first ready one in a uniformly random order is still a uniform choice
  // among the cases ready at their own looks.
  for (int k = 0; k < npoll; k++) {
    ChanCore* c = cases[poll[k]].c;
    c->lock.lock();
    if (try_case(cases[poll[k]], [c]() GORT_NO_THREAD_SAFETY_ANALYSIS { c->lock.unlock(); })) return poll[k];
    c->lock.unlock();
  }
  if (!block) return -1;

  SmallVec<ChanCore*, 8> order(npoll);
  int norder = 0;
  for (int k = 0; k < npoll; k++) order[norder++] = cases[poll[k]].c;
  std::sort(order.data(), order.data() + norder);
  norder = static_cast<int>(std::unique(order.data(), order.data() + norder) - order.data());
  Locks locks{order.data(), norder};
  // Allocated before any channel is locked: a bad_alloc thrown with the
  // locks held would leave every channel of the select locked for good.
  SmallVec<Sudog, 8> sgs(n);

  // The runtime is entered only to wake or to park (see chan_core.hpp).
  locks.lock();

  // Pass 1: the first ready case in poll order, every channel locked (a case
  // may have become ready since pass 0).
  for (int k = 0; k < npoll; k++) {
    if (try_case(cases[poll[k]], [&locks] { locks.unlock(); })) return poll[k];
  }
  if (!block) {
    locks.unlock();
    return -1;
  }

  // Pass 2: wait on every case at once.
  SelectState st;
  G* g = current_g();
  Note note;
  for (int k = 0; k < npoll; k++) {
    int i = poll[k];
    Sudog& s = sgs[i];
    s.g = g;
    s.note = g == nullptr ? &note : nullptr;
    s.elem = cases[i].elem;
    s.sel = &st;
    s.case_index = i;
    s.c = cases[i].c;
    (cases[i].is_send ? s.c->sendq : s.c->recvq).enqueue(&s);
  }
  for (int k = 0; k < norder; k++) chan_ref(order[k]);
  if (g != nullptr) {
    RuntimeScope scope(false);  // no safepoint: the channel locks are held
    park(&unlock_all_commit, &locks, WaitReason::select);
  } else {
    locks.unlock();
    note.sleep();
  }

  // Pass 3: the winner is known; take the other waiters off their queues.
  locks.lock();
  for (int k = 0; k < npoll; k++) {
    int i = poll[k];
    if (&sgs[i] == st.winner) continue;
    (cases[i].is_send ? sgs[i].c->sendq : sgs[i].c->recvq).remove(&sgs[i]);
  }
  locks.unlock();
  for (int k = 0; k < norder; k++) chan_unref(order[k]);

  Sudog* w = st.winner;
  SelectCase& cs = cases[w->case_index];
  if (cs.is_send) {
    if (!w->success) throw std::logic_error("send on closed channel");
  } else {
    cs.received = w->success;
  }
  return w->case_index;
}

}  // namespace gort::detail
