// chan_core.hpp - the type-erased heart of gort::chan<T> and gort::select.
//
// Go: runtime/chan.go (hchan, chansend, chanrecv, closechan, send, recv) and
// runtime/select.go (selectgo). The algorithms follow Go's; the element type
// is erased behind ElemOps (Go uses elemsize + typedmemmove).
//
// Invariants (Go's, chan.go), all under `lock`:
//   INV1 At least one of recvq and sendq is empty (a waiting receiver and a
//        waiting sender would have met).
//   INV2 Buffered: qcount > 0 implies recvq is empty; qcount < dataqsiz
//        implies sendq is empty.
//   INV3 A waiter (Sudog) lives on the waiting fiber's (or thread's) stack. It
//        is linked in a queue from its enqueue until a waker or the waiter
//        itself unlinks it under the lock. A waker that dequeues it may write
//        its `elem`, `success` and its select's `winner`, must then release
//        the lock before readying it, and must not touch it afterwards.
//   INV4 For a select, at most one Sudog of the selecting fiber wins: wakers
//        claim it by CAS on SelectState::done (Go: g.selectDone); a waker that
//        loses the CAS drops that Sudog and looks at the next waiter.
//   INV5 Elements move with ElemOps::move_construct, which is noexcept
//        (chan<T> requires nothrow-movable T), so no exception can escape
//        while a lock is held or a waiter is half-served.
// Never ready a fiber while holding a channel lock (Go's rule): wakers unlock
// first. The lock is a SpinLock; parking releases it in the park commit.
// Clang's thread-safety analysis checks the fields under `lock` (chan.cpp;
// select.cpp, which holds a dynamic set of channel locks, is exempt).
//
// Runtime entry: an operation that neither wakes nor waits touches only the
// channel, so it runs without a RuntimeScope (it cannot lose anything if
// sysmon takes the fiber's P meanwhile). Waking and parking enter the
// runtime without a safepoint, since they may do so with the lock held.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "gort/scheduler/note.hpp"
#include "gort/scheduler/park.hpp"
#include "gort/scheduler/spin_lock.hpp"

namespace gort::detail {

struct ElemOps {
  void (*move_construct)(void* dst, void* src) noexcept;  // *dst = T(std::move(*src))
  void (*destroy)(void* p) noexcept;
  std::size_t size;
  std::size_t align;
  bool trivial;  // trivially copyable and destructible: moves are memcpy, destroy is nothing
};

struct ChanCore;

struct SelectState {
  std::atomic<int> done{0};
  struct Sudog* winner = nullptr;
};

// Go: sudog. One waiting operation.
struct Sudog {
  G* g = nullptr;         // the parked fiber, or
  Note* note = nullptr;   // the blocked plain thread
  void* elem = nullptr;   // send: the value to move from; recv: storage to construct into (may be null)
  Sudog* next = nullptr;
  Sudog* prev = nullptr;
  bool queued = false;
  bool success = false;   // false: woken because the channel was closed
  SelectState* sel = nullptr;
  int case_index = -1;
  ChanCore* c = nullptr;
};

struct WaitQ {
  // Written under the channel lock; also read without it by the non-blocking
  // fast paths (chan.cpp full/empty, Go: chansend/chanrecv's lock-free
  // check), which only compare it with null and never follow it. Relaxed
  // everywhere: under the lock the lock orders it, and a fast-path answer is
  // only ever "not ready at some moment during the call", as in Go; nothing
  // the waiter wrote is read through it.
  std::atomic<Sudog*> first{nullptr};
  Sudog* last = nullptr;
  void enqueue(Sudog* s) noexcept;
  // Go: waitq.dequeue. Skips (and unlinks) select waiters already won elsewhere.
  Sudog* dequeue() noexcept;
  void remove(Sudog* s) noexcept;  // no-op if not queued
};

struct ChanCore {
  ChanCore(const ElemOps* ops, std::size_t capacity);
  ~ChanCore();
  ChanCore(const ChanCore&) = delete;
  ChanCore& operator=(const ChanCore&) = delete;

  void* slot(std::uint32_t i) const noexcept { return buf + static_cast<std::size_t>(i) * stride; }

  SpinLock lock;
  const ElemOps* ops;
  std::uint32_t dataqsiz;  // capacity
  std::size_t stride;
  char* buf = nullptr;  // the elements in it are under the lock
  std::uint32_t sendx GORT_GUARDED_BY(lock) = 0;
  std::uint32_t recvx GORT_GUARDED_BY(lock) = 0;
  // Written under the lock, read without it by the non-blocking fast paths.
  std::atomic<std::uint32_t> qcount{0};
  std::atomic<bool> closed{false};
  // Under the lock; the fast paths' look at `first` is exempt (chan.cpp).
  WaitQ recvq GORT_GUARDED_BY(lock);
  WaitQ sendq GORT_GUARDED_BY(lock);
  std::atomic<std::int64_t> refs{1};  // handles plus blocked operations
};

void chan_ref(ChanCore* c) noexcept;
void chan_unref(ChanCore* c) noexcept;

// Go: chansend. Moves *elem into the channel (only when it returns true).
// block=false returns false instead of waiting. A nil channel blocks forever.
// Throws std::logic_error("send on closed channel").
bool chan_send(ChanCore* c, void* elem, bool block) GORT_EXCLUDES(c->lock);

struct RecvResult {
  bool selected;  // false: would block (non-blocking call)
  bool received;  // true: a value was constructed into elem; false: closed and drained
};
// Go: chanrecv. elem: uninitialised storage for a T, or null to drop the value.
RecvResult chan_recv(ChanCore* c, void* elem, bool block) GORT_EXCLUDES(c->lock);

// Go: closechan. Throws std::logic_error for a nil or already closed channel.
void chan_close(ChanCore* c) GORT_EXCLUDES(c->lock);

struct SelectCase {
  ChanCore* c;      // null: this case never proceeds (Go's nil channel case)
  void* elem;       // send: value to move from; recv: storage (or null)
  bool is_send;
  bool received = false;  // out: recv case chosen with a value (false: closed)
};
// Go: selectgo. Returns the chosen case, or -1 when !block and none is ready.
// Chooses uniformly at random among ready cases. Throws
// std::logic_error("send on closed channel") when a chosen send case finds
// the channel closed.
int select_go(SelectCase* cases, int n, bool block);

// A pseudo-random number for select's poll order (per M, or per thread).
std::uint32_t chan_rand() noexcept;

}  // namespace gort::detail
