// poll_desc.hpp - Go's pollDesc: the runtime's view of one file descriptor
// registered with the OS poller, and the park/wake protocol on it.
//
// Go: runtime/netpoll.go (pollDesc, pollCache, poll_runtime_poll*,
// netpollblock, netpollunblock, netpollready, netpolldeadlineimpl).
//
// The rg / wg state machine (one per direction; `g` below is rg or wg):
//
//     nil ----(waiter: CAS nil->wait)----> wait ----(park commit: CAS wait->G)--> G
//      ^  \                                  |                                    |
//      |   (I/O ready: CAS ->ready)          | (I/O ready, or error/close:        | (I/O ready: CAS G->ready
//      |            \                        |  CAS wait->ready/nil; the commit   |  and ready(G); error or
//      |             v                       |  then fails and the park is        |  close: CAS G->nil and
//      +--(waiter: CAS ready->nil)-- ready <-+  cancelled)                        |  ready(G))
//                                      ^--------------------------------------------+
//
//   nil    nothing pending;
//   ready  readiness latched, not consumed yet (edge-triggered: the event will
//          not come again until the fd is drained);
//   wait   a fiber is about to park (between its CAS and its park commit);
//   G      a fiber is parked here.
// At most one fiber waits per direction (net/ serialises readers and writers:
// a second waiter is a fatal "double wait"). A waker that finds `wait` turns it
// into ready/nil, and the waiter's park commit (CAS wait->G) then fails, so the
// fiber never sleeps on a wakeup that already happened.
//
// Ordering with close and deadlines (netpollcheckerr): closers and deadline
// setters write their state under `lock`, publish it in `info` (atomic), and
// only then look at rg/wg; waiters set rg/wg first and then read `info`. One of
// the two always sees the other.
//
// Stale events: pollDescs live in a type-stable cache and are never freed, so
// an event can always be delivered to the pollDesc it names. `fdseq` grows
// each time a pollDesc is freed; the backends store the low bits with the
// pointer (see tag()) and drop events whose tag is old: a readiness event for
// a closed fd whose pollDesc was reused for another fd wakes nobody.
//
// Deadlines: rd/wd are 0 (none), an absolute nanotime, or -1 (expired).
// Timers in the runtime's per-P heaps fire them; rseq/wseq change whenever a
// deadline changes or the fd is reused, and a firing timer whose sequence is
// old does nothing.
#pragma once

#include <atomic>
#include <cstdint>

#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/g_queue.hpp"
#include "gort/scheduler/spin_lock.hpp"
#include "gort/scheduler/timer_heap.hpp"

namespace gort::detail {

// Go: pollErrClosing etc.
enum class PollError : int {
  none = 0,
  closing = 1,   // use of closed network connection
  timeout = 2,   // i/o timeout (deadline exceeded)
  not_pollable = 3,  // the fd reported an error condition (read side)
};

struct alignas(64) PollDesc {
  // Lock-free parts.
  std::atomic<std::uintptr_t> rg{0};
  std::atomic<std::uintptr_t> wg{0};
  std::atomic<std::uint32_t> info{0};   // bits below
  std::atomic<std::uint64_t> fdseq{0};  // bumped on every free
  int fd = -1;

  // Guarded by lock (GORT_GUARDED_BY; the timers' own fields are under
  // their heap's lock, timer_heap.hpp).
  SpinLock lock;
  bool closing GORT_GUARDED_BY(lock) = false;
  bool event_err GORT_GUARDED_BY(lock) = false;
  std::uint64_t rseq GORT_GUARDED_BY(lock) = 0;
  std::uint64_t wseq GORT_GUARDED_BY(lock) = 0;
  std::int64_t rd GORT_GUARDED_BY(lock) = 0;
  std::int64_t wd GORT_GUARDED_BY(lock) = 0;
  Timer rt;  // read deadline timer (arg = this)
  Timer wt;  // write deadline timer
  std::atomic<std::uint64_t> rt_seq{0};  // rseq the read timer was armed with
  std::atomic<std::uint64_t> wt_seq{0};

  PollDesc* link = nullptr;  // free list, under the cache lock

  static constexpr std::uintptr_t kNil = 0;
  static constexpr std::uintptr_t kReady = 1;
  static constexpr std::uintptr_t kWait = 2;

  // info bits (Go: pollClosing ... pollFDSeq).
  static constexpr std::uint32_t kInfoClosing = 1;
  static constexpr std::uint32_t kInfoEventErr = 2;
  static constexpr std::uint32_t kInfoExpiredRead = 4;
  static constexpr std::uint32_t kInfoExpiredWrite = 8;
  static constexpr int kInfoSeqShift = 4;
  static constexpr std::uint32_t kInfoSeqMask = (1u << 20) - 1;
  // Sticky until the pollDesc is reused: the peer shut down its side, the
  // connection hung up or failed, or urgent data arrived. A short read then no
  // longer proves the receive queue empty (the end of stream, an error or
  // the bytes after the urgent mark are still to be read), so the reader
  // must not wait for an event before reading (net/ NetFD's drained_).
  static constexpr std::uint32_t kInfoReadHup = 1u << 24;

  // The value a backend stores with the fd: pointer plus low 16 bits of fdseq.
  std::uint64_t tag() const noexcept {
    return reinterpret_cast<std::uint64_t>(this) | ((fdseq.load(std::memory_order_relaxed) & 0xffff) << 48);
  }
  static PollDesc* untag(std::uint64_t v, std::uint64_t& seq) noexcept {
    seq = v >> 48;
    return reinterpret_cast<PollDesc*>(v & ((std::uint64_t{1} << 48) - 1));
  }
};

// Error returned by a pollDesc operation in the given mode ('r' or 'w').
// Go: netpollcheckerr. Inline: every operation checks it, some twice.
inline PollError poll_check_err(PollDesc* pd, int mode) noexcept {
  std::uint32_t info = pd->info.load(std::memory_order_acquire);
  constexpr std::uint32_t kAny = PollDesc::kInfoClosing | PollDesc::kInfoExpiredRead |
                                 PollDesc::kInfoExpiredWrite | PollDesc::kInfoEventErr;
  if (__builtin_expect((info & kAny) == 0, 1)) return PollError::none;
  if (info & PollDesc::kInfoClosing) return PollError::closing;
  if ((mode == 'r' && (info & PollDesc::kInfoExpiredRead)) || (mode == 'w' && (info & PollDesc::kInfoExpiredWrite))) {
    return PollError::timeout;
  }
  // An event error is reported on reads only; a write sees it from the syscall.
  if (mode == 'r' && (info & PollDesc::kInfoEventErr)) return PollError::not_pollable;
  return PollError::none;
}
// Whether kInfoReadHup is set (acquire).
inline bool poll_read_hup(const PollDesc* pd) noexcept {
  return (pd->info.load(std::memory_order_acquire) & PollDesc::kInfoReadHup) != 0;
}
// Backends: an event with RDHUP/HUP/ERR/PRI (kqueue: EV_EOF/EV_ERROR) for
// the fd of sequence seq sets kInfoReadHup.
void poll_note_read_hup(PollDesc* pd, std::uint64_t seq) noexcept;

// Go: poll_runtime_pollOpen. Registers fd with the OS poller. Returns null and
// sets errno on failure.
PollDesc* poll_open(int fd) noexcept;
// Go: poll_runtime_pollClose. The pollDesc must be unblocked (evicted) first.
void poll_close(PollDesc* pd) noexcept GORT_EXCLUDES(pd->lock);
// Go: poll_runtime_pollReset. Call before each attempt at the syscall.
// A latched readiness from before this attempt is stale: the syscall will
// tell. The slot holds nil or ready here (operations of one mode are
// serialised by the fd mutex). The acquire load that sees ready pairs with
// the poller's release in unblock, so whatever the poller published before
// (kInfoReadHup) is visible to this operation and the next: net/'s drained_
// relies on it.
inline PollError poll_reset(PollDesc* pd, int mode) noexcept {
  PollError err = poll_check_err(pd, mode);
  if (err != PollError::none) return err;
  auto& gpp = mode == 'r' ? pd->rg : pd->wg;
  if (gpp.load(std::memory_order_acquire) != PollDesc::kNil) gpp.store(PollDesc::kNil, std::memory_order_relaxed);
  return PollError::none;
}
// Go: poll_runtime_pollWait. Parks the calling fiber until the fd is ready in
// `mode`, the deadline passes, or the pollDesc is closed. From a plain thread
// (not a fiber) it blocks the thread in poll(2) instead.
PollError poll_wait(PollDesc* pd, int mode) noexcept GORT_EXCLUDES(pd->lock);
// Go: poll_runtime_pollSetDeadline. d: 0 none, > 0 absolute nanotime, < 0
// already expired. mode 'r', 'w' or 'r'+'w'.
void poll_set_deadline(PollDesc* pd, std::int64_t d, int mode) noexcept GORT_EXCLUDES(pd->lock);
// Go: poll_runtime_pollUnblock. Marks the pollDesc closing and wakes every
// waiter with PollError::closing.
void poll_unblock(PollDesc* pd) noexcept GORT_EXCLUDES(pd->lock);

// Fibers parked on I/O right now (Go: netpollWaiters).
std::int64_t poll_waiters() noexcept;

// Called by the backends for each event: wakes the waiters of `mode` ('r',
// 'w' or both: 'r'+'w') and appends them to `ready`. Returns the change to
// apply to the waiter count once they are runnable (Go: netpollready).
std::int32_t poll_ready(GQueue& ready, PollDesc* pd, int mode) noexcept;
// Go: pollDesc.setEventErr (only if seq still matches).
void poll_set_event_err(PollDesc* pd, bool on, std::uint64_t seq) noexcept;
// One backend event, as the backend stored its tag (PollDesc::tag()): drops
// it if the tag's fd sequence is stale (the fd was closed, and perhaps its
// pollDesc reused, after the kernel queued the event); otherwise records a
// hang-up or urgent data (`hup`) and an event error (`err`), and wakes the
// waiters of `mode` (poll_ready). Returns poll_ready's waiter delta.
std::int32_t poll_deliver(GQueue& ready, std::uint64_t tag, int mode, bool hup, bool err) noexcept;
void poll_adjust_waiters(std::int32_t delta) noexcept;

}  // namespace gort::detail
