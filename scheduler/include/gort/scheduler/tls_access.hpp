// tls_access.hpp - how the functions that touch per-thread state (the current
// M, errno, the C++ exception globals) are compiled: never inlined and opaque
// to interprocedural analysis, so no caller can keep a thread-local address
// (or a value derived from one) across a fiber switch that may resume it on
// another thread (docs/scheduler.md, "Per-thread state and migrating fibers").
//
// GCC: noipa says exactly that. Clang has no noipa; optnone (which needs
// noinline) keeps LLVM's interprocedural passes from deriving attributes
// (readnone, constant returns) from the body, which is what noipa prevents.
#pragma once

#if defined(__clang__)
#define GORT_TLS_ACCESSOR __attribute__((noinline, optnone))
#else
#define GORT_TLS_ACCESSOR __attribute__((noinline, noipa))
#endif
