// g_queue.hpp - intrusive FIFO of G's linked through G::schedlink.
//
// Go: runtime2.go gQueue / gList. Not synchronised: the owner of the queue
// (sched.lock for the global run queue, a single M for local batches) guards it.
#pragma once

#include <cstddef>

#include "gort/scheduler/fiber.hpp"

namespace gort::detail {

struct GQueue {
  G* head = nullptr;
  G* tail = nullptr;
  std::size_t size = 0;

  bool empty() const noexcept { return head == nullptr; }

  void push_back(G* g) noexcept {
    g->schedlink = nullptr;
    if (tail) tail->schedlink = g; else head = g;
    tail = g;
    size++;
  }
  void push_front(G* g) noexcept {
    g->schedlink = head;
    head = g;
    if (!tail) tail = g;
    size++;
  }
  // Appends every element of q (q becomes empty).
  void append(GQueue& q) noexcept {
    if (q.empty()) return;
    if (tail) tail->schedlink = q.head; else head = q.head;
    tail = q.tail;
    size += q.size;
    q = GQueue{};
  }
  G* pop_front() noexcept {
    G* g = head;
    if (!g) return nullptr;
    head = g->schedlink;
    if (!head) tail = nullptr;
    g->schedlink = nullptr;
    size--;
    return g;
  }
};

}  // namespace gort::detail
