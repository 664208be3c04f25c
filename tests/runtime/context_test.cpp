// context, errgroup and semaphore (Go: context/context_test.go,
// x/sync/errgroup/errgroup_test.go, x/sync/semaphore/semaphore_test.go).
//
// Catch2 is not thread-safe: fibers and threads only record what they see;
// assertions run on the main fiber or after run() returns.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gort/gort.hpp"

using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;

// Polls (yielding) until pred holds; false after 10 s. Used only to wait for
// a fiber to reach a parked state nobody can signal (a queued acquire).
template <class Pred>
bool eventually(Pred pred) {
  auto limit = SteadyClock::now() + 10s;
  while (!pred()) {
    if (SteadyClock::now() > limit) return false;
    gort::yield();
  }
  return true;
}

bool is_done(const gort::Context& ctx) {
  gort::DoneChan d = ctx.done();
  return d && d.closed();
}

// Go: <-ctx.Done() with a guard, so a bug fails the test instead of hanging it.
bool wait_done(const gort::Context& ctx, std::chrono::milliseconds limit = 10s) {
  return gort::select(gort::recv(ctx.done()), gort::recv(gort::after(limit))) == 0;
}

const gort::ContextKey<std::string> user_key;
const gort::ContextKey<int> depth_key;
const int raw_key = 0;

}  // namespace

// ---------------------------------------------------------------- context

TEST_CASE("context: background is never done", "[runtime][context]") {
  gort::run(gort::Config{.gomaxprocs = 1}, [] {
    for (const gort::Context& bg : {gort::Context::background(), gort::Context(), gort::Context::todo()}) {
      REQUIRE_FALSE(bg.done());  // nil channel, as Go's Background().Done()
      REQUIRE_FALSE(bg.err());
      REQUIRE_FALSE(bg.deadline());
      REQUIRE_FALSE(bg.value(&raw_key).has_value());
      REQUIRE_FALSE(bg.value(user_key));
      REQUIRE(gort::detail::context_children(bg) == 0);
      bool defaulted = false;
      gort::select(gort::recv(bg.done()), gort::default_([&] { defaulted = true; }));
      REQUIRE(defaulted);
    }
    REQUIRE(gort::Context::background() == gort::Context());
  });
}

TEST_CASE("context: cancel closes done() and sets err(); cancel is idempotent", "[runtime][context]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
    REQUIRE(ctx.done());
    REQUIRE(ctx.done() == ctx.done());  // Go: successive calls return the same channel
    REQUIRE_FALSE(ctx.err());
    REQUIRE_FALSE(ctx.done().try_recv());
    REQUIRE_FALSE(ctx.deadline());

    // A fiber parked on done() is woken by cancel.
    gort::chan<std::error_code> seen(1);
    gort::go([ctx = ctx, seen] {
      ctx.done().recv();
      seen.send(ctx.err());
    });
    gort::yield();
    cancel();
    REQUIRE(seen.recv() == std::error_code(gort::errc::canceled));
    REQUIRE(ctx.err() == gort::errc::canceled);
    REQUIRE(ctx.done().closed());
    REQUIRE_FALSE(ctx.done().recv());  // closed: receives return at once

    auto copy = cancel;
    copy();
    cancel();
    REQUIRE(ctx.err() == gort::errc::canceled);
  });
}

TEST_CASE("context: cancellation reaches children and grandchildren, not parents or siblings",
          "[runtime][context]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    auto [root, cancel_root] = gort::with_cancel(gort::Context::background());
    auto [a, cancel_a] = gort::with_cancel(root);
    auto [b, cancel_b] = gort::with_cancel(root);
    auto av = gort::with_value(a, user_key, "alice");  // a value node between a and its child
    auto [a1, cancel_a1] = gort::with_cancel(av);
    auto [a2, cancel_a2] = gort::with_timeout(a1, 1h);
    REQUIRE(gort::detail::context_children(root) == 2);
    REQUIRE(gort::detail::context_children(a) == 1);
    REQUIRE(gort::detail::context_children(av) == 1);  // a's set, seen through the value node
    REQUIRE(av.done() == a.done());

    // Waiters on every level, from fibers.
    std::atomic<int> woken{0};
    gort::WaitGroup wg;
    for (const gort::Context& c : {a, av, a1, a2}) {
      wg.add(1);
      gort::go([c, &woken, &wg] {
        c.done().recv();
        if (c.err() == gort::errc::canceled) woken++;
        wg.done();
      });
    }
    cancel_a();
    wg.wait();
    REQUIRE(woken == 4);
    for (const gort::Context& c : {a, av, a1, a2}) REQUIRE(c.err() == gort::errc::canceled);
    REQUIRE_FALSE(root.err());
    REQUIRE_FALSE(b.err());
    REQUIRE_FALSE(is_done(root));
    REQUIRE_FALSE(is_done(b));
    REQUIRE(gort::detail::context_children(root) == 1);  // a left its parent
    REQUIRE(gort::detail::context_children(a) == 0);

    // Canceling a leaf touches nothing above it.
    auto [b1, cancel_b1] = gort::with_cancel(b);
    cancel_b1();
    REQUIRE(b1.err() == gort::errc::canceled);
    REQUIRE_FALSE(b.err());

    cancel_root();
    REQUIRE(b.err() == gort::errc::canceled);
    REQUIRE(gort::detail::context_children(root) == 0);
    cancel_b();
    cancel_a1();
    cancel_a2();
  });
}

TEST_CASE("context: a child of a canceled parent is canceled at once, with the parent's cause",
          "[runtime][context]") {
  gort::run(gort::Config{.gomaxprocs = 1}, [] {
    auto [parent, cancel] = gort::with_cancel(gort::Context::background());
    cancel();
    auto [c1, cancel1] = gort::with_cancel(parent);
    REQUIRE(c1.err() == gort::errc::canceled);
    REQUIRE(is_done(c1));
    auto [c2, cancel2] = gort::with_timeout(parent, 1h);
    REQUIRE(c2.err() == gort::errc::canceled);
    auto [c3, cancel3] = gort::with_cancel(gort::with_value(parent, &raw_key, 1));
    REQUIRE(c3.err() == gort::errc::canceled);
    REQUIRE(gort::detail::context_children(parent) == 0);

    // The cause of an expired parent is inherited too.
    auto [expired, cancel_e] = gort::with_deadline(gort::Context::background(), SteadyClock::now() - 1s);
    auto [c4, cancel4] = gort::with_cancel(expired);
    REQUIRE(c4.err() == gort::errc::deadline_exceeded);
    cancel1(), cancel2(), cancel3(), cancel4(), cancel_e();
  });
}

TEST_CASE("context: the first cause wins", "[runtime][context]") {
  gort::run(gort::Config{.gomaxprocs = 2}, [] {
    // Canceled before its deadline: stays canceled.
    auto [c1, cancel1] = gort::with_timeout(gort::Context::background(), 5ms);
    cancel1();
    REQUIRE(c1.err() == gort::errc::canceled);
    // Expired, then canceled: stays deadline_exceeded.
    auto [c2, cancel2] = gort::with_timeout(gort::Context::background(), 5ms);
    REQUIRE(wait_done(c2));
    cancel2();
    REQUIRE(c2.err() == gort::errc::deadline_exceeded);
    // c1's timer was stopped, and a late firing could not change it anyway.
    REQUIRE(c1.err() == gort::errc::canceled);

    // Racing cancels from many fibers: one cause, observed identically by all.
    for (int round = 0; round < 50; round++) {
      auto [root, cancel_root] = gort::with_cancel(gort::Context::background());
      auto [child, cancel_child] = gort::with_timeout(root, std::chrono::microseconds(round * 20));
      gort::WaitGroup wg;
      wg.add(2);
      gort::go([&, cr = cancel_root] { cr(); wg.done(); });
      gort::go([&, cc = cancel_child] { cc(); wg.done(); });
      wg.wait();
      std::error_code e = child.err();
      REQUIRE(e);
      REQUIRE(child.err() == e);
      REQUIRE(root.err() == gort::errc::canceled);
    }
  });
}

TEST_CASE("context: with_timeout fires deadline_exceeded", "[runtime][context]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    auto start = SteadyClock::now();
    auto [ctx, cancel] = gort::with_timeout(gort::Context::background(), 10ms);
    REQUIRE(ctx.deadline());
    REQUIRE(*ctx.deadline() >= start + 10ms);
    REQUIRE(*ctx.deadline() <= SteadyClock::now() + 10ms);
    REQUIRE_FALSE(ctx.err());
    REQUIRE(wait_done(ctx));
    REQUIRE(SteadyClock::now() >= *ctx.deadline());
    REQUIRE(ctx.err() == gort::errc::deadline_exceeded);
    REQUIRE(ctx.err() == std::errc::timed_out);  // Go: DeadlineExceeded.Timeout()
    cancel();
    REQUIRE(ctx.err() == gort::errc::deadline_exceeded);

    // with_deadline, observed from a fiber through select.
    auto [d, cancel_d] = gort::with_deadline(gort::Context::background(), SteadyClock::now() + 5ms);
    gort::chan<std::error_code> seen(1);
    gort::go([d = d, seen] {
      gort::select(gort::recv(d.done()));
      seen.send(d.err());
    });
    REQUIRE(seen.recv() == std::error_code(gort::errc::deadline_exceeded));
    cancel_d();
  });
}

TEST_CASE("context: the earlier of parent and child deadlines wins", "[runtime][context]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    {
      // Parent first: the child is a plain with_cancel child (Go's WithDeadline shortcut).
      auto [parent, cancel_p] = gort::with_timeout(gort::Context::background(), 10ms);
      auto [child, cancel_c] = gort::with_timeout(parent, 1h);
      REQUIRE(child.deadline() == parent.deadline());
      REQUIRE(wait_done(child));
      REQUIRE(child.err() == gort::errc::deadline_exceeded);  // the parent's cause
      REQUIRE(parent.err() == gort::errc::deadline_exceeded);
      cancel_c();
      cancel_p();
    }
    {
      // Child first: it expires alone.
      auto [parent, cancel_p] = gort::with_timeout(gort::Context::background(), 1h);
      auto [child, cancel_c] = gort::with_timeout(parent, 10ms);
      REQUIRE(*child.deadline() < *parent.deadline());
      REQUIRE(gort::with_value(child, &raw_key, 1).deadline() == child.deadline());
      REQUIRE(wait_done(child));
      REQUIRE(child.err() == gort::errc::deadline_exceeded);
      REQUIRE_FALSE(parent.err());
      REQUIRE(gort::detail::context_children(parent) == 0);  // the expired child left
      cancel_c();
      cancel_p();
    }
  });
}

TEST_CASE("context: a deadline already past cancels at once", "[runtime][context]") {
  gort::run(gort::Config{.gomaxprocs = 1}, [] {
    auto [parent, cancel_p] = gort::with_cancel(gort::Context::background());
    auto [c1, cancel1] = gort::with_deadline(parent, SteadyClock::now() - 1ms);
    REQUIRE(c1.err() == gort::errc::deadline_exceeded);
    REQUIRE(is_done(c1));
    auto [c2, cancel2] = gort::with_timeout(parent, 0ms);
    REQUIRE(c2.err() == gort::errc::deadline_exceeded);
    auto [c3, cancel3] = gort::with_timeout(parent, -5s);
    REQUIRE(c3.err() == gort::errc::deadline_exceeded);
    REQUIRE(gort::detail::context_children(parent) == 0);
    REQUIRE_FALSE(parent.err());
    cancel1(), cancel2(), cancel3(), cancel_p();
  });
}

TEST_CASE("context: children leave their parent when canceled or dropped (no leak)", "[runtime][context]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    auto [parent, cancel_parent] = gort::with_cancel(gort::Context::background());

    // Many short-lived children under a long-lived parent.
    for (int i = 0; i < 1000; i++) {
      auto [child, cancel] = i % 2 == 0 ? gort::with_cancel(parent) : gort::with_timeout(parent, 1h);
      REQUIRE(gort::detail::context_children(parent) == 1);
      cancel();
    }
    REQUIRE(gort::detail::context_children(parent) == 0);

    // Dropped without cancel (Go would keep them until the parent is
    // canceled; here the last handle releases them).
    for (int i = 0; i < 1000; i++) {
      auto kid = gort::with_timeout(parent, 1h);
      REQUIRE(gort::detail::context_children(parent) == 1);
    }
    REQUIRE(gort::detail::context_children(parent) == 0);

    // Canceled from fibers, concurrently.
    {
      gort::WaitGroup wg;
      for (int i = 0; i < 1000; i++) {
        wg.add(1);
        gort::go([&wg, parent = parent, i] {
          auto [child, cancel] = gort::with_cancel(gort::with_value(parent, &raw_key, i));
          gort::yield();
          cancel();
          wg.done();
        });
      }
      wg.wait();
    }
    REQUIRE(gort::detail::context_children(parent) == 0);

    // Live children: all registered, all canceled with the parent, and the
    // parent's set is empty afterwards.
    std::vector<gort::Context> kids;
    std::vector<gort::CancelFunc> cancels;
    for (int i = 0; i < 1000; i++) {
      auto [k, c] = gort::with_cancel(parent);
      kids.push_back(k);
      cancels.push_back(c);
    }
    REQUIRE(gort::detail::context_children(parent) == 1000);
    cancel_parent();
    REQUIRE(gort::detail::context_children(parent) == 0);
    REQUIRE(std::all_of(kids.begin(), kids.end(), [](auto& k) { return k.err() == gort::errc::canceled; }));
    for (auto& c : cancels) c();
  });
}

TEST_CASE("context: contexts may outlive the runtime", "[runtime][context]") {
  gort::Context kept, kept_child;
  gort::CancelFunc cancel_kept;
  gort::run(gort::Config{.gomaxprocs = 1}, [&] {
    auto [ctx, cancel] = gort::with_timeout(gort::Context::background(), 1h);
    kept = ctx;
    cancel_kept = cancel;
    kept_child = gort::with_cancel(gort::with_value(ctx, &raw_key, 7)).first;  // its cancel is dropped
  });
  // The timer died with the runtime; cancel still works from a plain thread.
  REQUIRE_FALSE(kept.err());
  REQUIRE(gort::detail::context_children(kept) == 1);
  cancel_kept();
  REQUIRE(kept.err() == gort::errc::canceled);
  REQUIRE(kept_child.err() == gort::errc::canceled);
  REQUIRE(kept_child.done().closed());
  REQUIRE(std::any_cast<int>(kept_child.value(&raw_key)) == 7);
  // Background-rooted contexts need no runtime at all.
  auto [c, cancel_c] = gort::with_cancel(gort::Context::background());
  cancel_c();
  REQUIRE(c.err() == gort::errc::canceled);
  REQUIRE(gort::with_deadline(c, SteadyClock::now() + 1h).first.err() == gort::errc::canceled);
  // A live deadline needs a runtime for its timer; failing leaves no trace in the parent.
  auto [p, cancel_p] = gort::with_cancel(gort::Context::background());
  REQUIRE_THROWS_AS(gort::with_timeout(p, 1h), std::logic_error);
  REQUIRE(gort::detail::context_children(p) == 0);
  cancel_p();
}

TEST_CASE("context: error codes have Go's messages", "[runtime][context]") {
  std::error_code canceled = gort::errc::canceled;
  std::error_code exceeded = gort::make_error_code(gort::errc::deadline_exceeded);
  REQUIRE(canceled.message() == "context canceled");
  REQUIRE(exceeded.message() == "context deadline exceeded");
  REQUIRE(std::string(canceled.category().name()) == "gort");
  REQUIRE(&exceeded.category() == &gort::gort_category());
  REQUIRE(canceled == std::errc::operation_canceled);
  REQUIRE(exceeded == std::errc::timed_out);
  REQUIRE(canceled != exceeded);
  REQUIRE(canceled != std::errc::timed_out);
  REQUIRE(std::system_error(exceeded).code() == gort::errc::deadline_exceeded);
}

TEST_CASE("context: values are looked up through the chain", "[runtime][context]") {
  gort::run(gort::Config{.gomaxprocs = 1}, [] {
    gort::Context bg;
    auto c1 = gort::with_value(bg, user_key, "alice");
    auto [c2, cancel] = gort::with_cancel(c1);
    auto c3 = gort::with_value(c2, depth_key, 3);
    auto c4 = gort::with_value(c3, user_key, std::string("bob"));  // shadows alice below it
    auto c5 = gort::with_value(c4, &raw_key, std::make_shared<int>(42));

    REQUIRE(c1.value(user_key) == "alice");
    REQUIRE(c2.value(user_key) == "alice");
    REQUIRE(c3.value(user_key) == "alice");
    REQUIRE(c3.value(depth_key) == 3);
    REQUIRE(c4.value(user_key) == "bob");
    REQUIRE(c5.value(user_key) == "bob");
    REQUIRE(c5.value(depth_key) == 3);
    REQUIRE_FALSE(c2.value(depth_key));
    REQUIRE_FALSE(bg.value(user_key));

    std::any raw = c5.value(&raw_key);
    REQUIRE(raw.has_value());
    REQUIRE(*std::any_cast<std::shared_ptr<int>>(raw) == 42);
    REQUIRE_FALSE(c4.value(&raw_key).has_value());
    std::any typed = c5.value(static_cast<const void*>(&depth_key));  // typed keys are addresses too
    REQUIRE(std::any_cast<int>(typed) == 3);

    // Values don't change cancellation: c5 is canceled with c2.
    REQUIRE(c5.done() == c2.done());
    cancel();
    REQUIRE(c5.err() == gort::errc::canceled);
    REQUIRE(c5.value(user_key) == "bob");

    REQUIRE_THROWS_AS(gort::with_value(bg, nullptr, 1), std::invalid_argument);
  });
}

TEST_CASE("context: select on done() and another channel", "[runtime][context]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
    gort::chan<int> jobs(0);
    gort::chan<int> result(1);
    // Go: for { select { case <-ctx.Done(): return; case j := <-jobs: sum += j } }
    gort::go([ctx = ctx, jobs, result] {
      int sum = 0;
      for (bool running = true; running;) {
        gort::select(gort::recv(ctx.done(), [&] { running = false; }),
                     gort::recv(jobs, [&](int j) { sum += j; }));
      }
      result.send(sum);
    });
    for (int i = 1; i <= 100; i++) jobs.send(i);  // unbuffered: each one received
    cancel();
    REQUIRE(result.recv() == 5050);

    // A producer blocked on a full channel gives up when the context ends.
    auto [tctx, tcancel] = gort::with_timeout(gort::Context::background(), 10ms);
    gort::chan<int> full(0);
    int i = gort::select(gort::send(full, 1), gort::recv(tctx.done()));
    REQUIRE(i == 1);
    REQUIRE(tctx.err() == gort::errc::deadline_exceeded);
    tcancel();
  });
}

TEST_CASE("context: plain threads wait on done() and cancel", "[runtime][context]") {
  auto procs = GENERATE(1, 2);
  std::error_code thread_saw, fiber_saw;
  gort::run(gort::Config{.gomaxprocs = procs}, [&] {
    // A thread waits; a fiber cancels.
    auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
    gort::chan<int> ready(1);
    std::thread waiter([&, ctx = ctx] {
      ready.send(1);
      ctx.done().recv();  // blocks the thread
      thread_saw = ctx.err();
    });
    ready.recv();
    cancel();
    gort::blocking([&] { waiter.join(); });

    // A thread cancels; a fiber waits.
    auto [ctx2, cancel2] = gort::with_timeout(gort::Context::background(), 1h);
    std::thread canceler([cancel2 = cancel2] { cancel2(); });
    REQUIRE(wait_done(ctx2));
    fiber_saw = ctx2.err();
    gort::blocking([&] { canceler.join(); });
  });
  REQUIRE(thread_saw == gort::errc::canceled);
  REQUIRE(fiber_saw == gort::errc::canceled);
}

TEST_CASE("context: concurrent cancels and child creation under a canceled tree", "[runtime][context]") {
  auto procs = GENERATE(1, 2);
  int not_canceled = 0;
  std::size_t left = 0;
  gort::run(gort::Config{.gomaxprocs = procs}, [&] {
    for (int round = 0; round < 20; round++) {
      auto [root, cancel_root] = gort::with_cancel(gort::Context::background());
      std::vector<gort::Context> kept(64);
      gort::WaitGroup wg;
      for (int f = 0; f < 8; f++) {
        wg.add(1);
        gort::go([&, f, root = root] {
          for (int i = 0; i < 8; i++) {
            auto [mid, cancel_mid] = gort::with_timeout(root, std::chrono::microseconds(50 * (i + 1)));
            auto [leaf, cancel_leaf] = gort::with_cancel(gort::with_value(mid, &raw_key, i));
            kept[static_cast<std::size_t>(f * 8 + i)] = leaf;
            if (i % 3 == 0) cancel_leaf();
            if (i % 4 == 0) cancel_mid();
            gort::yield();
          }
          wg.done();
        });
      }
      std::thread t([cr = cancel_root] { cr(); });
      wg.wait();
      gort::blocking([&] { t.join(); });
      for (auto& k : kept) {
        if (!k.err() || !is_done(k)) not_canceled++;
      }
      left = std::max(left, gort::detail::context_children(root));
    }
  });
  REQUIRE(not_canceled == 0);
  REQUIRE(left == 0);
}

// ---------------------------------------------------------------- errgroup

TEST_CASE("errgroup: all succeed: wait returns an empty code", "[runtime][errgroup]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    std::atomic<int> ran{0};
    auto [g, ctx] = gort::ErrGroup::with_context(gort::Context::background());
    for (int i = 0; i < 100; i++) {
      g.go([&ran]() -> std::error_code {
        ran++;
        return {};
      });
      g.go([&ran] { ran++; });  // void functions succeed unless they throw
    }
    REQUIRE_FALSE(g.wait());
    REQUIRE(ran == 200);
    REQUIRE(ctx.err() == gort::errc::canceled);  // Go: Wait cancels the group's context
    REQUIRE_FALSE(g.wait());                     // again: same result

    gort::ErrGroup plain;  // Go's zero Group: no context
    REQUIRE_FALSE(plain.wait());
    plain.go([] {});
    REQUIRE_FALSE(plain.wait());
    REQUIRE_FALSE(plain.context().done());
  });
}

TEST_CASE("errgroup: the first error wins and cancels the context", "[runtime][errgroup]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    auto [parent, cancel_parent] = gort::with_cancel(gort::Context::background());
    gort::ErrGroup g(parent);
    gort::Context ctx = g.context();
    std::atomic<int> observed{0};
    for (int i = 0; i < 10; i++) {
      g.go([ctx, &observed]() -> std::error_code {
        if (!wait_done(ctx)) return std::make_error_code(std::errc::timed_out);
        if (ctx.err() == gort::errc::canceled) observed++;
        return std::make_error_code(std::errc::interrupted);  // later errors are dropped
      });
    }
    g.go([]() -> std::error_code { return std::make_error_code(std::errc::io_error); });
    std::error_code ec = g.wait();
    REQUIRE(ec == std::errc::io_error);
    REQUIRE(observed == 10);
    REQUIRE(ctx.err() == gort::errc::canceled);
    REQUIRE_FALSE(parent.err());  // never upward
    cancel_parent();

    // A canceled parent cancels the group's context.
    auto [p2, cancel2] = gort::with_cancel(gort::Context::background());
    auto [g2, ctx2] = gort::ErrGroup::with_context(p2);
    g2.go([ctx2 = ctx2]() -> std::error_code {
      wait_done(ctx2);
      return ctx2.err();
    });
    cancel2();
    REQUIRE(g2.wait() == gort::errc::canceled);
  });
}

TEST_CASE("errgroup: an exception in a fiber is captured and rethrown by wait()", "[runtime][errgroup]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    auto [g, ctx] = gort::ErrGroup::with_context(gort::Context::background());
    std::atomic<int> finished{0};
    for (int i = 0; i < 5; i++) {
      g.go([ctx = ctx, &finished] {
        wait_done(ctx);
        finished++;
      });
    }
    g.go([]() -> std::error_code { throw std::runtime_error("boom"); });
    REQUIRE_THROWS_WITH(g.wait(), "boom");
    REQUIRE(finished == 5);  // the others were canceled and ran to completion
    REQUIRE(ctx.err() == gort::errc::canceled);
    REQUIRE_THROWS_AS(g.wait(), std::runtime_error);  // every wait reports it

    // An error code that came first beats a later exception.
    gort::ErrGroup g2(gort::Context::background());
    gort::Context c2 = g2.context();
    g2.go([]() -> std::error_code { return std::make_error_code(std::errc::io_error); });
    g2.go([c2] {
      wait_done(c2);
      throw std::logic_error("late");
    });
    REQUIRE(g2.wait() == std::errc::io_error);
  });
}

TEST_CASE("errgroup: set_limit bounds the running fibers", "[runtime][errgroup]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    gort::ErrGroup g;
    g.set_limit(3);
    std::atomic<int> active{0}, peak{0}, ran{0};
    for (int i = 0; i < 30; i++) {
      g.go([&] {
        int now = ++active;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        gort::sleep_for(100us);
        active--;
        ran++;
      });
    }
    REQUIRE_FALSE(g.wait());
    REQUIRE(ran == 30);
    REQUIRE(peak <= 3);
    REQUIRE(peak >= 1);

    // try_go refuses while the group is full; set_limit refuses while busy.
    g.set_limit(1);
    gort::chan<int> release(0);
    REQUIRE(g.try_go([release] { release.recv(); }));
    REQUIRE_FALSE(g.try_go([] {}));
    REQUIRE_THROWS_AS(g.set_limit(2), std::logic_error);
    release.send(1);
    REQUIRE_FALSE(g.wait());
    REQUIRE(g.try_go([] {}));
    REQUIRE_FALSE(g.wait());
    g.set_limit(-1);
    REQUIRE(g.try_go([] {}));
    REQUIRE_FALSE(g.wait());
  });
}

// ---------------------------------------------------------------- semaphore

TEST_CASE("semaphore: acquire, try_acquire and release", "[runtime][semaphore]") {
  gort::run(gort::Config{.gomaxprocs = 1}, [] {
    gort::Semaphore sem(3);
    gort::Context bg;
    REQUIRE_FALSE(sem.acquire(bg, 2));
    REQUIRE(sem.try_acquire(1));
    REQUIRE_FALSE(sem.try_acquire(1));
    sem.release(3);
    REQUIRE(sem.try_acquire(3));
    sem.release(1);
    REQUIRE_FALSE(sem.acquire());
    sem.release(3);
    REQUIRE(sem.try_acquire(0));  // zero units always fit when nobody waits
    // x/sync: acquiring with a done context succeeds when no waiting is needed.
    auto [done_ctx, cancel] = gort::with_cancel(bg);
    cancel();
    REQUIRE_FALSE(sem.acquire(done_ctx, 3));
    sem.release(3);
  });
}

TEST_CASE("semaphore: waiters park until units are released", "[runtime][semaphore]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    // Go: TestWeighted: each fiber takes i units of a size-n semaphore.
    const int n = 8;
    gort::Semaphore sem(n);
    std::atomic<int> held{0}, peak{0}, failures{0};
    gort::WaitGroup wg;
    for (int f = 0; f < 16; f++) {
      wg.add(1);
      gort::go([&, f] {
        int units = f % n + 1;
        for (int i = 0; i < 50; i++) {
          if (sem.acquire(gort::Context::background(), units)) failures++;
          int now = held += units;
          int p = peak.load();
          while (now > p && !peak.compare_exchange_weak(p, now)) {
          }
          if (i % 5 == 0) gort::yield();
          held -= units;
          sem.release(units);
        }
        wg.done();
      });
    }
    wg.wait();
    REQUIRE(failures == 0);
    REQUIRE(peak <= n);
    REQUIRE(held == 0);
    REQUIRE(sem.try_acquire(n));  // everything came back
  });
}

TEST_CASE("semaphore: FIFO: a big waiter at the head blocks later small ones", "[runtime][semaphore]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    gort::Semaphore sem(10);
    REQUIRE(sem.try_acquire(8));  // 2 free
    gort::chan<int> got(2);
    gort::go([&sem, got] {
      if (!sem.acquire(gort::Context::background(), 5)) got.send(5);
    });
    REQUIRE(eventually([&] { return gort::detail::semaphore_waiters(sem) == 1; }));
    gort::go([&sem, got] {
      if (!sem.acquire(gort::Context::background(), 1)) got.send(1);  // would fit, but queues
    });
    REQUIRE(eventually([&] { return gort::detail::semaphore_waiters(sem) == 2; }));
    REQUIRE_FALSE(sem.try_acquire(1));  // no barging past waiters either

    sem.release(1);  // 3 free: still not enough for the head, so nobody moves
    REQUIRE(gort::detail::semaphore_waiters(sem) == 2);
    REQUIRE_FALSE(got.try_recv());

    sem.release(2);  // 5 free: all go to the head; none remain, so the small one still waits
    REQUIRE(got.recv() == 5);
    REQUIRE(gort::detail::semaphore_waiters(sem) == 1);
    sem.release(1);
    REQUIRE(got.recv() == 1);
    REQUIRE(gort::detail::semaphore_waiters(sem) == 0);
    // Held: 4 (main: 8 - 1 - 2 - 1) + 5 + 1 = 10.
    REQUIRE_FALSE(sem.try_acquire(1));
    sem.release(10);
    REQUIRE(sem.try_acquire(10));
  });
}

TEST_CASE("semaphore: a canceled acquire returns ctx.err() and takes nothing", "[runtime][semaphore]") {
  auto procs = GENERATE(1, 2);
  gort::run(gort::Config{.gomaxprocs = procs}, [] {
    gort::Semaphore sem(2);
    REQUIRE(sem.try_acquire(2));

    // Deadline.
    auto [tctx, tcancel] = gort::with_timeout(gort::Context::background(), 10ms);
    REQUIRE(sem.acquire(tctx, 1) == gort::errc::deadline_exceeded);
    REQUIRE(gort::detail::semaphore_waiters(sem) == 0);
    tcancel();

    // Cancel from another fiber while parked.
    auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
    gort::chan<std::error_code> res(1);
    gort::go([&sem, ctx = ctx, res] { res.send(sem.acquire(ctx, 2)); });
    REQUIRE(eventually([&] { return gort::detail::semaphore_waiters(sem) == 1; }));
    cancel();
    REQUIRE(res.recv() == std::error_code(gort::errc::canceled));
    REQUIRE(gort::detail::semaphore_waiters(sem) == 0);

    sem.release(2);
    REQUIRE(sem.try_acquire(2));  // no unit leaked to the canceled waiters
    sem.release(2);

    // Go: TestAllocCancelDoesntStarve: a canceled big waiter at the head lets
    // the small one behind it through.
    gort::Semaphore s10(10);
    REQUIRE_FALSE(s10.acquire(gort::Context::background(), 1));
    auto [bctx, bcancel] = gort::with_cancel(gort::Context::background());
    gort::chan<std::error_code> big(1), small(1);
    gort::go([&s10, bctx = bctx, big] { big.send(s10.acquire(bctx, 10)); });
    REQUIRE(eventually([&] { return gort::detail::semaphore_waiters(s10) == 1; }));
    gort::go([&s10, small] { small.send(s10.acquire(gort::Context::background(), 1)); });
    REQUIRE(eventually([&] { return gort::detail::semaphore_waiters(s10) == 2; }));
    bcancel();
    REQUIRE(big.recv() == std::error_code(gort::errc::canceled));
    REQUIRE(small.recv() == std::error_code());
    s10.release(2);
    REQUIRE(s10.try_acquire(10));
  });
}

TEST_CASE("semaphore: an acquire larger than the size waits for its context only", "[runtime][semaphore]") {
  gort::run(gort::Config{.gomaxprocs = 2}, [] {
    gort::Semaphore sem(3);
    auto [ctx, cancel] = gort::with_cancel(gort::Context::background());
    gort::chan<std::error_code> res(1);
    gort::go([&sem, ctx = ctx, res] { res.send(sem.acquire(ctx, 4)); });
    gort::yield();
    REQUIRE(gort::detail::semaphore_waiters(sem) == 0);  // it does not queue...
    REQUIRE(sem.try_acquire(3));                         // ...so others are not blocked
    sem.release(3);
    REQUIRE_FALSE(res.try_recv());
    cancel();
    REQUIRE(res.recv() == std::error_code(gort::errc::canceled));
    auto [tctx, tcancel] = gort::with_timeout(gort::Context::background(), 5ms);
    REQUIRE(sem.acquire(tctx, 100) == gort::errc::deadline_exceeded);
    tcancel();
  });
}

TEST_CASE("semaphore: releasing more than held throws", "[runtime][semaphore]") {
  gort::run(gort::Config{.gomaxprocs = 1}, [] {
    gort::Semaphore sem(2);
    REQUIRE_THROWS_WITH(sem.release(1), "semaphore: released more than held");
    REQUIRE(sem.try_acquire(1));
    REQUIRE_THROWS_AS(sem.release(2), std::logic_error);
    sem.release(1);  // the failed release changed nothing
    REQUIRE(sem.try_acquire(2));
  });
}

TEST_CASE("semaphore: plain threads and fibers share one semaphore", "[runtime][semaphore]") {
  auto procs = GENERATE(1, 2);
  std::error_code thread_result = gort::errc::canceled;
  gort::run(gort::Config{.gomaxprocs = procs}, [&] {
    gort::Semaphore sem(1);
    REQUIRE(sem.try_acquire(1));
    std::thread t([&] {
      thread_result = sem.acquire(gort::Context::background(), 1);  // blocks the thread
      sem.release(1);
    });
    REQUIRE(eventually([&] { return gort::detail::semaphore_waiters(sem) == 1; }));
    sem.release(1);
    gort::blocking([&] { t.join(); });
    REQUIRE(sem.try_acquire(1));
  });
  REQUIRE_FALSE(thread_result);
}
