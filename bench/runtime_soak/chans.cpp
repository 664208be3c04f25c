// chans.cpp - the channel workload of the runtime soak.
//
// Checks, every round:
//   - Exactly-once delivery. Producers send unique sequence numbers through
//     an unbuffered channel, buffered ones of capacity 1 and 64, and a
//     channel of move-only boxes (std::unique_ptr), by plain send, by select
//     over two send cases plus a ctx.done() case and a timer case, by
//     try_send and by select with a default case. A producer marks a value
//     sent only when its send returned or its send case was chosen; every
//     receipt is counted per value. At the end every value marked sent was
//     received exactly once and no other value arrived (a duplicate fails at
//     once, a hole at the end).
//   - A send case that loses (to the timer, the context or the default) does
//     not deliver its value, and its box is destroyed: no Item is alive once
//     the consumers are done.
//   - Timer values seen by a select are never stale: a received time is at
//     least the deadline the timer was last reset to (Go 1.23 reset).
//   - Close while receivers wait: consumers (plain recv, range-for, a select
//     over every channel, try_recv polling) are parked or polling when the
//     channels are closed after the last send; they drain what is buffered
//     and stop. Separately, fibers parked in recv, in select, and in send
//     on channels nobody serves are all woken by close, exactly once each:
//     receivers with "closed", senders with std::logic_error.
#include "soak.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace soak {
namespace {

constexpr int kProducers = 6;
constexpr std::uint64_t kPerProducer = 1500;
constexpr std::uint64_t kValues = kProducers * kPerProducer;
constexpr int kConsumers = 5;
constexpr int kCloseWaiters = 24;

std::atomic<std::int64_t> g_live_items{0};

struct Item {
  std::uint64_t v;
  explicit Item(std::uint64_t x) noexcept : v(x) { g_live_items.fetch_add(1, std::memory_order_relaxed); }
  ~Item() { g_live_items.fetch_sub(1, std::memory_order_relaxed); }
};
using Box = std::unique_ptr<Item>;

struct State {
  gort::chan<std::uint64_t> c0{0}, c1{1}, c2{64};
  gort::chan<Box> cb{8};
  std::vector<std::uint8_t> sent = std::vector<std::uint8_t>(kValues, 0);  // slot v: written by its producer only
  std::vector<std::atomic<std::uint8_t>> received = std::vector<std::atomic<std::uint8_t>>(kValues);
  std::atomic<std::uint64_t> nsent{0}, nreceived{0}, unsent{0};
};

void got(State& s, std::uint64_t v, const char* how) {
  SOAK_CHECK(v < kValues, "chans: received value %llu, outside 0..%llu (via %s)", (unsigned long long)v,
             (unsigned long long)kValues - 1, how);
  std::uint8_t prev = s.received[v].fetch_add(1, std::memory_order_relaxed);
  SOAK_CHECK(prev == 0, "chans: value %llu received %u times (the last via %s)", (unsigned long long)v, prev + 1u,
             how);
  s.nreceived.fetch_add(1, std::memory_order_relaxed);
}

void mark_sent(State& s, std::uint64_t v) {
  s.sent[v] = 1;
  s.nsent.fetch_add(1, std::memory_order_relaxed);
}

const gort::chan<std::uint64_t>& pick(State& s, std::uint64_t k) { return k == 0 ? s.c0 : k == 1 ? s.c1 : s.c2; }

// Sends one value by plain send on a random channel (the box channel too).
void plain_send(State& s, Rng& rng, std::uint64_t v) {
  std::uint64_t k = rng.below(4);
  if (k == 3) {
    s.cb.send(std::make_unique<Item>(v));
  } else {
    pick(s, k).send(v);
  }
  mark_sent(s, v);
}

void produce(State& s, int p, const gort::Context& pctx, Rng rng) {
  std::uint64_t first = static_cast<std::uint64_t>(p) * kPerProducer;
  int mode = p % 4;
  // The select's timer case (mode 1). Stopped on every way out: an armed 1 h
  // timer would stay in its heap for an hour (a leak the soak would report).
  gort::Timer tm = mode == 1 ? gort::new_timer(1h) : gort::Timer();
  struct StopOnExit {
    gort::Timer& t;
    ~StopOnExit() { t.stop(); }
  } stop_on_exit{tm};
  for (std::uint64_t v = first; v < first + kPerProducer; v++) {
    if (mode == 0 || (mode == 1 && rng.one_in(3))) {
      plain_send(s, rng, v);
    } else if (mode == 1) {
      // select { case a <- v: case b <- v: case <-ctx.Done(): case <-t.C: }
      for (;;) {
        auto d = rng.us(1500) + 20us;
        auto armed_at = gort::Clock::now();
        tm.reset(d);
        bool box = rng.one_in(3);
        const auto& a = pick(s, rng.below(3));
        const auto& b = pick(s, rng.below(3));
        int i;
        gort::Clock::time_point fired{};
        auto on_timer = [&](gort::Clock::time_point t) { fired = t; };
        if (box) {
          i = gort::select(gort::send(s.cb, std::make_unique<Item>(v)), gort::send(b, v), gort::recv(pctx.done()),
                           gort::recv(tm.c(), on_timer));
        } else {
          i = gort::select(gort::send(a, v), gort::send(b, v), gort::recv(pctx.done()), gort::recv(tm.c(), on_timer));
        }
        if (i <= 1) {
          mark_sent(s, v);
          break;
        }
        if (i == 2) {
          SOAK_CHECK(pctx.err() == gort::errc::canceled, "chans: producer ctx.done() ready with err '%s'",
                     pctx.err().message().c_str());
          return;  // cancelled: the rest of this producer's values are never sent
        }
        SOAK_CHECK(fired >= armed_at + d, "chans: stale timer value: fired %lld ns before the reset deadline",
                   (long long)std::chrono::nanoseconds(armed_at + d - fired).count());
        s.unsent.fetch_add(1, std::memory_order_relaxed);
      }
    } else if (mode == 2) {
      // try_send (select with default), yielding while nobody can take it.
      const auto& ch = pick(s, rng.below(3));
      for (int tries = 1;; tries++) {
        bool ok = rng.one_in(2) ? ch.try_send(v) : gort::select(gort::send(ch, v), gort::default_()) == 0;
        if (ok) break;
        s.unsent.fetch_add(1, std::memory_order_relaxed);
        if (tries % 32 == 0) {
          gort::sleep_for(rng.us(100));
        } else {
          gort::yield();
        }
      }
      mark_sent(s, v);
    } else {
      // Boxes, by plain send or by select against the context.
      if (rng.one_in(2)) {
        s.cb.send(std::make_unique<Item>(v));
        mark_sent(s, v);
      } else {
        int i = gort::select(gort::send(s.cb, std::make_unique<Item>(v)), gort::recv(pctx.done()));
        if (i == 1) return;
        mark_sent(s, v);
      }
    }
  }
}

// A select over every channel that replaces a closed one with a nil channel
// (Go's idiom) and renews a short context whenever its deadline passes.
void consume_select(State& s, Rng rng) {
  gort::chan<std::uint64_t> a = s.c0, b = s.c1, c = s.c2;
  gort::chan<Box> d = s.cb;
  int open = 4;
  gort::Context ctx;
  gort::CancelFunc cancel;
  std::tie(ctx, cancel) = gort::with_timeout(gort::Context::background(), rng.us(3000) + 1us);
  auto on_int = [&](gort::chan<std::uint64_t>& ch) {
    return [&](std::optional<std::uint64_t> v) {
      if (v) {
        got(s, *v, "select");
      } else {
        ch = {};
        open--;
      }
    };
  };
  while (open > 0) {
    gort::select(gort::recv(a, on_int(a)), gort::recv(b, on_int(b)), gort::recv(c, on_int(c)),
                 gort::recv(d,
                            [&](std::optional<Box> v) {
                              if (v) {
                                got(s, (*v)->v, "select box");
                              } else {
                                d = {};
                                open--;
                              }
                            }),
                 gort::recv(ctx.done(), [&] {
                   SOAK_CHECK(ctx.err() == gort::errc::deadline_exceeded,
                              "chans: consumer's timeout ctx done with err '%s'", ctx.err().message().c_str());
                   cancel();
                   std::tie(ctx, cancel) = gort::with_timeout(gort::Context::background(), rng.us(3000) + 1us);
                 }));
  }
  cancel();
}

// try_recv polling until every channel is closed and drained.
void consume_poll(State& s, Rng rng) {
  for (;;) {
    bool all_closed = s.c0.closed() && s.c1.closed() && s.c2.closed() && s.cb.closed();
    bool any = false;
    for (std::uint64_t k = 0; k < 3; k++) {
      if (auto v = pick(s, k).try_recv()) {
        got(s, *v, "try_recv");
        any = true;
      }
    }
    if (auto v = s.cb.try_recv()) {
      got(s, (*v)->v, "try_recv box");
      any = true;
    }
    if (!any && all_closed) return;  // closed before this pass found nothing: drained for good
    if (!any) gort::sleep_for(rng.us(200));
  }
}

void consume(State& s, int c, Rng rng) {
  switch (c) {
    case 0:
    case 1:
      consume_select(s, rng);
      break;
    case 2:
      while (auto v = s.c2.recv()) got(s, *v, "recv");
      break;
    case 3:
      for (Box& b : s.cb) got(s, b->v, "range-for box");
      break;
    default:
      consume_poll(s, rng);
      break;
  }
}

// Fibers parked on channels nobody serves; close must wake each exactly once.
void close_wakes(Rng& rng) {
  gort::chan<int> rx(rng.below(2)), rx2(0), tx(0);
  std::vector<std::atomic<std::uint8_t>> woke(kCloseWaiters);
  gort::WaitGroup parked, done;
  parked.add(kCloseWaiters);
  done.add(kCloseWaiters);
  for (int i = 0; i < kCloseWaiters; i++) {
    spawn([&, i] {
      parked.done();  // right before it blocks (it may not have parked yet: close then finds it early)
      switch (i % 3) {
        case 0: {
          auto v = rx.recv();
          SOAK_CHECK(!v, "chans: recv on a closed channel nobody sent to returned %d", *v);
          break;
        }
        case 1: {
          int n = 0;
          gort::select(gort::recv(rx, [&](std::optional<int> v) { n += v ? 100 : 1; }),
                       gort::recv(rx2, [&](std::optional<int> v) { n += v ? 100 : 1; }));
          SOAK_CHECK(n == 1, "chans: select on closed channels ran handlers worth %d (want one closed case)", n);
          break;
        }
        default:
          try {
            tx.send(i);
            fail(__FILE__, __LINE__, "chans: send on a channel closed under it returned normally");
          } catch (const std::logic_error&) {
          }
      }
      std::uint8_t prev = woke[i].fetch_add(1, std::memory_order_relaxed);
      SOAK_CHECK(prev == 0, "chans: close woke waiter %d twice", i);
      done.done();
    });
  }
  parked.wait();
  if (rng.one_in(2)) gort::yield();
  rx.close();
  rx2.close();
  tx.close();
  done.wait();
  for (int i = 0; i < kCloseWaiters; i++) {
    SOAK_CHECK(woke[i].load() == 1, "chans: close woke waiter %d %u times", i, unsigned(woke[i].load()));
  }
  g.close_wakes.fetch_add(kCloseWaiters, std::memory_order_relaxed);
}

}  // namespace

void run_chans(const Round& r) {
  Rng rng(r.seed_for(kChans));
  auto s = std::make_unique<State>();
  phase(kChans, "close wakes");
  close_wakes(rng);

  phase(kChans, "producers and consumers");
  auto [pctx, pcancel] = gort::with_cancel(gort::Context::background());
  gort::Timer canceller;
  if (rng.one_in(3)) canceller = gort::after_func(rng.us(20000), [c = pcancel] { c(); });
  gort::WaitGroup producers, consumers;
  consumers.add(kConsumers);
  for (int c = 0; c < kConsumers; c++) {
    spawn([&, c, seed = rng.next()] {
      consume(*s, c, Rng(seed));
      consumers.done();
    });
  }
  producers.add(kProducers);
  for (int p = 0; p < kProducers; p++) {
    spawn([&, p, seed = rng.next(), ctx = pctx] {
      produce(*s, p, ctx, Rng(seed));
      producers.done();
    });
  }
  producers.wait();
  phase(kChans, "close while receivers wait");
  s->c0.close();
  s->c1.close();
  s->c2.close();
  s->cb.close();
  consumers.wait();
  canceller.stop();
  pcancel();

  phase(kChans, "ledger");
  for (std::uint64_t v = 0; v < kValues; v++) {
    unsigned want = s->sent[v], have = s->received[v].load(std::memory_order_relaxed);
    SOAK_CHECK(have == want, "chans: value %llu sent %u times, received %u times", (unsigned long long)v, want, have);
  }
  SOAK_CHECK(s->nsent.load() == s->nreceived.load(), "chans: %llu sent, %llu received",
             (unsigned long long)s->nsent.load(), (unsigned long long)s->nreceived.load());
  std::int64_t live = g_live_items.load();
  SOAK_CHECK(live == 0, "chans: %lld boxed values still alive after every consumer ended", (long long)live);
  g.values.fetch_add(s->nsent.load(), std::memory_order_relaxed);
  g.unsent.fetch_add(s->unsent.load(), std::memory_order_relaxed);
  phase(kChans, "done");
}

}  // namespace soak
