// thread_annotations.hpp - clang's thread-safety analysis for the runtime's
// locks, and the scoped guards it can follow.
//
// Which lock guards which field, which functions expect a lock held, and the
// lock order are written as attributes next to the declarations, so that a
// comment such as "guarded by gfree_lock" can no longer drift from the code:
// clang (-Wthread-safety, on in `make check-thread-safety`, GORT_THREAD_SAFETY)
// rejects a guarded field touched without its lock, and a call to a
// REQUIRES function without the lock. Other compilers see nothing: every
// macro expands to nothing, and the guards below are plain RAII (the same
// code as std::lock_guard / std::unique_lock).
//
// The analysis is per function and names locks by expression: `s.lock` and
// `sched().lock` are different locks to it, so functions that expect a lock
// held take the object it lives in as a parameter (globrunq_put(s, g)).
// Where it cannot follow (a park commit releasing a lock on another context,
// select's dynamic set of channel locks) the function says so with
// GORT_NO_THREAD_SAFETY_ANALYSIS and a comment; keep those few.
// Lock order (GORT_ACQUIRED_BEFORE) is checked with -Wthread-safety-beta,
// and only between locks taken in one function.
// Reference: https://clang.llvm.org/docs/ThreadSafetyAnalysis.html
#pragma once

#if defined(__clang__)
#define GORT_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define GORT_THREAD_ANNOTATION_(x)
#endif

// A type that is a lock (a "capability" named `x` in diagnostics).
#define GORT_CAPABILITY(x) GORT_THREAD_ANNOTATION_(capability(x))
// An RAII type that holds a capability for its lifetime.
#define GORT_SCOPED_CAPABILITY GORT_THREAD_ANNOTATION_(scoped_lockable)
// A field read or written only with the lock held.
#define GORT_GUARDED_BY(x) GORT_THREAD_ANNOTATION_(guarded_by(x))
// A pointer field whose pointee is accessed only with the lock held.
#define GORT_PT_GUARDED_BY(x) GORT_THREAD_ANNOTATION_(pt_guarded_by(x))
// The caller must hold the lock(s) (and still holds them on return).
#define GORT_REQUIRES(...) GORT_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
// The function acquires / releases the lock(s) (no argument: `this`).
#define GORT_ACQUIRE(...) GORT_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define GORT_RELEASE(...) GORT_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
// Acquires the lock(s) when it returns `ret` (true for try_lock).
#define GORT_TRY_ACQUIRE(...) GORT_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
// The caller must not hold the lock(s): the function takes them itself.
#define GORT_EXCLUDES(...) GORT_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
// Lock order: this lock is taken before / after the named ones.
#define GORT_ACQUIRED_BEFORE(...) GORT_THREAD_ANNOTATION_(acquired_before(__VA_ARGS__))
#define GORT_ACQUIRED_AFTER(...) GORT_THREAD_ANNOTATION_(acquired_after(__VA_ARGS__))
// The function returns a reference to the named lock.
#define GORT_RETURN_CAPABILITY(x) GORT_THREAD_ANNOTATION_(lock_returned(x))
// The function checks that the lock is held (the analysis assumes it is after).
#define GORT_ASSERT_CAPABILITY(x) GORT_THREAD_ANNOTATION_(assert_capability(x))
// The function is not analysed. Only with a comment saying why.
#define GORT_NO_THREAD_SAFETY_ANALYSIS GORT_THREAD_ANNOTATION_(no_thread_safety_analysis)

namespace gort::detail {

// std::lock_guard for annotated locks (libstdc++'s guards are not annotated,
// so the analysis would not see the lock held). `LockGuard lk(mu);`
template <class Lock>
class GORT_SCOPED_CAPABILITY LockGuard {
 public:
  explicit LockGuard(Lock& l) GORT_ACQUIRE(l) : l_(l) { l_.lock(); }
  ~LockGuard() GORT_RELEASE() { l_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Lock& l_;
};

// std::unique_lock's subset the runtime uses: unlock and relock within the
// scope, and BasicLockable for std::condition_variable_any.
template <class Lock>
class GORT_SCOPED_CAPABILITY UniqueLock {
 public:
  explicit UniqueLock(Lock& l) GORT_ACQUIRE(l) : l_(l) { l_.lock(); }
  ~UniqueLock() GORT_RELEASE() {
    if (owns_) l_.unlock();
  }
  UniqueLock(const UniqueLock&) = delete;
  UniqueLock& operator=(const UniqueLock&) = delete;
  void lock() GORT_ACQUIRE() {
    l_.lock();
    owns_ = true;
  }
  void unlock() GORT_RELEASE() {
    l_.unlock();
    owns_ = false;
  }

 private:
  Lock& l_;
  bool owns_ = true;
};

}  // namespace gort::detail
