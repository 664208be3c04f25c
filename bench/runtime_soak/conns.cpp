// conns.cpp - the connection workload of the runtime soak: a loopback TCP
// listener in this process and client fibers that run one script each.
//
// Frames: a 16-byte header (type, payload length, FNV-1a checksum of the
// payload) and the payload. A client says HELLO (its id), then per script:
//   echo       1-8 ECHO frames, each answered with the same payload;
//   pipelined  a writer fiber sends 2-12 ECHO frames while the client fiber
//              reads the answers on the same connection (one reads while
//              another writes), then the writer half-closes;
//   read-dl    HOLD (the server waits for GO before answering), a read
//              deadline of 0.3-3 ms: the read must fail with timed_out, not
//              before the deadline; then GO, and the held answer arrives;
//   server-dl  IDLE: the server sets a 0.3-3 ms read deadline and its read
//              must time out (the client sends nothing until told), then it
//              answers ACK;
//   close      a few ECHOs, then HOLD and a read that another fiber (or an
//              after_func callback) unblocks by closing the connection: the
//              read fails with errc::closed, the server sees end of stream;
//   blob       the server writes 2-6 MiB of a seeded pattern under a 2 ms
//              write deadline while the client waits before reading: a
//              write that times out is resumed where it stopped, and the
//              client checks every byte;
// then says BYE and reads the server's end of stream: the server closes
// first, so the TIME_WAIT is on its side (its port changes every round) and
// a long soak does not run out of ephemeral ports. The pipelined writer
// half-closes instead (close_write), and the server answers end of stream
// with its own. Dials vary: plain, with a timeout, with a context; some with
// a context already cancelled (must fail at once with errc::canceled) or
// cancelled while dialling (success or errc::canceled).
// Checks: every checksum and every echoed byte; every client finishes its
// script without an unexpected error; every connection is seen by exactly
// one server handler; per connection the server received exactly the bytes
// the client wrote and the client exactly the bytes the server wrote; every
// accepted connection is either a client's or one left by a cancelled dial;
// the listener's accept loop and every handler end after close.
#include "soak.hpp"

#include <gort/net/net.hpp>

#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace soak {
namespace {

namespace net = gort::net;

// 36: the first round already has more than 64 sockets open at once, so the
// poller's pollDesc cache (blocks of 64, never freed, as Go's) reaches its
// high-water mark in the warm-up instead of stepping up mid-run.
constexpr int kClients = 36;
constexpr std::size_t kChunk = 64 * 1024;  // buffers stay below malloc's mmap threshold
enum Type : std::uint32_t { kHello = 1, kEcho, kHold, kGo, kIdle, kAck, kBlob, kBye };
enum Mode { kEchoMode, kPipelined, kReadDeadline, kServerDeadline, kCloseMidRead, kBlobMode, kModes };
const char* const kModeNames[kModes] = {"echo", "pipelined", "read-dl", "server-dl", "close", "blob"};

struct Header {
  std::uint32_t type;
  std::uint32_t len;
  std::uint64_t sum;
};
static_assert(sizeof(Header) == 16);

std::uint64_t fnv(std::span<const char> p) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : p) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

// Byte o of a blob: the seeded stream is splitmix64 over 8-byte words.
void pattern(std::uint64_t seed, std::uint64_t offset, std::span<char> out) {
  std::size_t i = 0;
  while (i < out.size()) {
    std::uint64_t o = offset + i;
    std::uint64_t x = Rng(seed ^ (o / 8) * 0x9e3779b97f4a7c15ull).next();
    for (unsigned b = static_cast<unsigned>(o % 8); b < 8 && i < out.size(); b++, i++) {
      out[i] = static_cast<char>(x >> (8 * b));
    }
  }
}

struct Ledger {  // one per connection (client id)
  std::uint64_t client_tx = 0, client_rx = 0;  // the client's fibers (joined before the check)
  std::uint64_t server_tx = 0, server_rx = 0;  // its server handler
  std::atomic<int> handlers{0};
  bool client_done = false;
};

struct ConnRound {
  std::vector<Ledger> led = std::vector<Ledger>(kClients);
  std::atomic<int> accepted{0}, orphans{0}, dial_cancel_failed{0};
  std::string addr;
};

// An endpoint's I/O with byte counts; any error it does not expect fails the run.
struct Io {
  net::Conn& c;
  std::uint64_t& tx;
  std::uint64_t& rx;
  const char* who;
  int id;

  std::error_code write(std::span<const char> b, bool may_time_out = false) {
    std::error_code ec;
    tx += c.write(b, ec);
    SOAK_CHECK(!ec || (may_time_out && ec == net::errc::timed_out), "conns: %s %d: write: %s", who, id,
               ec.message().c_str());
    return ec;
  }
  // Fills b; returns the error that stopped it (eof only at offset 0 if allowed).
  std::error_code read_full(std::span<char> b, bool eof_ok = false) {
    std::size_t got = 0;
    while (got < b.size()) {
      std::error_code ec;
      std::size_t n = c.read(b.subspan(got), ec);
      got += n;
      rx += n;
      if (ec) {
        SOAK_CHECK(ec == net::errc::eof && got == 0 && eof_ok, "conns: %s %d: read (%zu of %zu bytes): %s", who,
                   id, got, b.size(), ec.message().c_str());
        return ec;
      }
    }
    return {};
  }
  void send_frame(std::uint32_t type, std::span<const char> payload) {
    Header h{type, static_cast<std::uint32_t>(payload.size()), fnv(payload)};
    write({reinterpret_cast<const char*>(&h), sizeof h});
    if (!payload.empty()) write(payload);
  }
  // A frame; nullopt at a clean end of stream (if allowed).
  std::optional<Header> recv_frame(std::vector<char>& payload, bool eof_ok = false) {
    Header h;
    if (read_full({reinterpret_cast<char*>(&h), sizeof h}, eof_ok)) return std::nullopt;
    SOAK_CHECK(h.type >= kHello && h.type <= kBye && h.len <= (1u << 20), "conns: %s %d: bad header type %u len %u",
               who, id, h.type, h.len);
    payload.resize(h.len);
    read_full(payload);
    SOAK_CHECK(fnv(payload) == h.sum, "conns: %s %d: checksum mismatch in a %u-byte frame", who, id, h.len);
    return h;
  }
  void expect_eof() {
    char b;
    std::error_code ec;
    std::size_t n = c.read({&b, 1}, ec);
    SOAK_CHECK(n == 0 && ec == net::errc::eof, "conns: %s %d: want end of stream, got %zu bytes, '%s'", who, id, n,
               ec.message().c_str());
  }
};

std::vector<char> random_payload(Rng& r) {
  std::size_t n = r.one_in(8) ? 1 + r.below(64 * 1024) : 1 + r.below(16 * 1024);
  std::vector<char> p(n);
  pattern(r.next(), 0, p);
  return p;
}

// ---- server ----

void serve(net::Conn c, ConnRound& rd, Rng r) {
  std::uint64_t tx = 0, rx = 0;
  Io io{c, tx, rx, "server", -1};
  std::vector<char> p;
  // A connection whose dial was cancelled after connect ends before HELLO.
  Header h;
  std::size_t got = 0;
  while (got < sizeof h) {
    std::error_code ec;
    got += c.read({reinterpret_cast<char*>(&h) + got, sizeof h - got}, ec);
    if (ec) {
      SOAK_CHECK(got == 0 && (ec == net::errc::eof || ec == std::errc::connection_reset),
                 "conns: server: reading HELLO: %s", ec.message().c_str());
      rd.orphans.fetch_add(1);
      return;
    }
  }
  rx += got;
  SOAK_CHECK(h.type == kHello && h.len == 8, "conns: server: first frame type %u len %u, want HELLO", h.type, h.len);
  std::uint64_t id = 0;
  io.read_full({reinterpret_cast<char*>(&id), 8});
  SOAK_CHECK(id < kClients && fnv({reinterpret_cast<char*>(&id), 8}) == h.sum, "conns: server: bad HELLO id %llu",
             (unsigned long long)id);
  io.id = static_cast<int>(id);
  Ledger& L = rd.led[id];
  SOAK_CHECK(L.handlers.fetch_add(1) == 0, "conns: connection %llu served twice", (unsigned long long)id);
  for (;;) {
    auto f = io.recv_frame(p, true);
    if (!f) break;
    switch (f->type) {
      case kEcho:
        io.send_frame(kEcho, p);
        break;
      case kHold: {
        std::vector<char> go;
        auto g2 = io.recv_frame(go, true);  // end of stream: the client closed mid-read
        if (!g2) goto end;
        SOAK_CHECK(g2->type == kGo, "conns: server %d: frame %u after HOLD, want GO", io.id, g2->type);
        io.send_frame(kEcho, p);
        break;
      }
      case kIdle: {
        auto until = gort::Clock::now() + 300us + r.us(2700);
        c.set_read_deadline(until);
        char b;
        std::error_code ec;
        std::size_t n = c.read({&b, 1}, ec);
        SOAK_CHECK(n == 0 && ec == net::errc::timed_out, "conns: server %d: idle read with a deadline: %zu bytes, '%s'",
                   io.id, n, ec.message().c_str());
        SOAK_CHECK(gort::Clock::now() >= until, "conns: server %d: read deadline fired early", io.id);
        g.read_timeouts.fetch_add(1, std::memory_order_relaxed);
        c.set_read_deadline(net::no_deadline);
        io.send_frame(kAck, {});
        break;
      }
      case kBlob: {
        SOAK_CHECK(p.size() == 16, "conns: server %d: BLOB payload of %zu bytes", io.id, p.size());
        std::uint64_t size, seed;
        std::memcpy(&size, p.data(), 8);
        std::memcpy(&seed, p.data() + 8, 8);
        std::vector<char> chunk(kChunk);
        c.set_write_deadline(gort::Clock::now() + 2ms);
        bool timed_out = false;
        for (std::uint64_t off = 0; off < size;) {
          std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - off));
          pattern(seed, off, {chunk.data(), n});
          std::uint64_t before = tx;
          std::error_code ec = io.write({chunk.data(), n}, !timed_out);
          off += tx - before;
          if (ec) {  // timed out: resume from where it stopped, without a deadline
            timed_out = true;
            g.write_timeouts.fetch_add(1, std::memory_order_relaxed);
            c.set_write_deadline(net::no_deadline);
          }
        }
        if (!timed_out) c.set_write_deadline(net::no_deadline);
        break;
      }
      case kBye:
        SOAK_CHECK(p.empty(), "conns: server %d: BYE with a payload", io.id);
        goto end;  // the server closes first
      default:
        fail(__FILE__, __LINE__, strf("conns: server %d: unexpected frame type %u", io.id, f->type));
    }
  }
end:
  L.server_tx = tx;
  L.server_rx = rx;
}

// ---- clients ----

net::Conn dial(ConnRound& rd, Rng& r, int id) {
  std::error_code ec;
  switch (r.below(8)) {
    case 0: {  // a context already cancelled fails at once
      auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
      cancel();
      net::Conn c = net::dial(ctx, "tcp", rd.addr, ec);
      SOAK_CHECK(ec == net::errc::canceled && !c, "conns: client %d: dial with a cancelled ctx: '%s'", id,
                 ec.message().c_str());
      g.dial_cancelled.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    case 1: {  // cancelled while dialling: either outcome, then dial again if it failed
      auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
      gort::Timer t = gort::after_func(r.us(50), cancel);
      net::Conn c = net::dial(ctx, "tcp", rd.addr, ec);
      t.stop();
      cancel();
      if (!ec) return c;
      SOAK_CHECK(ec == net::errc::canceled, "conns: client %d: dial cancelled mid-way: '%s'", id,
                 ec.message().c_str());
      rd.dial_cancel_failed.fetch_add(1);
      g.dial_cancelled.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    case 2: {
      auto [ctx, cancel] = gort::with_timeout(gort::Context::background(), 10s);
      net::Conn c = net::dial(ctx, "tcp", rd.addr, ec);
      cancel();
      SOAK_CHECK(!ec, "conns: client %d: dial with a 10 s ctx: '%s'", id, ec.message().c_str());
      return c;
    }
    case 3: {
      net::Conn c = net::dial("tcp", rd.addr, 10s, ec);
      SOAK_CHECK(!ec, "conns: client %d: dial with a 10 s timeout: '%s'", id, ec.message().c_str());
      return c;
    }
    default:
      break;
  }
  net::Conn c = net::dial("tcp", rd.addr, ec);
  SOAK_CHECK(!ec, "conns: client %d: dial: '%s'", id, ec.message().c_str());
  return c;
}

void echo_once(Io& io, Rng& r) {
  auto p = random_payload(r);
  io.send_frame(kEcho, p);
  std::vector<char> back;
  auto h = io.recv_frame(back);
  SOAK_CHECK(h->type == kEcho && back == p, "conns: client %d: echo of %zu bytes differs", io.id, p.size());
}

void client(ConnRound& rd, int id, Rng r) {
  Ledger& L = rd.led[id];
  Mode mode = static_cast<Mode>(id % kModes);
  net::Conn c = dial(rd, r, id);
  Io io{c, L.client_tx, L.client_rx, kModeNames[mode], id};
  std::uint64_t uid = static_cast<std::uint64_t>(id);
  io.send_frame(kHello, {reinterpret_cast<const char*>(&uid), 8});
  std::vector<char> back;
  switch (mode) {
    case kEchoMode:
      for (int k = static_cast<int>(r.below(8)); k >= 0; k--) echo_once(io, r);
      break;
    case kPipelined: {
      int frames = 2 + static_cast<int>(r.below(11));
      gort::chan<std::vector<char>> expect(frames);
      std::uint64_t wtx = 0, unused = 0;
      gort::WaitGroup wg;
      wg.add(1);
      spawn([&, seed = r.next()] {
        Rng wr(seed);
        Io w{c, wtx, unused, "pipelined writer", id};
        for (int k = 0; k < frames; k++) {
          auto p = random_payload(wr);
          w.send_frame(kEcho, p);
          expect.send(std::move(p));
        }
        c.close_write();
        wg.done();
      });
      for (int k = 0; k < frames; k++) {
        auto want = expect.recv();
        auto h = io.recv_frame(back);
        SOAK_CHECK(h->type == kEcho && back == *want, "conns: client %d: pipelined echo %d differs", id, k);
      }
      wg.wait();
      L.client_tx += wtx;
      io.expect_eof();
      L.client_done = true;
      return;
    }
    case kReadDeadline: {
      auto p = random_payload(r);
      io.send_frame(kHold, p);
      auto until = gort::Clock::now() + 300us + r.us(2700);
      c.set_read_deadline(until);
      char b;
      std::error_code ec;
      std::size_t n = c.read({&b, 1}, ec);
      SOAK_CHECK(n == 0 && ec == net::errc::timed_out, "conns: client %d: read under a deadline: %zu bytes, '%s'", id,
                 n, ec.message().c_str());
      SOAK_CHECK(gort::Clock::now() >= until, "conns: client %d: read deadline fired early", id);
      g.read_timeouts.fetch_add(1, std::memory_order_relaxed);
      c.set_read_deadline(net::no_deadline);
      io.send_frame(kGo, {});
      auto h = io.recv_frame(back);
      SOAK_CHECK(h->type == kEcho && back == p, "conns: client %d: held echo differs", id);
      break;
    }
    case kServerDeadline: {
      io.send_frame(kIdle, {});
      auto h = io.recv_frame(back);
      SOAK_CHECK(h->type == kAck, "conns: client %d: frame %u, want ACK", id, h->type);
      break;
    }
    case kCloseMidRead: {
      for (int k = static_cast<int>(r.below(3)); k > 0; k--) echo_once(io, r);
      io.send_frame(kHold, random_payload(r));
      gort::chan<int> closed(1);
      gort::Timer t;
      if (r.one_in(2)) {
        spawn([&, d = r.us(2000)] {
          gort::sleep_for(d);
          c.close();
          closed.send(1);
        });
      } else {
        t = gort::after_func(r.us(2000), [&c, closed] {
          g.spawned.fetch_add(1, std::memory_order_relaxed);
          Tracked tracked;
          c.close();
          closed.send(2);
        });
      }
      char b;
      std::error_code ec;
      std::size_t n = c.read({&b, 1}, ec);
      SOAK_CHECK(n == 0 && ec == net::errc::closed, "conns: client %d: read unblocked by close: %zu bytes, '%s'", id,
                 n, ec.message().c_str());
      closed.recv();  // the closer is done with c
      g.closed_reads.fetch_add(1, std::memory_order_relaxed);
      L.client_done = true;
      return;
    }
    case kBlobMode: {
      std::uint64_t spec[2] = {2 * 1024 * 1024 + r.below(4 * 1024 * 1024), r.next()};
      io.send_frame(kBlob, {reinterpret_cast<const char*>(spec), 16});
      gort::sleep_for(r.us(20000));  // let the server's writes fill the buffers and time out
      std::vector<char> got(kChunk), want(kChunk);
      for (std::uint64_t off = 0; off < spec[0];) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, spec[0] - off));
        io.read_full({got.data(), n});
        pattern(spec[1], off, {want.data(), n});
        SOAK_CHECK(std::memcmp(got.data(), want.data(), n) == 0, "conns: client %d: blob differs in [%llu, +%zu)", id,
                   (unsigned long long)off, n);
        off += n;
      }
      break;
    }
    default:
      break;
  }
  io.send_frame(kBye, {});
  io.expect_eof();
  L.client_done = true;
}

}  // namespace

void run_conns(const Round& r) {
  Rng rng(r.seed_for(kConns));
  auto rd = std::make_unique<ConnRound>();
  phase(kConns, "listen");
  net::Listener ln = net::listen("tcp", "127.0.0.1:0");
  rd->addr = ln.address().string();
  gort::WaitGroup acceptor, handlers, clients;
  acceptor.add(1);
  spawn([&, seed = rng.next()] {
    Rng ar(seed);
    for (;;) {
      std::error_code ec;
      net::Conn c = ln.accept(ec);
      if (ec == net::errc::closed) break;
      SOAK_CHECK(!ec, "conns: accept: %s", ec.message().c_str());
      rd->accepted.fetch_add(1);
      handlers.add(1);
      spawn([&, c = std::move(c), s = ar.next()]() mutable {
        serve(std::move(c), *rd, Rng(s));
        handlers.done();
      });
    }
    acceptor.done();
  });
  phase(kConns, "clients");
  clients.add(kClients);
  for (int id = 0; id < kClients; id++) {
    spawn([&, id, seed = rng.next()] {
      client(*rd, id, Rng(seed));
      clients.done();
    });
  }
  clients.wait();
  phase(kConns, "close the listener");
  ln.close();
  acceptor.wait();
  phase(kConns, "wait for handlers");
  handlers.wait();

  phase(kConns, "ledger");
  std::uint64_t bytes = 0;
  for (int id = 0; id < kClients; id++) {
    const Ledger& L = rd->led[id];
    SOAK_CHECK(L.client_done, "conns: client %d did not finish its script", id);
    SOAK_CHECK(L.handlers.load() == 1, "conns: connection %d (%s) seen by %d server handlers", id,
               kModeNames[id % kModes], L.handlers.load());
    SOAK_CHECK(L.server_rx == L.client_tx, "conns: connection %d (%s): client wrote %llu bytes, server read %llu", id,
               kModeNames[id % kModes], (unsigned long long)L.client_tx, (unsigned long long)L.server_rx);
    SOAK_CHECK(L.client_rx == L.server_tx, "conns: connection %d (%s): server wrote %llu bytes, client read %llu", id,
               kModeNames[id % kModes], (unsigned long long)L.server_tx, (unsigned long long)L.client_rx);
    bytes += L.client_rx + L.server_rx;
  }
  int acc = rd->accepted.load(), orph = rd->orphans.load(), dcf = rd->dial_cancel_failed.load();
  SOAK_CHECK(acc == kClients + orph && orph <= dcf,
             "conns: %d accepted = %d clients + %d orphans? (%d dials failed by a cancel)", acc, kClients, orph, dcf);
  g.conns.fetch_add(kClients, std::memory_order_relaxed);
  g.bytes.fetch_add(bytes, std::memory_order_relaxed);
  phase(kConns, "done");
}

}  // namespace soak
