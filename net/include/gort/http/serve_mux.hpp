// serve_mux.hpp - a request router with Go's classic ServeMux rules
// (Go: net/http.ServeMux before Go 1.22's method and wildcard patterns).
//
//   gort::http::ServeMux mux;
//   mux.handle_func("/healthz", healthz);      // exactly /healthz
//   mux.handle_func("/debug/", debug_index);   // /debug/ and everything below it
//   gort::http::Server srv(mux);               // copies share one routing table
//
// Rules:
// - A pattern ending in '/' names a subtree; any other pattern names one
//   path. The longest matching pattern wins, so "/debug/fibers" beats
//   "/debug/". "/" matches everything no other pattern does.
// - A pattern may start with a host ("example.com/"): it then only matches
//   requests for that host, and host patterns win over plain ones.
// - A request for "/tree" when only "/tree/" is registered is redirected
//   (301) to "/tree/"; a path that is not clean ("/a/../b", "//x") is
//   redirected to its cleaned form. Nothing matching: 404 "404 page not found".
// - Registering a pattern twice, or an empty pattern, throws
//   std::invalid_argument (Go panics).
// Registration may happen while serving (the table is guarded by a RWMutex).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "gort/http/request.hpp"
#include "gort/http/response_writer.hpp"
#include "gort/http/server.hpp"

namespace gort::http {

class ServeMux {
 public:
  ServeMux();
  void handle(std::string pattern, Handler handler);
  template <class F>
  void handle_func(std::string pattern, F&& f) {
    handle(std::move(pattern), Handler(std::forward<F>(f)));
  }
  // Go: ServeMux.ServeHTTP.
  void operator()(ResponseWriter& w, Request& r) const;
  // The pattern that would serve a path and host ("" if none; redirects
  // are not applied). For tests and debugging.
  std::string match(std::string_view host, std::string_view path) const;

  struct Table;

 private:
  std::shared_ptr<Table> table_;
};

// Go: http.NotFound, http.Error, http.Redirect.
void not_found(ResponseWriter& w, Request& r);
void error(ResponseWriter& w, std::string_view text, int status);
void redirect(ResponseWriter& w, Request& r, std::string_view url, int status);
// Go: path.Clean, as ServeMux applies it (a trailing slash is kept).
std::string clean_path(std::string_view p);

}  // namespace gort::http
