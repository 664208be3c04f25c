// select.hpp - Go's select statement.
//
//   int i = gort::select(
//       gort::recv(in, [&](int v) { total += v; }),        // case v := <-in
//       gort::recv(done, [&](auto, bool ok) { ... }),      // case v, ok := <-done
//       gort::send(out, job, [&] { sent++; }),             // case out <- job
//       gort::recv(gort::after(100ms), [&](auto) { ... }), // timeout
//       gort::default_([&] { ... }));                       // default (optional)
//
// Waits until one case can proceed, runs its handler and returns the case's
// index (the default case included). When several are ready, one is chosen
// uniformly at random, as in Go. Channels are locked in address order, so
// concurrent selects never deadlock; a parked select is woken exactly once,
// and nothing spins. Handlers are optional (gort::recv(ch), gort::send(ch, v)).
// A recv handler takes (T), (T, bool ok), (std::optional<T>) or nothing. As
// in Go, a closed channel's case is ready and is chosen with ok = false: a
// (T) or (T, bool) handler then receives T{} (so T must be
// default-constructible); (std::optional<T>) gets nullopt and suits move-only
// types. A send case moves its value only if it is chosen. A nil channel's
// case never proceeds. Send on a closed channel throws std::logic_error.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "gort/chan.hpp"

namespace gort {

namespace detail {

struct NoHandler {};

template <class T, class F>
struct RecvCase {
  chan<T> ch;
  F f;
  Slot<T> slot;
  static constexpr bool is_send = false;
  void* elem() { return slot.raw(); }
  void fire(bool received) {
    if (received) slot.mark_full();
    if constexpr (std::is_same_v<F, NoHandler>) {
      return;
    } else if constexpr (std::is_invocable_v<F&, std::optional<T>>) {
      std::optional<T> v;
      if (received) v.emplace(slot.take());
      f(std::move(v));
    } else if constexpr (std::is_invocable_v<F&, T, bool>) {
      if (received) {
        f(slot.take(), true);
      } else {
        f(T{}, false);
      }
    } else if constexpr (std::is_invocable_v<F&, T>) {
      f(received ? slot.take() : T{});
    } else {
      static_assert(std::is_invocable_v<F&>, "gort::recv handler: takes (T), (T, bool) or (std::optional<T>)");
      f();
    }
  }
};

template <class T, class F>
struct SendCase {
  chan<T> ch;
  T value;
  F f;
  static constexpr bool is_send = true;
  void* elem() { return &value; }
  void fire(bool) {
    if constexpr (!std::is_same_v<F, NoHandler>) f();
  }
};

template <class F>
struct DefaultCase {
  F f;
};

template <class T>
struct is_default_case : std::false_type {};
template <class F>
struct is_default_case<DefaultCase<F>> : std::true_type {};

}  // namespace detail

template <class T, class F = detail::NoHandler>
detail::RecvCase<T, std::decay_t<F>> recv(const chan<T>& ch, F&& f = {}) {
  return {ch, std::forward<F>(f), {}};
}

template <class T, class V, class F = detail::NoHandler>
detail::SendCase<T, std::decay_t<F>> send(const chan<T>& ch, V&& value, F&& f = {}) {
  return {ch, T(std::forward<V>(value)), std::forward<F>(f)};
}

template <class F>
detail::DefaultCase<std::decay_t<F>> default_(F&& f) {
  return {std::forward<F>(f)};
}
inline detail::DefaultCase<detail::NoHandler> default_() { return {{}}; }

template <class... Cases>
int select(Cases&&... cases_in) {
  constexpr std::size_t n = sizeof...(Cases);
  constexpr std::size_t ndefault = (std::size_t{0} + ... + detail::is_default_case<std::decay_t<Cases>>::value);
  static_assert(ndefault <= 1, "gort::select: at most one default case");
  std::tuple<std::decay_t<Cases>&...> cs(cases_in...);

  std::array<detail::SelectCase, n> sc{};
  std::array<int, n> map{};  // select_go index -> argument index
  int default_index = -1;
  int k = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          auto& c = std::get<I>(cs);
          if constexpr (detail::is_default_case<std::decay_t<decltype(c)>>::value) {
            default_index = static_cast<int>(I);
          } else {
            sc[static_cast<std::size_t>(k)] = {c.ch.core(), c.elem(), c.is_send, false};
            map[static_cast<std::size_t>(k)] = static_cast<int>(I);
            k++;
          }
        }(),
        ...);
  }(std::make_index_sequence<n>{});

  int chosen = detail::select_go(sc.data(), k, default_index < 0);
  int arg = chosen < 0 ? default_index : map[static_cast<std::size_t>(chosen)];
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if (static_cast<int>(I) != arg) return;
          auto& c = std::get<I>(cs);
          if constexpr (detail::is_default_case<std::decay_t<decltype(c)>>::value) {
            if constexpr (!std::is_same_v<decltype(c.f), detail::NoHandler>) c.f();
          } else {
            c.fire(sc[static_cast<std::size_t>(chosen)].received);
          }
        }(),
        ...);
  }(std::make_index_sequence<n>{});
  return arg;
}

}  // namespace gort
