// signal.hpp - delivering process signals to a channel (Go: os/signal.Notify,
// signal.Stop).
//
//   gort::chan<int> sig(1);
//   gort::signal_notify(sig, {SIGINT, SIGTERM});
//   sig.recv();                       // parks until Ctrl-C
//   srv.shutdown(ctx);
//
// As in Go, delivery never blocks: a signal arriving while the channel is
// full is dropped for that channel (give it a buffer). A signal with at
// least one channel is caught instead of taking its default action (e.g.
// SIGINT no longer kills the process) until signal_stop has removed every
// channel for it. SIGURG, SIGSEGV and SIGBUS belong to the runtime (fiber
// preemption and stack overflow detection) and cannot be notified:
// std::invalid_argument. The channel must stay open while registered.
#pragma once

#include <initializer_list>

#include "gort/chan.hpp"

namespace gort {

void signal_notify(const chan<int>& ch, std::initializer_list<int> signals);
// Stops delivery to ch (every signal); restores the default action of
// signals left without channels.
void signal_stop(const chan<int>& ch);

}  // namespace gort
