// lookup.cpp - getaddrinfo bounded by a context or a deadline (lookup.hpp).
#include "lookup.hpp"

#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>

#include "gort/blocking.hpp"
#include "gort/chan.hpp"
#include "gort/context.hpp"
#include "gort/net/error.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "gort/scheduler/park.hpp"
#include "gort/select.hpp"
#include "gort/time.hpp"

namespace gort::net::detail {

int (*test_hook_getaddrinfo)(const char*, const char*, const addrinfo*, addrinfo**) = nullptr;

namespace {

int call_getaddrinfo(const std::string& host, const std::string& port, const addrinfo& hints, addrinfo** res) {
  auto* fn = test_hook_getaddrinfo != nullptr ? test_hook_getaddrinfo : &::getaddrinfo;
  return fn(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, res);
}

// One lookup shared by the asking fiber and the thread that runs it.
// Invariants: `mu` guards finished, abandoned, rc, err and res. The thread
// sets finished (with rc, err, res) once, then sends on `done`, which never
// blocks (capacity 1, one send). The fiber sets abandoned once, only while
// finished is false; whoever comes second frees res: the fiber takes it when
// finished, the thread frees it when abandoned. The shared_ptr keeps the
// state alive for whichever of the two ends last.
struct Lookup {
  std::string host, port;
  addrinfo hints{};
  std::mutex mu;
  bool finished = false;
  bool abandoned = false;
  int rc = 0;
  int err = 0;
  addrinfo* res = nullptr;
  chan<std::monostate> done{1};
};

void run_lookup(const std::shared_ptr<Lookup>& l) {
  addrinfo* res = nullptr;
  int rc = call_getaddrinfo(l->host, l->port, l->hints, &res);
  int err = errno;
  {
    std::lock_guard lk(l->mu);
    if (l->abandoned) {
      if (res != nullptr) freeaddrinfo(res);
      return;
    }
    l->finished = true;
    l->rc = rc;
    l->err = err;
    l->res = res;
  }
  l->done.send(std::monostate{});
}

}  // namespace

int getaddrinfo_bounded(const std::string& host, const std::string& port, const addrinfo& hints, addrinfo** res,
                        const Context* ctx, std::int64_t deadline, std::error_code& abandoned) {
  abandoned.clear();
  *res = nullptr;
  bool bounded = (ctx != nullptr && ctx->done()) || deadline != 0;
  if (!bounded || gort::detail::current_g() == nullptr) {
    return gort::blocking([&] { return call_getaddrinfo(host, port, hints, res); });
  }
  auto l = std::make_shared<Lookup>();
  l->host = host;
  l->port = port;
  l->hints = hints;
  try {
    std::thread([l] { run_lookup(l); }).detach();
  } catch (const std::system_error&) {
    // No thread to spare: look up in place, unbounded, as before.
    return gort::blocking([&] { return call_getaddrinfo(host, port, hints, res); });
  }
  DoneChan never;
  DoneChan ctx_done = ctx != nullptr ? ctx->done() : never;
  chan<Clock::time_point> timer;  // nil: never ready
  if (deadline != 0) timer = after_ns(std::chrono::nanoseconds(deadline - gort::detail::nanotime()));
  int which = select(recv(l->done), recv(ctx_done), recv(timer));
  std::lock_guard lk(l->mu);
  if (which != 0 && !l->finished) {
    l->abandoned = true;
    abandoned = which == 1 && ctx->err() != gort::errc::deadline_exceeded ? make_error_code(errc::canceled)
                                                                        : make_error_code(errc::timed_out);
    return EAI_SYSTEM;
  }
  // Answered (perhaps just as the ctx or the deadline came).
  *res = l->res;
  l->res = nullptr;
  errno = l->err;
  return l->rc;
}

}  // namespace gort::net::detail
