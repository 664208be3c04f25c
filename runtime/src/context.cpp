// context.cpp - Go's context package (context/context.go: cancelCtx,
// timerCtx, valueCtx, propagateCancel, removeChild, WithDeadline).
//
// A Context points at a node, or at nothing for Background. Nodes form a
// tree through strong parent pointers. A CancelNode is Go's cancelCtx (with
// timerCtx's timer and deadline folded in); a value node is Go's valueCtx.
// Every node caches the nearest CancelNode at or above it (`canceler`, Go's
// parentCancelCtx walk done once at construction) and its effective deadline.
// Since every node is one of ours, propagateCancel never needs Go's fallback
// goroutine for foreign Context implementations.
//
// CancelNode invariants:
//   INV1 err_ goes from 0 to the cause exactly once, under mu_ (the first
//        cause wins), and before done_ is closed and the children are
//        canceled, all in the same critical section (Go: cancelCtx.cancel).
//        err() reads err_ lock-free (acquire) while it is 0; a non-zero value
//        is returned only after taking mu_ once, so as in Go, an err() that
//        reports the cause implies done() closed and every registered child
//        canceled.
//   INV2 children_ (under mu_) holds the uncanceled children registered by
//        propagate, as weak pointers: a parent does not keep its children
//        alive (see the header). A child leaves it when it cancels itself
//        (remove_from_parent) or is destroyed uncanceled; the parent's cancel
//        empties it, and once err_ != 0 nothing is added (a late child is
//        canceled on the spot instead).
//   INV3 Lock order: a parent's mu_ before its descendants' (cancel descends
//        holding them, as Go does). Nobody takes an ancestor's mu_ while
//        holding a descendant's: remove_child runs after the child's unlock.
//   INV4 Nothing under mu_ switches fibers: critical sections that close
//        channels or touch timers run inside RuntimeScope(false), which turns
//        the safepoints of those runtime calls off. No user code runs under
//        mu_ (closing done_ only readies waiters).
//   INV5 No node's last reference is dropped while its canceler parent's mu_
//        is held (its destructor takes that mu_): shared_ptrs obtained from
//        children_ and old timers are released after unlocking.
//   INV6 timer_ (under mu_) holds the deadline timer until the first cancel
//        moves it out and stops it. The timer's callback holds the node
//        weakly, so a context nobody holds is destroyed (stopping its timer).
#include "gort/context.hpp"

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "gort/scheduler/park.hpp"

namespace gort {

namespace {

class GortCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gort"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::canceled: return "context canceled";
      case errc::deadline_exceeded: return "context deadline exceeded";
    }
    return "unknown gort error";
  }
  // Portable conditions, so `ec == std::errc::timed_out` works (Go:
  // DeadlineExceeded implements Timeout() bool).
  std::error_condition default_error_condition(int ev) const noexcept override {
    switch (static_cast<errc>(ev)) {
      case errc::canceled: return std::errc::operation_canceled;
      case errc::deadline_exceeded: return std::errc::timed_out;
    }
    return {ev, *this};
  }
};

}  // namespace

const std::error_category& gort_category() noexcept {
  static const GortCategory c;
  return c;
}

namespace detail {

class ContextNode {
 public:
  enum class Kind : std::uint8_t { cancel, value };

  ContextNode(Kind k, std::shared_ptr<ContextNode> p, CancelNode* self_canceler,
              std::optional<Clock::time_point> dl)
      : kind(k),
        parent(std::move(p)),
        canceler(self_canceler != nullptr ? self_canceler : (parent ? parent->canceler : nullptr)),
        deadline(dl) {}
  virtual ~ContextNode() = default;
  ContextNode(const ContextNode&) = delete;
  ContextNode& operator=(const ContextNode&) = delete;

  const Kind kind;
  const std::shared_ptr<ContextNode> parent;  // null: Background
  // This node if it is a CancelNode, else the nearest one above (null: never
  // canceled). Alive as long as this node: the parent chain holds it.
  CancelNode* const canceler;
  const std::optional<Clock::time_point> deadline;  // the earliest on the chain
  // Value nodes only (Go: valueCtx).
  const void* key = nullptr;
  std::any val;
};

class CancelNode final : public ContextNode {
 public:
  CancelNode(std::shared_ptr<ContextNode> p, std::optional<Clock::time_point> dl)
      : ContextNode(Kind::cancel, std::move(p), this, dl),
        up_(parent ? parent->canceler : nullptr),
        done_(0) {}

  ~CancelNode() override {
    // Nobody can observe this context any more (the timer callback holds it
    // weakly): free the timer's heap slot now rather than at the deadline.
    timer_.stop();
    // Canceled nodes already left the parent (INV2); uncanceled ones leave now.
    if (up_ != nullptr && err_.load(std::memory_order_acquire) == 0) up_->remove_child(this);
  }

  // Go: propagateCancel, for a child whose nearest cancelable ancestor is this.
  void add_child(const std::shared_ptr<CancelNode>& child) {
    RuntimeScope scope(false);  // INV4: child->cancel closes a channel under mu_
    std::lock_guard lk(mu_);
    if (int e = err_.load(std::memory_order_relaxed); e != 0) {
      child->cancel(false, static_cast<errc>(e));  // parent already canceled
    } else {
      children_.emplace(child.get(), child);
    }
  }

  // Go: removeChild.
  void remove_child(CancelNode* child) noexcept {
    std::lock_guard lk(mu_);
    children_.erase(child);
  }

  // Go: cancelCtx.cancel and timerCtx.cancel: closes done_, cancels every
  // child, stops the timer, and leaves the parent if remove_from_parent.
  void cancel(bool remove_from_parent, errc e) {
    std::vector<std::shared_ptr<CancelNode>> kids;  // released after unlocking (INV5)
    gort::Timer timer;                              // likewise: it may hold the last ref to its state
    {
      RuntimeScope scope(false);  // INV4
      std::lock_guard lk(mu_);
      if (err_.load(std::memory_order_relaxed) != 0) return;  // the first cause won
      err_.store(static_cast<int>(e), std::memory_order_release);
      done_.close();
      kids.reserve(children_.size());
      for (auto& [raw, weak] : children_) {
        if (auto k = weak.lock()) kids.push_back(std::move(k));  // expired: being destroyed
      }
      std::unordered_map<CancelNode*, std::weak_ptr<CancelNode>>().swap(children_);
      // Go: "acquiring the child's lock while holding parent's lock" (INV3).
      for (auto& k : kids) k->cancel(false, e);
      timer = std::move(timer_);
    }
    timer.stop();  // a callback already running finds err_ set and does nothing
    if (remove_from_parent && up_ != nullptr) up_->remove_child(this);
  }

  std::error_code err() const noexcept {
    int e = err_.load(std::memory_order_acquire);
    if (e == 0) return {};
    // INV1: wait for the canceler to finish (closing done_, canceling children).
    { std::lock_guard lk(mu_); }
    return make_error_code(static_cast<errc>(e));
  }

  // Go: WithDeadline's `if c.err == nil { c.timer = time.AfterFunc(...) }`.
  void arm(std::int64_t when_ns, const std::shared_ptr<CancelNode>& self) {
    RuntimeScope scope(false);  // INV4
    std::lock_guard lk(mu_);
    if (err_.load(std::memory_order_relaxed) != 0) return;  // canceled meanwhile (by the parent)
    std::weak_ptr<CancelNode> weak = self;
    // The deadline is absolute on the runtime's clock, which is steady_clock's
    // (CLOCK_MONOTONIC): gort::after_func's machinery without re-reading now.
    timer_ = gort::Timer(start_after_func(when_ns, [weak] {
      if (auto c = weak.lock()) c->cancel(true, errc::deadline_exceeded);
    }));
  }

  std::size_t children() const {
    std::lock_guard lk(mu_);
    return children_.size();
  }

  CancelNode* const up_;  // the parent's canceler (null: Background above)
  const DoneChan done_;   // unbuffered, only ever closed (INV1)

 private:
  mutable std::mutex mu_;
  std::atomic<int> err_{0};                                              // INV1
  std::unordered_map<CancelNode*, std::weak_ptr<CancelNode>> children_;  // INV2
  gort::Timer timer_;                                                    // INV6
};

namespace {

std::shared_ptr<CancelNode> new_cancel_node(std::shared_ptr<ContextNode> parent,
                                            std::optional<Clock::time_point> deadline) {
  auto c = std::make_shared<CancelNode>(std::move(parent), deadline);
  // Go: propagateCancel (parent.Done() == nil: never canceled, nothing to do).
  if (c->up_ != nullptr) c->up_->add_child(c);
  return c;
}

CancelFunc cancel_func(std::shared_ptr<CancelNode> c) {
  return [c = std::move(c)] { c->cancel(true, errc::canceled); };
}

}  // namespace

std::size_t context_children(const Context& ctx) noexcept {
  CancelNode* c = ctx.canceler();
  return c != nullptr ? c->children() : 0;
}

}  // namespace detail

detail::CancelNode* Context::canceler() const noexcept { return node_ ? node_->canceler : nullptr; }

DoneChan Context::done() const {
  detail::CancelNode* c = canceler();
  return c != nullptr ? c->done_ : DoneChan();
}

std::error_code Context::err() const noexcept {
  detail::CancelNode* c = canceler();
  return c != nullptr ? c->err() : std::error_code();
}

std::optional<Clock::time_point> Context::deadline() const noexcept {
  return node_ ? node_->deadline : std::nullopt;
}

// Go: valueCtx.Value walking up through the embedded Context.
const std::any* Context::find_value(const void* key) const noexcept {
  for (const detail::ContextNode* n = node_.get(); n != nullptr; n = n->parent.get()) {
    if (n->kind == detail::ContextNode::Kind::value && n->key == key) return &n->val;
  }
  return nullptr;
}

std::any Context::value(const void* key) const {
  const std::any* v = find_value(key);
  return v != nullptr ? *v : std::any();
}

// Go: context.WithCancel.
std::pair<Context, CancelFunc> with_cancel(Context parent) {
  auto dl = parent.deadline();
  auto c = detail::new_cancel_node(std::move(parent.node_), dl);
  return {Context(c), detail::cancel_func(c)};
}

// Go: context.WithDeadline.
std::pair<Context, CancelFunc> with_deadline(Context parent, Clock::time_point d) {
  if (auto cur = parent.deadline(); cur && *cur < d) {
    return with_cancel(std::move(parent));  // the current deadline is already sooner
  }
  auto c = detail::new_cancel_node(std::move(parent.node_), d);
  std::int64_t when = std::chrono::duration_cast<std::chrono::nanoseconds>(d.time_since_epoch()).count();
  if (when <= detail::now_ns()) {
    c->cancel(true, errc::deadline_exceeded);  // the deadline has already passed
  } else {
    c->arm(when, c);
  }
  return {Context(c), detail::cancel_func(c)};
}

// Go: context.WithValue.
Context with_value(Context parent, const void* key, std::any value) {
  if (key == nullptr) throw std::invalid_argument("gort::with_value: nil key");
  auto dl = parent.deadline();
  auto n = std::make_shared<detail::ContextNode>(detail::ContextNode::Kind::value, std::move(parent.node_),
                                                 nullptr, dl);
  n->key = key;
  n->val = std::move(value);
  return Context(std::move(n));
}

}  // namespace gort
