// http_server - the seed's Go service, ported to gort: the project's main job.
//
//   mux := http.NewServeMux()
//   mux.HandleFunc("/healthz", healthz)             // writes "ok\n"
//   mux.HandleFunc("/debug/pprof/", pprof.Index)    // runtime introspection
//   http.ListenAndServe(":80", mux)                 // glog -v levels
//
//   build/bin/http_server [--addr 127.0.0.1:8080] [-v N]
//
// The address comes from --addr, else $PORT (as "0.0.0.0:$PORT"), else
// 127.0.0.1:8080. -v N is glog's verbosity: 0 logs start and stop, 1 adds
// connection-level problems, 2 logs every request. SIGINT/SIGTERM shut the
// server down gracefully (requests in flight finish, 10 s at most).
//
// Routes: /healthz -> "ok\n"; / -> "Hello World!\n"; /upload -> reads a
// request body of any size as a stream, "received N bytes\n"; /debug/ -> an index of
// /debug/fibers (every fiber, like Go's goroutine dump), /debug/sched (the
// scheduler as JSON, like schedtrace) and /debug/vars (expvar-style JSON).
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "gort/debug.hpp"
#include "gort/gort.hpp"
#include "gort/http/http.hpp"
#include "gort/signal.hpp"

namespace {

int g_verbosity = 0;
std::chrono::steady_clock::time_point g_start;
std::string g_cmdline;

void logf(int level, const char* fmt, const std::string& a, const std::string& b = {}) {
  if (level > g_verbosity) return;
  std::fprintf(stderr, "http_server: ");
  std::fprintf(stderr, fmt, a.c_str(), b.c_str());
  std::fputc('\n', stderr);
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

long rss_kib() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--addr") == 0 && i + 1 < argc) {
      addr = argv[++i];
    } else if ((std::strcmp(argv[i], "-v") == 0 || std::strcmp(argv[i], "--v") == 0) && i + 1 < argc) {
      g_verbosity = std::atoi(argv[++i]);
    } else if (std::strncmp(argv[i], "-v=", 3) == 0) {
      g_verbosity = std::atoi(argv[i] + 3);
    } else {
      std::fprintf(stderr, "usage: http_server [--addr host:port] [-v N]\n");
      return 2;
    }
  }
  for (int i = 0; i < argc; i++) g_cmdline += (i ? " " : "") + std::string(argv[i]);
  if (addr.empty()) {
    const char* port = std::getenv("PORT");
    addr = port != nullptr && *port != '\0' ? std::string("0.0.0.0:") + port : "127.0.0.1:8080";
  }
  g_start = std::chrono::steady_clock::now();
  // -v 1 and up also turn on the runtime's debug log (rejected requests,
  // accept errors), through gort's spdlog logger.
  if (g_verbosity >= 1 && std::getenv("GORT_LOG_LEVEL") == nullptr) setenv("GORT_LOG_LEVEL", "debug", 1);

  return gort::run([&] {
    gort::http::ServeMux mux;
    gort::http::Server* server = nullptr;

    mux.handle_func("/healthz", [](gort::http::ResponseWriter& w, gort::http::Request&) { w.write("ok\n"); });
    mux.handle_func("/", [](gort::http::ResponseWriter& w, gort::http::Request& r) {
      if (r.path() != "/") return gort::http::not_found(w, r);
      w.write("Hello World!\n");
    });
    // A streamed upload: the body is read as it arrives (32 KiB at a time,
    // whatever its size), counted and dropped.
    mux.handle_func("/upload", [](gort::http::ResponseWriter& w, gort::http::Request& r) {
      std::array<char, 32 * 1024> buf;
      std::error_code ec;
      while (r.body().read(buf, ec) > 0) {
      }
      if (ec != gort::net::errc::eof) {
        return gort::http::error(w, "upload: " + ec.message(), gort::http::client_error_status(ec) != 0 ? gort::http::client_error_status(ec) : 400);
      }
      w.write("received " + std::to_string(r.body().bytes_read()) + " bytes\n");
    });
    mux.handle_func("/debug/", [](gort::http::ResponseWriter& w, gort::http::Request& r) {
      if (r.path() != "/debug/") return gort::http::not_found(w, r);
      w.header().set("Content-Type", "text/html; charset=utf-8");
      w.write(
          "<html><head><title>/debug/</title></head><body>\n<p>/debug/</p>\n"
          "<p><a href=\"fibers\">fibers</a>: every fiber, its state or wait reason and how long it has waited</p>\n"
          "<p><a href=\"sched\">sched</a>: the scheduler (P's, M's, run queues, counters) as JSON</p>\n"
          "<p><a href=\"vars\">vars</a>: process variables as JSON (expvar)</p>\n</body></html>\n");
    });
    mux.handle_func("/debug/fibers", [](gort::http::ResponseWriter& w, gort::http::Request&) {
      w.header().set("Content-Type", "text/plain; charset=utf-8");
      auto fibers = gort::debug::fibers();
      w.write("fibers: " + std::to_string(fibers.size()) + "\n\n");
      w.write(gort::debug::fiber_dump());
    });
    mux.handle_func("/debug/sched", [](gort::http::ResponseWriter& w, gort::http::Request&) {
      w.header().set("Content-Type", "application/json");
      w.write(gort::debug::sched_json());
      w.write("\n");
    });
    mux.handle_func("/debug/vars", [&server](gort::http::ResponseWriter& w, gort::http::Request&) {
      w.header().set("Content-Type", "application/json; charset=utf-8");
      auto up = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - g_start);
      std::string js = "{\n\"cmdline\": \"" + json_escape(g_cmdline) + "\",\n";
      js += "\"uptime_ms\": " + std::to_string(up.count()) + ",\n";
      js += "\"gomaxprocs\": " + std::to_string(gort::gomaxprocs()) + ",\n";
      js += "\"fibers\": " + std::to_string(gort::num_fibers()) + ",\n";
      js += "\"rss_kib\": " + std::to_string(rss_kib()) + ",\n";
      if (server != nullptr) {
        js += "\"http_connections\": " + std::to_string(server->connections()) + ",\n";
        js += "\"http_requests\": " + std::to_string(server->requests()) + ",\n";
      }
      js += "\"sched\": " + gort::debug::sched_json() + "\n}\n";
      w.write(js);
    });

    gort::http::Handler handler = mux;
    if (g_verbosity >= 2) {
      handler = [mux](gort::http::ResponseWriter& w, gort::http::Request& r) {
        mux(w, r);
        std::fprintf(stderr, "http_server: %.*s %.*s %.*s -> %d (%llu bytes)\n", static_cast<int>(r.remote_addr().size()),
                     r.remote_addr().data(), static_cast<int>(r.method().size()), r.method().data(),
                     static_cast<int>(r.target().size()), r.target().data(), w.status(),
                     static_cast<unsigned long long>(w.bytes_written()));
      };
    }
    gort::http::Server srv(handler);
    server = &srv;

    gort::net::Listener ln;
    try {
      ln = gort::net::listen("tcp", addr);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "http_server: %s\n", e.what());
      return 1;
    }
    logf(0, "listening on %s (GOMAXPROCS=%s)", ln.address().string(), std::to_string(gort::gomaxprocs()));

    gort::chan<int> sig(1);
    gort::signal_notify(sig, {SIGINT, SIGTERM});
    gort::WaitGroup sig_done;  // the fiber below uses srv: main waits for it
    sig_done.add(1);
    gort::go([&] {
      struct Done {
        gort::WaitGroup& wg;
        ~Done() { wg.done(); }
      } done{sig_done};
      auto s = sig.recv();
      if (!s) return;
      logf(0, "%s: shutting down", *s == SIGINT ? "SIGINT" : "SIGTERM");
      auto [ctx, cancel] = gort::with_timeout(gort::Context::background(), std::chrono::seconds(10));
      if (auto ec = srv.shutdown(ctx)) {
        logf(0, "shutdown: %s; closing the remaining connections", ec.message());
        srv.close();
      }
      cancel();
    });
    try {
      srv.serve(ln);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "http_server: %s\n", e.what());
      return 1;
    }
    // serve() returns when shutdown closed the listener; wait for the
    // connections to finish before leaving.
    srv.shutdown(gort::Context::background());
    gort::signal_stop(sig);
    sig.close();
    sig_done.wait();
    logf(0, "stopped after %s requests", std::to_string(srv.requests()));
    return 0;
  });
}
