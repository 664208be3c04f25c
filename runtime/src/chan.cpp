// chan.cpp - channels: send, receive, close (Go: runtime/chan.go).
// Invariants: gort/detail/chan_core.hpp.
#include <cstring>
#include <new>
#include <stdexcept>

#include "gort/detail/chan_core.hpp"
#include "gort/scheduler/machine.hpp"

namespace gort::detail {

// ---- wait queues ----

void WaitQ::enqueue(Sudog* s) noexcept {
  s->next = nullptr;
  s->prev = last;
  if (last) last->next = s; else first.store(s, std::memory_order_relaxed);
  last = s;
  s->queued = true;
}

void WaitQ::remove(Sudog* s) noexcept {
  if (!s->queued) return;
  if (s->prev) s->prev->next = s->next; else first.store(s->next, std::memory_order_relaxed);
  if (s->next) s->next->prev = s->prev; else last = s->prev;
  s->next = s->prev = nullptr;
  s->queued = false;
}

Sudog* WaitQ::dequeue() noexcept {
  while (Sudog* s = first.load(std::memory_order_relaxed)) {
    remove(s);
    // A waiter of a runtime that ended: its fiber never runs again, so the
    // value or the wakeup goes to the next waiter instead.
    if (s->g != nullptr && is_abandoned(s->g)) continue;
    if (s->sel != nullptr) {
      int expected = 0;
      if (!s->sel->done.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) continue;  // INV4
      s->sel->winner = s;
    }
    return s;
  }
  return nullptr;
}

// ---- lifetime ----

ChanCore::ChanCore(const ElemOps* o, std::size_t capacity)
    : ops(o), dataqsiz(static_cast<std::uint32_t>(capacity)) {
  if (capacity > 0xffffffffu / 2) throw std::length_error("gort::chan: capacity too large");
  stride = (ops->size + ops->align - 1) / ops->align * ops->align;
  if (dataqsiz > 0) {
    buf = static_cast<char*>(::operator new(stride * dataqsiz, std::align_val_t(ops->align)));
  }
}

ChanCore::~ChanCore() {
  std::uint32_t n = qcount.load(std::memory_order_relaxed);
  for (std::uint32_t i = 0, x = recvx; i < n; i++, x = (x + 1) % dataqsiz) ops->destroy(slot(x));
  if (buf) ::operator delete(buf, std::align_val_t(ops->align));
}

void chan_ref(ChanCore* c) noexcept { c->refs.fetch_add(1, std::memory_order_relaxed); }
void chan_unref(ChanCore* c) noexcept {
  if (c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete c;
}

namespace {

// The non-blocking fast paths' lock-free look (Go: chansend's and chanrecv's
// check before locking): they read recvq/sendq.first without c->lock, on
// purpose, and only compare it with null. Not analysed, for that read only.
bool full(const ChanCore* c) noexcept GORT_NO_THREAD_SAFETY_ANALYSIS;
bool empty(const ChanCore* c) noexcept GORT_NO_THREAD_SAFETY_ANALYSIS;

// Wakes a dequeued waiter. Call without the channel lock (INV3).
void wake(G* g, Note* note) noexcept {
  if (g != nullptr) {
    RuntimeScope scope(false);
    ready(g);
  } else {
    note->wakeup();
  }
}

// Blocks the caller, already enqueued as `s`, releasing c->lock (held).
void block_on(ChanCore* c, Sudog* s, WaitReason reason) noexcept GORT_RELEASE(c->lock) {
  if (G* g = current_g()) {
    s->g = g;
    RuntimeScope scope(false);  // no safepoint: the channel lock is held
    park_unlock(c->lock, reason);
  } else {
    Note note;
    s->note = &note;
    c->lock.unlock();
    note.sleep();
  }
}

[[noreturn]] void block_forever(WaitReason reason) {
  if (current_g() != nullptr) {
    RuntimeScope scope;
    park(nullptr, nullptr, reason);  // nobody will ever ready it
  }
  Note note;  // a plain thread blocks for good
  for (;;) note.sleep();
}

bool full(const ChanCore* c) noexcept {
  if (c->dataqsiz == 0) return c->recvq.first.load(std::memory_order_relaxed) == nullptr;  // WaitQ::first
  return c->qcount.load(std::memory_order_relaxed) == c->dataqsiz;
}

bool empty(const ChanCore* c) noexcept {
  if (c->dataqsiz == 0) return c->sendq.first.load(std::memory_order_relaxed) == nullptr;
  return c->qcount.load(std::memory_order_relaxed) == 0;
}

void advance(std::uint32_t& x, std::uint32_t cap) noexcept {
  if (++x == cap) x = 0;
}

// Element moves without an indirect call for trivially copyable types.
inline void move_elem(const ElemOps* ops, void* dst, void* src) noexcept {
  if (ops->trivial) {
    switch (ops->size) {
      case 1: std::memcpy(dst, src, 1); return;
      case 2: std::memcpy(dst, src, 2); return;
      case 4: std::memcpy(dst, src, 4); return;
      case 8: std::memcpy(dst, src, 8); return;
      case 16: std::memcpy(dst, src, 16); return;
      default: std::memcpy(dst, src, ops->size); return;
    }
  }
  ops->move_construct(dst, src);
}
inline void destroy_elem(const ElemOps* ops, void* p) noexcept {
  if (!ops->trivial) ops->destroy(p);
}

}  // namespace

// ---- send / recv (callers hold c->lock; used by select too) ----

// Go: send. A receiver is waiting: hand the value over directly.
void send_to_waiter(ChanCore* c, Sudog* sg, void* elem) noexcept GORT_REQUIRES(c->lock) {
  if (sg->elem != nullptr) move_elem(c->ops, sg->elem, elem);
  sg->success = true;
}

// Go: recv. A sender is waiting (so the buffer, if any, is full).
void recv_from_waiter(ChanCore* c, Sudog* sg, void* elem) noexcept GORT_REQUIRES(c->lock) {
  if (c->dataqsiz == 0) {
    if (elem != nullptr) move_elem(c->ops, elem, sg->elem);
  } else {
    // Take the head of the queue; the sender's value takes its slot, which
    // becomes the tail (the buffer stays full).
    void* head = c->slot(c->recvx);
    if (elem != nullptr) move_elem(c->ops, elem, head);
    destroy_elem(c->ops, head);
    move_elem(c->ops, head, sg->elem);
    advance(c->recvx, c->dataqsiz);
    c->sendx = c->recvx;
  }
  sg->success = true;
}

void buf_send(ChanCore* c, void* elem) noexcept GORT_REQUIRES(c->lock) {
  move_elem(c->ops, c->slot(c->sendx), elem);
  advance(c->sendx, c->dataqsiz);
  c->qcount.store(c->qcount.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void buf_recv(ChanCore* c, void* elem) noexcept GORT_REQUIRES(c->lock) {
  void* head = c->slot(c->recvx);
  if (elem != nullptr) move_elem(c->ops, elem, head);
  destroy_elem(c->ops, head);
  advance(c->recvx, c->dataqsiz);
  c->qcount.store(c->qcount.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

bool chan_send(ChanCore* c, void* elem, bool block) {
  if (c == nullptr) {
    if (!block) return false;
    block_forever(WaitReason::chan_send_nil);
  }
  // Fast fail for a non-blocking send (Go: the lock-free check in chansend).
  if (!block && !c->closed.load(std::memory_order_relaxed) && full(c)) return false;

  c->lock.lock();
  if (c->closed.load(std::memory_order_relaxed)) {
    c->lock.unlock();
    throw std::logic_error("send on closed channel");
  }
  if (Sudog* sg = c->recvq.dequeue()) {
    send_to_waiter(c, sg, elem);
    G* g = sg->g;
    Note* note = sg->note;
    c->lock.unlock();
    wake(g, note);
    return true;
  }
  if (c->qcount.load(std::memory_order_relaxed) < c->dataqsiz) {
    buf_send(c, elem);
    c->lock.unlock();
    return true;
  }
  if (!block) {
    c->lock.unlock();
    return false;
  }
  Sudog me;
  me.elem = elem;
  me.c = c;
  c->sendq.enqueue(&me);
  chan_ref(c);  // the channel outlives this wait even if every handle goes
  block_on(c, &me, WaitReason::chan_send);
  chan_unref(c);
  if (!me.success) throw std::logic_error("send on closed channel");
  return true;
}

RecvResult chan_recv(ChanCore* c, void* elem, bool block) {
  if (c == nullptr) {
    if (!block) return {false, false};
    block_forever(WaitReason::chan_receive_nil);
  }
  // Fast path for a non-blocking receive (Go: chanrecv's lock-free check).
  if (!block && empty(c)) {
    if (!c->closed.load(std::memory_order_acquire)) return {false, false};
    // Closed: re-check emptiness, a send may have raced with the close.
    if (empty(c)) return {true, false};
  }

  c->lock.lock();
  if (c->closed.load(std::memory_order_relaxed) && c->qcount.load(std::memory_order_relaxed) == 0) {
    c->lock.unlock();
    return {true, false};
  }
  if (Sudog* sg = c->sendq.dequeue()) {
    recv_from_waiter(c, sg, elem);
    G* g = sg->g;
    Note* note = sg->note;
    c->lock.unlock();
    wake(g, note);
    return {true, true};
  }
  if (c->qcount.load(std::memory_order_relaxed) > 0) {
    buf_recv(c, elem);
    c->lock.unlock();
    return {true, true};
  }
  if (!block) {
    c->lock.unlock();
    return {false, false};
  }
  Sudog me;
  me.elem = elem;
  me.c = c;
  c->recvq.enqueue(&me);
  chan_ref(c);
  block_on(c, &me, WaitReason::chan_receive);
  chan_unref(c);
  return {true, me.success};
}

void chan_close(ChanCore* c) {
  if (c == nullptr) throw std::logic_error("close of nil channel");
  c->lock.lock();
  if (c->closed.load(std::memory_order_relaxed)) {
    c->lock.unlock();
    throw std::logic_error("close of closed channel");
  }
  c->closed.store(true, std::memory_order_release);
  // Release every waiter (receivers get "closed", senders will throw), then
  // wake them after unlocking.
  Sudog* list = nullptr;
  for (WaitQ* q : {&c->recvq, &c->sendq}) {
    while (Sudog* sg = q->dequeue()) {
      sg->success = false;
      sg->next = list;  // reuse the link: sg is ours until woken (INV3)
      list = sg;
    }
  }
  c->lock.unlock();
  while (list != nullptr) {
    Sudog* sg = list;
    list = sg->next;
    wake(sg->g, sg->note);  // reads sg before the waiter can run
  }
}

std::uint32_t chan_rand() noexcept {
  if (M* m = current_m()) return fastrand(m);
  thread_local std::uint64_t x = 0x2545F4914F6CDD1DULL ^ reinterpret_cast<std::uintptr_t>(&x);
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return static_cast<std::uint32_t>(x >> 16);
}

}  // namespace gort::detail
