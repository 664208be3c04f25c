// frame_server - a length-prefixed request/response server, the
// Thrift/gRPC-style loop: each connection's fiber reads a frame, handles it,
// writes the reply frame, and goes round again.
//
//   build/bin/frame_server [--addr 127.0.0.1:7100]              serve
//   build/bin/frame_server --client N [--addr 127.0.0.1:7100]   send N frames, check the replies
//
// Wire format: a 4-byte big-endian length, then that many payload bytes
// (at most 1 MiB). The reply to a payload is the payload in upper case. A
// frame announcing more than 1 MiB is refused from its header alone, before
// its body is read: that connection is closed, the others go on.
//
// The whole server is gort::codec::serve_frames with this codec and handler
// (tests/net/codec_test.cpp runs the same loop in-process, too-long frame
// included).
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gort/gort.hpp"
#include "gort/net/bufio.hpp"
#include "gort/net/codec.hpp"
#include "gort/net/net.hpp"

namespace {

constexpr std::size_t kMaxPayload = 1 << 20;

void uppercase(std::span<const char> request, std::string& reply) {
  reply.resize(request.size());
  for (std::size_t i = 0; i < request.size(); i++) {
    reply[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(request[i])));
  }
}

int serve(const std::string& addr) {
  gort::net::Listener ln;
  try {
    ln = gort::net::listen("tcp", addr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "frame_server: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "frame_server: listening on %s (GOMAXPROCS=%d)\n", ln.address().string().c_str(),
               gort::gomaxprocs());
  auto backoff = std::chrono::milliseconds(0);
  for (;;) {
    std::error_code ec;
    gort::net::Conn conn = ln.accept(ec);
    if (ec) {
      std::fprintf(stderr, "frame_server: accept: %s\n", ec.message().c_str());
      // Go: Server.Serve. Out of descriptors and the like pass: back off
      // (5 ms doubling to 1 s) and accept again. Anything else (the
      // listener closed) will not: stop, rather than spin.
      if (!gort::net::is_temporary(ec)) return 1;
      backoff = backoff.count() == 0 ? std::chrono::milliseconds(5) : std::min(backoff * 2, std::chrono::milliseconds(1000));
      gort::sleep_for(backoff);
      continue;
    }
    backoff = std::chrono::milliseconds(0);
    gort::go([c = std::move(conn)]() mutable {
      gort::codec::LengthFieldBased codec(gort::codec::length_prefixed(kMaxPayload));
      // The reader holds any valid frame whole: header + 1 MiB.
      std::error_code err = gort::codec::serve_frames(c, c, codec, uppercase, codec.max_frame_length());
      if (err && err != gort::net::errc::eof) {
        std::fprintf(stderr, "frame_server: %s: %s\n", c.remote_address().string().c_str(), err.message().c_str());
      }
    });
  }
}

int client(const std::string& addr, long n) {
  try {
    gort::net::Conn c = gort::net::dial("tcp", addr);
    gort::codec::LengthFieldBased codec(gort::codec::length_prefixed(kMaxPayload));
    gort::bufio::Reader in(c, codec.max_frame_length());
    gort::bufio::Writer out(c);
    std::string frame, want;
    for (long i = 0; i < n; i++) {
      std::string payload = "frame " + std::to_string(i) + " of " + std::to_string(n) + ": hello, gort";
      frame.clear();
      codec.encode(payload, frame);
      out.write(frame);
      out.flush();
      std::span<const char> reply = gort::codec::read_frame(in, codec);
      uppercase(payload, want);
      if (std::string_view(reply.data(), reply.size()) != want) {
        std::fprintf(stderr, "frame_server: reply %ld: got \"%.*s\", want \"%s\"\n", i, static_cast<int>(reply.size()),
                     reply.data(), want.c_str());
        return 1;
      }
    }
    std::printf("frame_server: %ld frames, %ld replies ok\n", n, n);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "frame_server: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:7100";
  long n = -1;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--addr") == 0 && i + 1 < argc) {
      addr = argv[++i];
    } else if (std::strcmp(argv[i], "--client") == 0 && i + 1 < argc) {
      n = std::strtol(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: frame_server [--addr host:port] [--client N]\n");
      return 2;
    }
  }
  return gort::run([&] { return n >= 0 ? client(addr, n) : serve(addr); });
}
