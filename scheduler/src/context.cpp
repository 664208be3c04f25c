// context.cpp - per-fiber C++ exception state (see context.hpp).
//
// libstdc++ keeps the caught-exception stack and the uncaught-exception
// count in a thread-local __cxa_eh_globals {caughtExceptions,
// uncaughtExceptions}. A fiber that switches inside a catch block (or while
// unwinding) and resumes on another thread would otherwise pop the wrong
// thread's stack. Boost.Context learned this in 1.88 (boostorg/context#281);
// Boost 1.81 does not do it, so gort does it here.
//
// __cxa_get_globals is declared `const`, so the compiler may reuse its result
// across a call that switches threads: gort calls it once per thread (when
// the thread becomes an M, through an opaque function) and keeps the address
// in the M.
#include "gort/scheduler/context.hpp"
#include "gort/scheduler/tls_access.hpp"

#include <cxxabi.h>

namespace gort::detail {

static_assert(sizeof(EhGlobals) <= 2 * sizeof(void*));

GORT_TLS_ACCESSOR void* thread_eh_globals() noexcept { return abi::__cxa_get_globals(); }

}  // namespace gort::detail
