// contexts.cpp - the context workload of the runtime soak.
//
// A tree of with_cancel / with_timeout / with_value contexts under one root,
// with fibers parked on each node's done() (alone, in a select with a
// channel nobody sends on, or in a select with a long timer). Nodes are
// cancelled by another fiber (A, E), by their own deadline (B), by an
// after_func timer (C), racing a deadline against a cancel (E), and by the
// root's cancel (D). Checks, every round:
//   - every parked fiber wakes, exactly once;
//   - no fiber wakes before its node's cause happened (a flag set just
//     before the cancel call; for deadlines, the clock is past the deadline);
//   - err() is the cause's error (canceled / deadline_exceeded; either for
//     the race), descendants inherit it, done() is closed, and the first
//     cause stays when the root is cancelled later;
//   - values flow down the tree (with_value);
//   - a child of a cancelled parent is born cancelled;
//   - cancelled children leave their parent: the parent's live children
//     count goes back to 0 (no registration leaks), also for a churn of
//     with_timeout(1h) contexts cancelled before their deadline.
#include "soak.hpp"

#include <memory>
#include <vector>

namespace soak {
namespace {

constexpr int kWaitersPerNode = 6;
constexpr int kChurn = 200;

const gort::ContextKey<std::uint64_t> kRoundKey;

enum class Expect { canceled, deadline, either };

struct Node {
  const char* name;
  gort::Context ctx;
  Expect expect;
  const std::atomic<bool>* cause = nullptr;  // set just before the cancel that must wake it
  bool deadline_check = false;               // woken by its deadline: now >= ctx.deadline()
  bool early = true;                         // woken before the root is cancelled
};

const char* err_name(const std::error_code& ec) {
  if (!ec) return "none";
  if (ec == gort::errc::canceled) return "canceled";
  if (ec == gort::errc::deadline_exceeded) return "deadline_exceeded";
  return "other";
}

bool err_ok(Expect e, const std::error_code& ec) {
  switch (e) {
    case Expect::canceled:
      return ec == gort::errc::canceled;
    case Expect::deadline:
      return ec == gort::errc::deadline_exceeded;
    default:
      return ec == gort::errc::canceled || ec == gort::errc::deadline_exceeded;
  }
}

void wait_on(const Node& n, int how, std::uint64_t round) {
  switch (how) {
    case 0: {
      gort::chan<int> never(0);
      int i = gort::select(gort::recv(n.ctx.done()), gort::recv(never));
      SOAK_CHECK(i == 0, "contexts: %s: select chose a channel nobody sent on", n.name);
      break;
    }
    case 1: {
      auto v = n.ctx.done().recv();
      SOAK_CHECK(!v, "contexts: %s: a value received from done()", n.name);
      break;
    }
    default: {
      gort::Timer t = gort::new_timer(1h);
      int i = gort::select(gort::recv(n.ctx.done()), gort::recv(t.c()));
      t.stop();
      SOAK_CHECK(i == 0, "contexts: %s: the 1 h timer won", n.name);
    }
  }
  SOAK_CHECK(n.cause == nullptr || n.cause->load(), "contexts: %s woke before it was cancelled", n.name);
  std::error_code ec = n.ctx.err();
  SOAK_CHECK(err_ok(n.expect, ec), "contexts: %s woke with err %s", n.name, err_name(ec));
  SOAK_CHECK(n.ctx.done().closed(), "contexts: %s woke with done() not closed", n.name);
  if (n.deadline_check) {
    auto d = n.ctx.deadline();
    SOAK_CHECK(d && gort::Clock::now() >= *d, "contexts: %s woke before its deadline", n.name);
  }
  auto v = n.ctx.value(kRoundKey);
  SOAK_CHECK(v && *v == round, "contexts: %s lost the root's value", n.name);
}

// with_cancel / with_timeout(1h) children cancelled before their deadline:
// each must leave its parent.
void churn(const gort::Context& parent, Rng& rng) {
  std::vector<gort::CancelFunc> cancels;
  std::vector<gort::Context> kids;
  for (int i = 0; i < kChurn; i++) {
    auto [c, cancel] = rng.one_in(2) ? gort::with_timeout(parent, 1h) : gort::with_cancel(parent);
    kids.push_back(c);
    cancels.push_back(cancel);
  }
  g.contexts.fetch_add(kChurn, std::memory_order_relaxed);
  std::size_t n = gort::detail::context_children(parent);
  SOAK_CHECK(n == kChurn, "contexts: parent has %zu children, want %d", n, kChurn);
  for (auto& c : cancels) c();
  n = gort::detail::context_children(parent);
  SOAK_CHECK(n == 0, "contexts: %zu children still registered after every cancel", n);
  for (auto& k : kids) SOAK_CHECK(k.err() == gort::errc::canceled, "contexts: churn child err %s", err_name(k.err()));
}

}  // namespace

void run_contexts(const Round& r) {
  Rng rng(r.seed_for(kContexts));
  phase(kContexts, "build tree");
  auto [root0, root_cancel] = gort::with_cancel(gort::Context::background());
  gort::Context root = gort::with_value(root0, kRoundKey, r.index);
  std::atomic<bool> a_fired{false}, c_fired{false}, root_fired{false};

  auto [A, a_cancel] = gort::with_cancel(root);
  auto [A1, a1_cancel] = gort::with_cancel(A);
  auto [A2, a2_cancel] = gort::with_timeout(A, 1h);
  gort::Context A3 = gort::with_value(A1, kRoundKey, r.index);  // shadows the root's value with the same one
  auto [B, b_cancel] = gort::with_timeout(root, 200us + rng.us(3000));
  auto [B1, b1_cancel] = gort::with_cancel(B);
  auto [B2, b2_cancel] = gort::with_timeout(B, 1h);
  auto [C, c_cancel] = gort::with_cancel(root);
  auto e_after = 200us + rng.us(2000);
  auto [E, e_cancel] = gort::with_timeout(root, e_after);
  auto [D, d_cancel] = gort::with_timeout(root, 1h);
  g.contexts.fetch_add(12, std::memory_order_relaxed);

  std::vector<Node> nodes = {
      {"A", A, Expect::canceled, &a_fired},       {"A1", A1, Expect::canceled, &a_fired},
      {"A2", A2, Expect::canceled, &a_fired},     {"A3", A3, Expect::canceled, &a_fired},
      {"B", B, Expect::deadline, nullptr, true},  {"B1", B1, Expect::deadline, nullptr, true},
      {"B2", B2, Expect::deadline, nullptr, true}, {"C", C, Expect::canceled, &c_fired},
      {"E", E, Expect::either},                   {"D", D, Expect::canceled, &root_fired, false, false},
  };
  int early_waiters = 0;
  for (const Node& n : nodes) early_waiters += n.early ? kWaitersPerNode : 0;
  const int waiters = static_cast<int>(nodes.size()) * kWaitersPerNode;
  std::vector<std::atomic<std::uint8_t>> woke(waiters);
  gort::WaitGroup early, late;
  early.add(early_waiters);
  late.add(waiters - early_waiters);
  phase(kContexts, "park waiters");
  for (std::size_t k = 0; k < nodes.size(); k++) {
    for (int w = 0; w < kWaitersPerNode; w++) {
      int slot = static_cast<int>(k) * kWaitersPerNode + w;
      spawn([&, k, w, slot] {
        const Node& n = nodes[k];
        wait_on(n, w % 3, r.index);
        std::uint8_t prev = woke[slot].fetch_add(1, std::memory_order_relaxed);
        SOAK_CHECK(prev == 0, "contexts: waiter %d of %s woke twice", w, n.name);
        g.cancels.fetch_add(1, std::memory_order_relaxed);
        (n.early ? early : late).done();
      });
    }
  }

  phase(kContexts, "cancel from fibers and timers");
  gort::Timer c_timer = gort::after_func(rng.us(2000), [&c_fired, c = c_cancel] {
    c_fired.store(true);
    c();
  });
  gort::WaitGroup cancellers;
  cancellers.add(2);
  spawn([&, d = rng.us(2000)] {
    gort::sleep_for(d);
    a_fired.store(true);
    a_cancel();
    cancellers.done();
  });
  spawn([&] {
    gort::sleep_for(e_after);  // races E's own deadline
    e_cancel();
    cancellers.done();
  });
  phase(kContexts, "wait for A, B, C, E waiters");
  early.wait();
  phase(kContexts, "cancel the root");
  root_fired.store(true);
  root_cancel();
  late.wait();
  cancellers.wait();

  phase(kContexts, "ledger");
  for (int i = 0; i < waiters; i++) {
    SOAK_CHECK(woke[i].load() == 1, "contexts: waiter %d of %s woke %u times", i % kWaitersPerNode,
               nodes[i / kWaitersPerNode].name, unsigned(woke[i].load()));
  }
  SOAK_CHECK(A1.err() == gort::errc::canceled, "contexts: A1's err became %s after the root's cancel",
             err_name(A1.err()));
  SOAK_CHECK(B2.err() == gort::errc::deadline_exceeded, "contexts: B2's err became %s after the root's cancel",
             err_name(B2.err()));
  {
    auto [born, born_cancel] = gort::with_cancel(A2);
    SOAK_CHECK(born.err() == gort::errc::canceled && born.done().closed(),
               "contexts: a child of a cancelled parent was not born cancelled (err %s)", err_name(born.err()));
    born_cancel();
  }
  // Cancelled children have left their parents (root0 holds root, which holds A..E).
  for (const Node& n : nodes) {
    std::size_t kids = gort::detail::context_children(n.ctx);
    SOAK_CHECK(kids == 0, "contexts: %s still has %zu children registered", n.name, kids);
  }
  SOAK_CHECK(gort::detail::context_children(root0) == 0, "contexts: the root still has children");
  c_timer.stop();
  for (auto* f : {&a1_cancel, &a2_cancel, &b_cancel, &b1_cancel, &b2_cancel, &c_cancel, &d_cancel}) (*f)();

  phase(kContexts, "churn");
  auto [p, p_cancel] = gort::with_cancel(gort::Context::background());
  churn(p, rng);
  p_cancel();
  phase(kContexts, "done");
}

}  // namespace soak
