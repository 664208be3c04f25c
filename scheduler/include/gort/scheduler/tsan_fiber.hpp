// tsan_fiber.hpp - ThreadSanitizer's view of fiber switches.
//
// TSan keeps one vector clock and one shadow call stack per thread. A fiber
// that switches stacks under it would leave both describing the wrong code,
// so every gort fiber switch is announced (the runtime's fiber API,
// <sanitizer/tsan_interface.h>):
//   - each G incarnation is a TSan fiber: created when newproc prepares its
//     context, destroyed by whoever resumes after it died (finish_switch,
//     AfterSwitch::free_g), or with the G at teardown (an abandoned fiber).
//     Never reused: a dead incarnation's shadow stack still holds the frames
//     of goexit, which never returns.
//   - each M's thread keeps its own fiber (the g0 context), taken with
//     __tsan_get_current_fiber() when the thread becomes an M.
//   - jump() (context.hpp) calls __tsan_switch_to_fiber(to, 0) right before
//     jump_fcontext. Flags 0: the switch synchronises (the resumed fiber
//     acquires what the suspended one released), as the M's own handoff does:
//     the two run one after the other on one thread.
//
// Header-only and compiled out unless the translation unit is built with
// -fsanitize=thread (GCC: __SANITIZE_THREAD__, Clang: __has_feature). It is
// public because fiber.hpp and machine.hpp, both installed, hold the handles.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define GORT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GORT_TSAN 1
#endif
#endif

#ifdef GORT_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace gort::detail::tsan {

#ifdef GORT_TSAN
// The calling thread's (or fiber's) TSan context.
inline void* current_fiber() noexcept { return __tsan_get_current_fiber(); }
// A new TSan fiber. Its clock starts with the creator's (creation is a
// release to the new fiber), like a thread's.
inline void* create_fiber() noexcept { return __tsan_create_fiber(0); }
// Destroys a fiber that is not running (null: nothing).
inline void destroy_fiber(void* fiber) noexcept {
  if (fiber != nullptr) __tsan_destroy_fiber(fiber);
}
// Announces the switch to `fiber`; the very next thing must be the jump.
inline void switch_to_fiber(void* fiber) noexcept { __tsan_switch_to_fiber(fiber, 0); }
#else
inline void* current_fiber() noexcept { return nullptr; }
inline void* create_fiber() noexcept { return nullptr; }
inline void destroy_fiber(void*) noexcept {}
inline void switch_to_fiber(void*) noexcept {}
#endif

}  // namespace gort::detail::tsan
