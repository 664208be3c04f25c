// server.cpp - accepting, tracking and shutting down connections (Go:
// net/http Server.Serve, trackConn, Shutdown, closeIdleConns, Close).
#include "gort/http/server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <tuple>

#include "gort/go.hpp"
#include "gort/scheduler/log.hpp"
#include "gort/scheduler/nanotime.hpp"
#include "gort/select.hpp"
#include "gort/time.hpp"
#include "server_impl.hpp"

namespace gort::http {

namespace {
// ServerOptions::auto_connections: 7/8 of the descriptors the process may
// open (no limit if that is unlimited).
std::size_t default_connection_limit() noexcept {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
  return std::max<std::size_t>(static_cast<std::size_t>(rl.rlim_cur) / 8 * 7, 1);
}
}  // namespace

Server::Impl::Impl(Handler h, ServerOptions o) : handler(std::move(h)), opts(std::move(o)) {
  std::tie(base_ctx, cancel_base) = with_cancel(Context::background());
  if (opts.max_connections == ServerOptions::auto_connections) opts.max_connections = default_connection_limit();
  if (opts.max_connections > 0) limit = std::make_unique<Semaphore>(static_cast<std::int64_t>(opts.max_connections));
}

void Server::Impl::remove(ServerConn* c) {
  std::shared_ptr<ServerConn> keep;  // destroyed after unlocking
  std::lock_guard lk(mu);
  auto it = conns.find(c);
  if (it != conns.end()) {
    keep = std::move(it->second);
    conns.erase(it);
  }
  nconns.fetch_sub(1, std::memory_order_relaxed);
}

bool Server::Impl::close_idle() {
  std::lock_guard lk(mu);
  std::int64_t now = gort::detail::coarse_nanotime();
  bool quiescent = true;
  for (auto& [p, c] : conns) {
    if (!c->close_if_idle(now)) quiescent = false;
  }
  return quiescent;
}

Server::Server(Handler handler, ServerOptions options)
    : impl_(std::make_shared<Impl>(std::move(handler), std::move(options))) {}

Server::~Server() {
  if (!impl_->shutting_down.load() || impl_->nconns.load() > 0) close();
  // Without a runtime the fibers were abandoned (gort::run returned): there
  // is nothing to wait for.
  if (gort::num_fibers() > 0) impl_->conn_fibers.wait();
}

std::size_t Server::connections() const noexcept { return impl_->nconns.load(std::memory_order_relaxed); }
std::uint64_t Server::requests() const noexcept { return impl_->requests.load(std::memory_order_relaxed); }

void Server::serve(net::Listener& ln) {
  // Calls that may park hold their own reference: another fiber may destroy
  // the Server meanwhile (a signal handler's shutdown() still polling when
  // main returns), and the Impl must outlive this call.
  std::shared_ptr<Impl> keep = impl_;
  Impl& s = *keep;
  {
    std::lock_guard lk(s.mu);
    if (s.shutting_down.load(std::memory_order_acquire)) return;
    s.listeners.push_back(&ln);
  }
  auto unregister = [&] {
    std::lock_guard lk(s.mu);
    s.listeners.erase(std::remove(s.listeners.begin(), s.listeners.end(), &ln), s.listeners.end());
  };
  auto backoff = std::chrono::milliseconds(0);
  for (;;) {
    if (s.limit) s.limit->acquire();
    std::error_code ec;
    net::Conn c = ln.accept(ec);
    if (ec) {
      if (s.limit) s.limit->release();
      if (s.shutting_down.load(std::memory_order_acquire)) break;
      if (net::is_temporary(ec)) {
        // Go: "http: Accept error: %v; retrying in %v", 5 ms doubling to 1 s.
        backoff = backoff.count() == 0 ? std::chrono::milliseconds(5) : std::min(backoff * 2, std::chrono::milliseconds(1000));
        gort::detail::log_error("http: Accept error: %s; retrying in %lldms", ec.message().c_str(),
                                static_cast<long long>(backoff.count()));
        gort::sleep_for(backoff);
        continue;
      }
      unregister();
      throw std::system_error(ec, "http: accept on " + ln.address().string());
    }
    backoff = std::chrono::milliseconds(0);
    auto sc = std::make_shared<ServerConn>(&s, std::move(c));
    {
      std::lock_guard lk(s.mu);
      if (s.shutting_down.load(std::memory_order_acquire)) {
        sc->force_close();
        if (s.limit) s.limit->release();
        continue;
      }
      s.conns.emplace(sc.get(), sc);
      s.nconns.fetch_add(1, std::memory_order_relaxed);
      s.conn_fibers.add(1);
    }
    gort::go([self = keep, sc = std::move(sc)]() mutable {
      sc->serve();
      ServerConn* raw = sc.get();
      sc.reset();
      self->remove(raw);
      if (self->limit) self->limit->release();
      // Drop our reference before done(): ~Server waits for done() while
      // its own reference keeps Impl alive, and a fiber abandoned after
      // done() (the runtime ending) holds nothing.
      Impl* impl = self.get();
      self.reset();
      impl->conn_fibers.done();
    });
  }
  unregister();
}

void Server::listen_and_serve(const std::string& address) {
  net::Listener ln = net::listen("tcp", address);
  serve(ln);
}

std::error_code Server::shutdown(const Context& ctx) {
  // Calls that may park hold their own reference: another fiber may destroy
  // the Server meanwhile (a signal handler's shutdown() still polling when
  // main returns), and the Impl must outlive this call.
  std::shared_ptr<Impl> keep = impl_;
  Impl& s = *keep;
  s.shutting_down.store(true, std::memory_order_release);
  s.cancel_base();
  {
    std::lock_guard lk(s.mu);
    for (net::Listener* ln : s.listeners) {
      std::error_code ignored;
      ln->close(ignored);
    }
  }
  // Go: poll with exponential backoff (1 ms to 500 ms), closing the
  // connections that became idle since the last look.
  auto interval = std::chrono::milliseconds(1);
  DoneChan done = ctx.done();
  for (;;) {
    if (s.close_idle() && s.nconns.load(std::memory_order_acquire) == 0) return {};
    bool expired = false;
    select(recv(done, [&](auto) { expired = true; }), recv(after(interval)));
    if (expired) return ctx.err();
    interval = std::min(interval * 2, std::chrono::milliseconds(500));
  }
}

void Server::close() {
  // Calls that may park hold their own reference: another fiber may destroy
  // the Server meanwhile (a signal handler's shutdown() still polling when
  // main returns), and the Impl must outlive this call.
  std::shared_ptr<Impl> keep = impl_;
  Impl& s = *keep;
  s.shutting_down.store(true, std::memory_order_release);
  s.cancel_base();
  std::lock_guard lk(s.mu);
  for (net::Listener* ln : s.listeners) {
    std::error_code ignored;
    ln->close(ignored);
  }
  for (auto& [p, c] : s.conns) c->force_close();
}

}  // namespace gort::http
