// chan.hpp - Go's channels.
//
//   gort::chan<int> ch(0);          // make(chan int): unbuffered
//   gort::chan<Job> jobs(128);      // make(chan Job, 128)
//   gort::chan<int> nil;            // var ch chan int: a nil channel
//
//   ch.send(42);                    // ch <- 42 (throws on a closed channel)
//   std::optional<int> v = ch.recv();   // v, ok := <-ch (nullopt: closed and drained)
//   if (ch.try_send(7)) ...        // select { case ch <- 7: default: }
//   ch.close();                     // close(ch)
//   for (int v : ch) ...           // for v := range ch
//
// A chan is a reference, like Go's: copies share the channel, which lives
// until the last copy and the last operation blocked on it are gone. Every
// operation works from fibers (which park) and from plain threads (which
// block), so results can flow in and out of the runtime. Semantics are Go's:
// a send to a waiting receiver hands the value over directly and readies it
// to run next; waiters are served FIFO; send on a closed channel and closing
// a closed or nil channel throw std::logic_error (Go panics); a nil channel
// blocks forever. T must be nothrow move-constructible; move-only types work.
#pragma once

#include <cstddef>
#include <iterator>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "gort/detail/chan_core.hpp"

namespace gort {

namespace detail {
template <class T>
struct ElemOpsFor {
  static void move_construct(void* dst, void* src) noexcept { ::new (dst) T(std::move(*static_cast<T*>(src))); }
  static void destroy(void* p) noexcept { static_cast<T*>(p)->~T(); }
  static constexpr ElemOps ops{&move_construct, &destroy, sizeof(T), alignof(T),
                               std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>};
};

// Storage for a T that a channel operation may or may not construct.
template <class T>
class Slot {
 public:
  Slot() = default;
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    if (full_) get().~T();
  }
  void* raw() noexcept { return &storage_; }
  void mark_full() noexcept { full_ = true; }
  T& get() noexcept { return *std::launder(reinterpret_cast<T*>(&storage_)); }
  T take() {
    T v(std::move(get()));
    get().~T();
    full_ = false;
    return v;
  }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
  bool full_ = false;
};
}  // namespace detail

template <class T>
class chan {
  static_assert(std::is_nothrow_move_constructible_v<T>, "gort::chan<T>: T must be nothrow move-constructible");
  static_assert(std::is_nothrow_destructible_v<T>, "gort::chan<T>: T must be nothrow destructible");

 public:
  using value_type = T;

  // A nil channel: every send and receive blocks forever.
  chan() noexcept = default;
  // A channel with room for `capacity` values (0: unbuffered).
  explicit chan(std::size_t capacity) : core_(new detail::ChanCore(&detail::ElemOpsFor<T>::ops, capacity)) {}

  chan(const chan& o) noexcept : core_(o.core_) {
    if (core_) detail::chan_ref(core_);
  }
  chan(chan&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
  chan& operator=(chan o) noexcept {
    std::swap(core_, o.core_);
    return *this;
  }
  ~chan() {
    if (core_) detail::chan_unref(core_);
  }

  // ch <- v. Waits for room or a receiver.
  void send(T&& v) const { detail::chan_send(core_, &v, true); }
  void send(const T& v) const {
    T copy(v);
    detail::chan_send(core_, &copy, true);
  }
  // select { case ch <- v: return true; default: return false }. On false, v
  // is left untouched.
  bool try_send(T&& v) const { return detail::chan_send(core_, &v, false); }
  bool try_send(const T& v) const {
    T copy(v);
    return detail::chan_send(core_, &copy, false);
  }

  // v, ok := <-ch. Waits for a value; nullopt once closed and drained.
  std::optional<T> recv() const {
    detail::Slot<T> slot;
    if (!detail::chan_recv(core_, slot.raw(), true).received) return std::nullopt;
    slot.mark_full();
    return slot.take();
  }
  // v, ok := <-ch with Go's zero value for a closed channel.
  T recv(bool& ok) const
    requires std::is_default_constructible_v<T>
  {
    std::optional<T> v = recv();
    ok = v.has_value();
    return ok ? std::move(*v) : T{};
  }
  // Non-blocking receive: a value if one is ready now, else nullopt (closed()
  // tells "closed and drained" from "nothing yet").
  std::optional<T> try_recv() const {
    detail::Slot<T> slot;
    if (!detail::chan_recv(core_, slot.raw(), false).received) return std::nullopt;
    slot.mark_full();
    return slot.take();
  }

  // close(ch): receivers drain what is buffered, then get nullopt.
  void close() const { detail::chan_close(core_); }

  std::size_t len() const noexcept { return core_ ? core_->qcount.load(std::memory_order_relaxed) : 0; }
  std::size_t cap() const noexcept { return core_ ? core_->dataqsiz : 0; }
  bool closed() const noexcept { return core_ && core_->closed.load(std::memory_order_acquire); }
  explicit operator bool() const noexcept { return core_ != nullptr; }  // not nil
  friend bool operator==(const chan& a, const chan& b) noexcept { return a.core_ == b.core_; }

  // for (T v : ch): receives until the channel is closed and drained.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = T*;
    using reference = T&;

    iterator() = default;
    explicit iterator(const chan* c) : c_(c) { ++*this; }
    T& operator*() { return *v_; }
    T* operator->() { return &*v_; }
    iterator& operator++() {
      v_ = c_->recv();
      if (!v_) c_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.c_ == b.c_; }

   private:
    const chan* c_ = nullptr;
    std::optional<T> v_;
  };
  iterator begin() const { return iterator(this); }
  iterator end() const { return iterator(); }

  detail::ChanCore* core() const noexcept { return core_; }

 private:
  detail::ChanCore* core_ = nullptr;
};

}  // namespace gort
