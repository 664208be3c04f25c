// hooks.hpp - test seams of net/ (Go: net/hook.go). Null in production; a
// test sets one only while nothing that calls it runs.
#pragma once

#include <netdb.h>

namespace gort::net::detail {

// Replaces getaddrinfo (lookup.cpp): a resolver that answers late or never.
extern int (*test_hook_getaddrinfo)(const char*, const char*, const addrinfo*, addrinfo**);
// Runs in dial(ctx) right after connect returned, before the ctx watcher is
// stopped (listener.cpp): a cancel that lands just after the handshake.
extern void (*test_hook_dial_connected)();

}  // namespace gort::net::detail
