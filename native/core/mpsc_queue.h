// Lock-free multi-producer / single-consumer queue (Dmitry Vyukov's intrusive node design).
//
// Why this shape: JS threads post commands and the I/O thread posts events without ever taking a
// lock the other side could hold while it is descheduled. A push is one atomic exchange; a pop is
// wait-free for the single consumer except in the brief window where a producer has swapped the
// head but not yet linked its node, which pop() reports as "empty for now" (the producer's wake-up
// that follows every push guarantees the consumer looks again).
#pragma once

#include <atomic>
#include <utility>

namespace kazoo::core {

template <typename T>
class MpscQueue {
 public:
  MpscQueue() : head_(&sentinel_), tail_(&sentinel_) {}
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  ~MpscQueue() {
    T discarded;
    while (pop(discarded)) {}
  }

  /// Any thread. Takes ownership of the value.
  void push(T&& value) {
    Node* node = new Node(std::move(value));
    Node* prev = head_.exchange(node, std::memory_order_acq_rel);
    prev->next.store(node, std::memory_order_release);
  }

  /// Consumer thread only. Returns false when nothing is (yet) visible.
  bool pop(T& out) {
    Node* tail = tail_;
    Node* next = tail->next.load(std::memory_order_acquire);
    if (tail == &sentinel_) {
      if (next == nullptr) return false;
      tail_ = next;
      tail = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      tail_ = next;
      out = std::move(tail->value);
      delete tail;
      return true;
    }
    if (tail != head_.load(std::memory_order_acquire)) return false;  // a push is mid-flight
    // Re-insert the sentinel node so the last real node can be handed out.
    sentinel_.next.store(nullptr, std::memory_order_relaxed);
    Node* prev = head_.exchange(&sentinel_, std::memory_order_acq_rel);
    prev->next.store(&sentinel_, std::memory_order_release);
    next = tail->next.load(std::memory_order_acquire);
    if (next == nullptr) return false;
    tail_ = next;
    out = std::move(tail->value);
    delete tail;
    return true;
  }

 private:
  struct Node {
    Node() = default;
    explicit Node(T&& v) : value(std::move(v)) {}
    std::atomic<Node*> next{nullptr};
    T value{};
  };

  std::atomic<Node*> head_;  // producers swap here
  Node* tail_;               // consumer-owned
  Node sentinel_;
};

}  // namespace kazoo::core
