// fiber.hpp - the G of Go's G/M/P model: one fiber, its state and its stack.
//
// Go: runtime2.go (type g, _Gidle.._Gdead, waitReason).
//
// A G lives at the top of its own stack region (see stack_pool.hpp), so one
// allocation holds the descriptor, the fiber's entry object and its stack. G's
// are recycled through per-P and global free lists and their memory is never
// returned to the allocator while a runtime runs: a stale G* (e.g. read by
// sysmon) always points at a G, never at unmapped memory.
//
// Field ownership:
//   ctx          written by the context that resumes after this G switched
//                away (finish_switch), read by whoever switches to the G. The
//                G cannot be resumed before its park commit published it, so
//                the write always happens-before the read. One more reader
//                is racy on purpose: the resume prefetch (proc.cpp
//                prefetch_fiber) reads the ctx of a G it peeked at in its
//                run queue, which may have been stolen, run and parked or
//                respawned meanwhile. So every write is an atomic relaxed
//                store and that read a relaxed load (store_ctx, peek_ctx:
//                plain moves on x86); the value only picks cache lines to
//                prefetch, so any value, stale or new, is harmless.
//   status       atomic; transitions are drawn below. Writers: the M running
//                the G, the waker (waiting -> runnable), the scheduler.
//   preempt      atomic; set by sysmon, cleared by the M when the G starts a
//                new time slice or honours the request.
//   id, waitreason, waitsince, is_main
//                atomic, every access relaxed: written by the M running the
//                G (park) or spawning it (newproc), and read by fiber dumps
//                and sysmon's log while the G runs, parks, dies or is
//                respawned (Go's dumps read them racily too). They order
//                nothing; a dump may mix two moments of one fiber.
//   everything   else is owned by the M currently running the G (or by the
//                holder of the queue the G sits in).
//
// States (Go's values; 5 is unused as in Go):
//
//   idle --newproc--> runnable --execute--> running --goexit--> dead
//                      ^    ^                 |  |                |
//                      |    +--yield/preempt--+  |                +--reuse--> runnable
//                      |                         |
//                      +--ready-- waiting <--park+
//                      |                         |
//                      +--no free P-- syscall <--+ blocking() / hog retake
//                                        |
//                                        +--P reacquired--> running

#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "gort/scheduler/tsan_fiber.hpp"

namespace gort::detail {

struct M;
struct P;

using fcontext_t = void*;

enum class GStatus : std::uint8_t {
  idle = 0,      // just allocated, not initialised
  runnable = 1,  // on a run queue; stack not owned
  running = 2,   // owns its stack, has an M (and normally a P)
  syscall = 3,   // inside gort::blocking or preempted by sysmon without a P
  waiting = 4,   // parked; recorded somewhere that will ready() it
  dead = 6,      // exited, on a free list
  abandoned = 7,  // alive when its runtime ended (gort::run returned); never runs again
};
const char* to_string(GStatus s) noexcept;

// Wait reasons, spelled as Go spells them (runtime2.go waitReasonStrings).
enum class WaitReason : std::uint8_t {
  none,
  chan_receive,
  chan_send,
  chan_receive_nil,
  chan_send_nil,
  select,
  select_no_cases,
  sleep,
  io_wait,
  semacquire,
  sync_cond_wait,
  sync_mutex_lock,
  sync_rwmutex_rlock,
  sync_rwmutex_lock,
  sync_wait_group_wait,
  preempted,
  wait_for_p,  // gort: woken from a blocking section, queued for a free P
};
const char* to_string(WaitReason r) noexcept;

// How to move, run and destroy a fiber's entry object (a type-erased callable
// that newproc places at the top of the new fiber's stack).
struct FiberEntry {
  void (*relocate)(void* dst, void* src);  // move-construct *dst from *src (the caller still owns *src)
  void (*invoke)(void* obj);
  void (*destroy)(void* obj) noexcept;
  std::size_t size;
  std::size_t align;
};

struct alignas(64) G {
  // First cache line: everything a switch to or from this G touches (with
  // hundreds of connections in rotation each fiber's descriptor is cold when
  // it runs again, so every extra line is a cache miss per wakeup).
  fcontext_t ctx = nullptr;    // saved context while not running
  G* schedlink = nullptr;      // intrusive link: run queues, free lists
  std::atomic<M*> m{nullptr};  // M running this G; read racily by sysmon
  std::atomic<GStatus> status{GStatus::idle};
  std::atomic<WaitReason> waitreason{WaitReason::none};
  std::atomic<bool> preempt{false};
  std::atomic<bool> hog_logged{false};  // sysmon logged this G as a CPU hog
  std::atomic<bool> kblock_logged{false};  // sysmon logged it waiting in the kernel outside gort::blocking
  std::atomic<bool> is_main{false};
  bool canary = false;         // unguarded stack: check kStackCanary on every switch away
  int saved_errno = 0;         // errno of this fiber while it is switched out
  // Per-thread C++ exception state of this fiber while it is switched out
  // (libstdc++'s __cxa_eh_globals), so a fiber may park inside a catch block
  // and resume on another thread. See context.hpp.
  unsigned eh_uncaught = 0;
  void* eh_caught = nullptr;
  std::atomic<std::int64_t> waitsince{0};  // coarse nanotime of the last park (fiber dumps)
  char* stack_lo = nullptr;    // usable stack: [stack_lo, stack_hi)

  // Second line: what spawn writes and a fiber's first and last run read
  // (newproc, fiber_main, goexit, gfput). A fiber spawned on one P and
  // stolen by another moves these two lines and the top of its stack, no
  // more (with short fibers that is most of what work stealing costs).
  std::atomic<std::uint64_t> id{0};
  char* stack_hi = nullptr;
  void* entry_obj = nullptr;
  void (*entry_invoke)(void*) = nullptr;
  void (*entry_destroy)(void*) noexcept = nullptr;
  void* asan_fake_stack = nullptr;  // ASan's fake-stack handle across switches
#ifdef GORT_TSAN
  // ThreadSanitizer's fiber of this incarnation (tsan_fiber.hpp): created by
  // newproc, destroyed when the G dies or, for one still alive, with the G.
  void* tsan_fiber = nullptr;
#endif
  std::size_t region_size = 0;

  // Third line, written once when the G is carved: the stack pool's view.
  // Stack region [region, region + region_size): guard at the bottom, this G
  // at the top.
  char* region = nullptr;
  std::size_t guard = 0;  // inaccessible bytes at the region's bottom
  char* slab = nullptr;   // the stack pool slab holding the region (free-list locality)
  std::uint32_t slab_id = 0;
  G* allglink = nullptr;  // list of every G carved in this run

#ifdef GORT_TSAN
  ~G() { tsan::destroy_fiber(tsan_fiber); }  // teardown frees abandoned fibers' G's
#endif
};
static_assert(offsetof(G, stack_lo) + sizeof(char*) <= 64, "G's switch fields must share its first cache line");
static_assert(offsetof(G, region_size) + sizeof(std::size_t) <= 128, "what spawn and exit touch must fit in the G's first two lines");

// G::ctx's writers and its one racy reader (see "Field ownership").
inline void store_ctx(G* g, fcontext_t ctx) noexcept {
  std::atomic_ref<fcontext_t>(g->ctx).store(ctx, std::memory_order_relaxed);
}
inline fcontext_t peek_ctx(G* g) noexcept {
  return std::atomic_ref<fcontext_t>(g->ctx).load(std::memory_order_relaxed);
}

// The word at the bottom of every usable stack; a switch away from a fiber
// whose canary changed reports a stack overflow (the fallback detector when
// no guard page could be installed, and a second net under guard pages).
inline constexpr std::uint64_t kStackCanary = 0x676f72745f737463ULL;  // "gort_stc"

}  // namespace gort::detail
