// server_impl.hpp - the state a Server shares with its connections' fibers
// (Go: the fields of http.Server behind s.mu). Private to net/src/http.
//
// Invariants:
//   conns, listeners   under mu. A connection is in conns from accept until
//                      its fiber leaves serve(); the map's shared_ptr keeps it
//                      alive while shutdown()/close() close it under mu.
//                      Listener::close and Conn::close may park (they wait for
//                      the operation in flight), hence a fiber Mutex.
//   shutting_down      set once by shutdown()/close(), before they take mu;
//                      read without mu by accept loops and connections
//                      (acquire), which then stop accepting / keeping alive.
//   requests, nconns   statistics (relaxed).
//   conn_fibers        one count per connection fiber, added under mu before
//                      it starts (never after shutting_down), done as the
//                      fiber's last act, after it dropped its reference to
//                      Impl; ~Server waits for it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "gort/http/server.hpp"
#include "gort/mutex.hpp"
#include "gort/pool.hpp"
#include "gort/semaphore.hpp"
#include "gort/wait_group.hpp"
#include "server_conn.hpp"

namespace gort::http {

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(Handler h, ServerOptions o);

  Handler handler;
  ServerOptions opts;
  gort::Mutex mu;
  std::unordered_map<ServerConn*, std::shared_ptr<ServerConn>> conns;
  std::vector<net::Listener*> listeners;
  std::atomic<bool> shutting_down{false};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::size_t> nconns{0};
  std::unique_ptr<Semaphore> limit;  // max_connections
  WaitGroup conn_fibers;
  Pool<Exchange> exchanges;
  // The parent of every request's context; cancelled by shutdown()/close().
  Context base_ctx;
  CancelFunc cancel_base;

  void remove(ServerConn* c);
  // Go: closeIdleConns. True when no connection is serving a request.
  bool close_idle();
};

}  // namespace gort::http
