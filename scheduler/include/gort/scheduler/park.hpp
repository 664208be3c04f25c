// park.hpp - the scheduler's interface for the layers above: park/ready, the
// runtime-entry bracket, and spawning. Everything blocking in gort (channels,
// mutexes, sleep, I/O) is built on park() and ready().
//
// Go: proc.go gopark/goready; the commit callback is gopark's unlockf.
#pragma once

#include <cstddef>
#include <atomic>
#include <cstdint>

#include "gort/scheduler/fiber.hpp"
#include "gort/scheduler/thread_annotations.hpp"

namespace gort::detail {

// A park commit: runs after the parking fiber is off its stack (on whichever
// context runs next on that thread), with the fiber's status already
// `waiting`. Return false to cancel the park: the fiber is made runnable
// again at once. Typical commits publish the fiber where a waker will find
// it (CAS into a slot) or release the lock that guards its wait queue. A
// waker can therefore never ready a fiber that is still on its stack.
using CommitFn = bool (*)(G* g, void* arg);

// What the resumer does with the fiber that switched away.
enum class AfterSwitch : std::uint8_t {
  none,          // nothing (it is g0, dying in place, or already published)
  commit,        // run commit(from, arg)
  requeue_tail,  // yield: put it at the tail of the local run queue
  free_g,        // it exited: put it on the free list
};

// Passed through each context switch to the context that resumes.
struct SwitchRecord {
  G* from;  // the fiber switched away from (null: g0)
  AfterSwitch after = AfterSwitch::none;
  CommitFn commit = nullptr;
  void* arg = nullptr;
};

// The running fiber, or null outside fibers (plain threads, the scheduler).
G* current_g() noexcept;

// Go: gopark. Parks the running fiber until ready(g). commit may be null
// (park until readied by someone who already holds g). Must be called inside
// a RuntimeScope, never inside gort::blocking().
void park(CommitFn commit, void* arg, WaitReason reason) noexcept;

// The commit of park_unlock: unlocks the Lock at `lock` once the fiber is
// off its stack. Not analysed: the lock was taken by the parked fiber on
// another context, and the analysis, per function, cannot see it held here.
template <class Lock>
bool unlock_commit(G*, void* lock) noexcept GORT_NO_THREAD_SAFETY_ANALYSIS {
  static_cast<Lock*>(lock)->unlock();
  return true;
}

// Parks the running fiber, which holds `l` (the lock of the wait queue it
// just joined); the next context on this thread releases `l` (unlock_commit),
// so a waker, which must take `l`, never finds the fiber still on its stack.
// To the analysis the call releases `l`, as the caller sees it: on return
// the fiber does not hold it. Not analysed itself: the commit releases it.
template <class Lock>
void park_unlock(Lock& l, WaitReason reason) noexcept GORT_RELEASE(l) GORT_NO_THREAD_SAFETY_ANALYSIS {
  park(&unlock_commit<Lock>, &l, reason);
}

// Go: goready. Makes a waiting fiber runnable: into the current P's runnext
// (it runs next, inheriting the time slice), or the global queue when called
// from a thread without a P. Then wakes an idle P if there is one. Any thread.
void ready(G* g) noexcept;
// As ready(), but at the tail of the local queue (timers: fire in order).
void ready_tail(G* g) noexcept;

// Whether g was abandoned when its runtime ended: it never runs again, and
// its stack stays mapped, so a stale wait record of it may still be read.
// Wait queues skip such waiters instead of handing them a value, a unit or
// a wakeup meant for a live one.
bool is_abandoned(const G* g) noexcept;

// Whether a gort runtime is running in this process (between the start of
// gort::run and its teardown).
bool runtime_running() noexcept;

// Go: Gosched (to the tail of the local run queue; see docs/scheduler.md).
void yield() noexcept;

// For a reader that expects its data soon but not yet (net/: the last read
// on the stream came back short). Go has no twin; its parts are Go's.
// Returns false at once, doing nothing, when nothing else is runnable here
// (no local or global work), or outside fibers: the caller then parks on its
// pollDesc as usual. Otherwise the fiber goes to the tail of the global run
// queue, as Go's Gosched does, and the call returns true when it runs again,
// after every fiber runnable at the time: a full round, during which the
// peer has usually answered, so the read that follows finds its data
// without the poller's help (no epoll harvest, no park/ready). Once per such
// round the yielder first polls the network without blocking (Go's
// findRunnable poll), so that fibers parked on I/O are not starved by a
// queue that never runs dry. Never call it holding a lock.
bool yield_for_io() noexcept;
// Whether yield_for_io() would yield now (a fiber with other work runnable),
// for a caller that prepares differently for the two cases.
bool yield_for_io_possible() noexcept;

// Spawns a fiber running entry (relocated from src). stack_size 0: default.
// Any thread (from a plain thread it goes to the global run queue).
// Throws std::logic_error when no runtime is running.
void spawn(const FiberEntry& entry, void* src, std::size_t stack_size);

// Brackets runtime code executed by a fiber (every public entry point opens
// one). While a fiber runs user code its M may lose its P to sysmon (the
// fiber hogged it for more than 10 ms); entering the runtime reacquires one.
// At a safepoint (the default) the fiber may be switched out here: to wait
// for a P, or to honour a preemption request. Use safepoint = false where a
// switch is not allowed (a lock is held); then a fiber that cannot get a P
// at once continues without one (wakeups go through the global queue).
// Nested scopes are free. Threads that are not M's pass through.
class RuntimeScope {
 public:
  explicit RuntimeScope(bool safepoint = true) noexcept;
  ~RuntimeScope();
  RuntimeScope(const RuntimeScope&) = delete;
  RuntimeScope& operator=(const RuntimeScope&) = delete;

 private:
  bool outer_;
};

// gort::blocking's machinery (Go: entersyscall/exitsyscall). Between enter
// and leave the fiber runs without a P, which sysmon hands to another M after
// 20 us. The fiber must not park meanwhile. blocking_enter returns false (and
// does nothing) outside fibers and inside an enclosing blocking section; call
// blocking_leave only after it returned true. blocking_leave may switch the
// fiber out until a P is free: never call it with an exception in flight.
bool blocking_enter() noexcept;
void blocking_leave() noexcept;

// Arms a runtime timer (timer_heap.hpp) in the heap of the caller's P (P0's
// from a thread without one) and wakes a sleeping poller if it is now the
// earliest (Go: timer.maybeAdd + wakeNetPoller). A runtime must be running.
struct Timer;
void timer_add(Timer* t, std::int64_t when) noexcept;

// The id of the P the calling thread holds, or -1 (a plain thread, a fiber
// whose P sysmon took away). A hint: the P may change at the next switch.
int current_p_id() noexcept;

// Go: sync_runtime_canSpin / sync_runtime_doSpin. Whether a fiber that
// failed to take a lock may busy-wait once more (iteration `iter`, from 0):
// only a few times, only on a multicore machine with GOMAXPROCS > 1, only
// if another P is running (it may release the lock soon) and this P has no
// other work queued. do_spin is one such short wait (30 pause instructions).
bool can_spin(int iter) noexcept;
void do_spin() noexcept;

// Set by sysmon when it asks a running fiber to yield (10 ms on its P), and
// cleared by sysmon once no running fiber has a request pending. Fast paths
// that never enter the runtime (Mutex::lock) test it (one relaxed load) and,
// when set, pass a safepoint(): a lock-heavy fiber then gives up its P on its
// own thread, as Go's preempted goroutine does, instead of keeping its thread
// while sysmon hands the P to another (two threads where GOMAXPROCS is one).
extern std::atomic<bool> g_preempt_hint;
// Honours the calling fiber's preemption request, if any (no-op on plain
// threads). A switch point: never call it holding a lock.
void safepoint() noexcept;

// Fiber count (Go: runtime.NumGoroutine), 0 when no runtime runs.
std::int64_t num_fibers() noexcept;

// errno through a call the compiler cannot cache across a fiber switch.
int get_errno() noexcept;
void set_errno(int e) noexcept;

}  // namespace gort::detail
