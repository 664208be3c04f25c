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
//   build/bin/echo_server [--addr 127.0.0.1:7000] [--stack-buffer]   (GOMAXPROCS honoured)
//
// By default each connection reads into a 4 KiB buffer lent by a per-P pool
// only while its socket has data (Conn::read(LazyBuffer&): the buffer is
// taken when the read can proceed and returned before the fiber parks): an
// idle connection holds its fiber's top stack page and no buffer, the memory
// cost of a reactor server, and the busy ones share a few warm buffers. No
// extra system call: the read that finds the data is the one that fills
// the buffer.
//
// --stack-buffer: the line-for-line port above, a 4 KiB array on the fiber's
// stack (as Go's goroutine keeps its slice): simplest, but every connection,
// idle or not, pins the buffer's pages.
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
#include "gort/pool.hpp"

namespace {

using Packet = std::array<char, 4096>;

// The connection's LazyBuffer: holds a pooled packet only between a read
// that can proceed and the end of the echo.
class PooledPacket final : public gort::net::LazyBuffer {
 public:
  explicit PooledPacket(gort::Pool<Packet>& pool) : pool_(pool) {}
  ~PooledPacket() { release(); }
  std::span<char> acquire() override {
    if (!p_) p_ = pool_.get();
    return {p_->data(), p_->size()};
  }
  void release() noexcept override { pool_.put(std::move(p_)); }
  const char* data() const noexcept { return p_->data(); }

 private:
  gort::Pool<Packet>& pool_;
  std::unique_ptr<Packet> p_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:7000";
  bool on_stack = false;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--addr") == 0 && i + 1 < argc) {
      addr = argv[++i];
    } else if (std::strcmp(argv[i], "--stack-buffer") == 0) {
      on_stack = true;
    } else {
      std::fprintf(stderr, "usage: echo_server [--addr host:port] [--stack-buffer]\n");
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
    gort::Pool<Packet> pool;
    auto backoff = std::chrono::milliseconds(0);
    for (;;) {
      std::error_code ec;
      gort::net::Conn conn = ln.accept(ec);
      if (ec) {
        std::fprintf(stderr, "echo_server: accept: %s\n", ec.message().c_str());
        // Go: Server.Serve. Out of descriptors and the like pass: back off
        // (5 ms doubling to 1 s) and accept again. Anything else (the
        // listener closed) will not: stop, rather than spin.
        if (!gort::net::is_temporary(ec)) return 1;
        backoff = backoff.count() == 0 ? std::chrono::milliseconds(5) : std::min(backoff * 2, std::chrono::milliseconds(1000));
        gort::sleep_for(backoff);
        continue;
      }
      backoff = std::chrono::milliseconds(0);
      if (!on_stack) {
        gort::go([c = std::move(conn), &pool]() mutable {
          PooledPacket packet(pool);
          std::error_code err;
          for (;;) {
            std::size_t n = c.read(packet, err);
            if (err) return;  // EOF, reset, ...: this connection only
            c.write({packet.data(), n}, err);
            if (err) return;
            // The next read keeps the packet while data keeps coming and
            // gives it back to the pool before it parks.
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
