// lookup.hpp - getaddrinfo that a context or a deadline can abandon.
//
// Go: net/cgo_unix.go doBlockingWithCtx. getaddrinfo cannot be interrupted,
// so a lookup bounded by a ctx or a deadline runs on a thread of its own and
// the fiber waits for whichever comes first: the answer, ctx.done(), or the
// deadline. A lookup the fiber gave up on runs to its end on its thread and
// frees its own result. Go's cgo resolver does the same with a goroutine
// (locked to its thread by the cgo call). A dependency such as c-ares would
// make lookups cancellable, but it would also bypass glibc's NSS
// configuration (nsswitch.conf, /etc/hosts order, mDNS), which users of
// getaddrinfo expect; so the standard call stays.
#pragma once

#include <netdb.h>

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "gort/net/address.hpp"
#include "hooks.hpp"

namespace gort {
class Context;
}

namespace gort::net::detail {

// getaddrinfo(host, port, hints, res). Without ctx and deadline (0) it runs
// in a gort::blocking section. With either, from a fiber, it returns
// EAI_SYSTEM with `abandoned` set to errc::canceled or errc::timed_out when
// the ctx or the deadline (absolute nanotime) came first; *res is then null.
int getaddrinfo_bounded(const std::string& host, const std::string& port, const addrinfo& hints, addrinfo** res,
                        const Context* ctx, std::int64_t deadline, std::error_code& abandoned);

// resolve() bounded the same way: a name lookup that the ctx or the deadline
// abandons fails with ec errc::canceled or errc::timed_out.
std::vector<Addr> resolve_bounded(const std::string& network, const std::string& address, bool passive,
                                  std::error_code& ec, std::string& err, const Context* ctx, std::int64_t deadline);

}  // namespace gort::net::detail
