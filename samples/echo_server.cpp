// echo_server - the goroutine-per-connection echo server, Go's canonical
// example ported line for line:
//
//   ln, _ := net.Listen("tcp", addr)
//   for {
//       conn, _ := ln.Accept()
//       go func(c net.Conn) {
//           packet := make([]byte, 4096)
//           for { n, err := c.Read(packet); if err != nil { return }; c.Write(packet[:n]) }
//       }(conn)
//   }
//
//   build/bin/echo_server [--addr 127.0.0.1:7000] [--lazy-buffer]   (GOMAXPROCS honoured)
//
// --lazy-buffer: each connection's fiber waits for its socket to become
// readable (Conn::wait_readable) before it takes a 4 KiB buffer from the
// heap, and frees it after the echo: an idle connection then holds only its
// fiber's top stack page, not a buffer (the reactor servers' memory cost,
// with goroutine-style code). It costs one extra syscall (a recv peek) per
// message.
//
// Accept errors are logged and the loop goes on; running out of descriptors
// backs off 5 ms, doubling to 1 s, as Go's http.Server does.
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "gort/gort.hpp"
#include "gort/net/net.hpp"

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:7000";
  bool lazy = false;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--addr") == 0 && i + 1 < argc) {
      addr = argv[++i];
    } else if (std::strcmp(argv[i], "--lazy-buffer") == 0) {
      lazy = true;
    } else {
      std::fprintf(stderr, "usage: echo_server [--addr host:port] [--lazy-buffer]\n");
      return 2;
    }
  }
  return gort::run([&] {
    gort::net::Listener ln;
    try {
      ln = gort::net::listen("tcp", addr);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "echo_server: %s\n", e.what());
      return 1;
    }
    std::fprintf(stderr, "echo_server: listening on %s (GOMAXPROCS=%d)\n", ln.address().string().c_str(),
                 gort::gomaxprocs());
    auto backoff = std::chrono::milliseconds(0);
    for (;;) {
      std::error_code ec;
      gort::net::Conn conn = ln.accept(ec);
      if (ec) {
        std::fprintf(stderr, "echo_server: accept: %s\n", ec.message().c_str());
        if (gort::net::is_temporary(ec)) {
          backoff = backoff.count() == 0 ? std::chrono::milliseconds(5) : std::min(backoff * 2, std::chrono::milliseconds(1000));
          gort::sleep_for(backoff);
        }
        continue;
      }
      backoff = std::chrono::milliseconds(0);
      if (lazy) {
        gort::go([c = std::move(conn)]() mutable {
          std::error_code err;
          for (;;) {
            c.wait_readable(err);
            if (err) return;
            auto packet = std::make_unique_for_overwrite<char[]>(4096);
            std::size_t n = c.read({packet.get(), 4096}, err);
            if (err) return;
            c.write({packet.get(), n}, err);
            if (err) return;
          }
        });
        continue;
      }
      gort::go([c = std::move(conn)]() mutable {
        std::array<char, 4096> packet;
        std::error_code err;
        for (;;) {
          std::size_t n = c.read(packet, err);
          if (err) return;  // EOF, reset, ...: this connection only
          c.write({packet.data(), n}, err);
          if (err) return;
        }
      });
    }
  });
}
