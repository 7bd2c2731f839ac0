// Lock-free single-producer / single-consumer queue of small trivially copyable values, stored in
// blocks of kBlock.
//
// Why this shape: the ids of completed commands (one per confirmed publish) go from the I/O
// thread (the only producer) to the draining JS thread (the only consumer). A node-per-item
// queue costs a heap allocation on one thread and a free on the other for every id; here a push
// is a store plus one release store, and a block is allocated once per kBlock ids.
#pragma once

#include <atomic>
#include <cstddef>
#include <type_traits>

namespace kazoo::core {

template <typename T, size_t kBlock = 4096>
class SpscQueue {
  static_assert(std::is_trivially_copyable_v<T>, "SpscQueue holds plain values");

 public:
  SpscQueue() : write_block_(new Block), read_block_(write_block_) {}
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  ~SpscQueue() {
    Block* block = read_block_;
    while (block != nullptr) {
      Block* next = block->next.load(std::memory_order_relaxed);
      delete block;
      block = next;
    }
  }

  /// Producer thread only.
  void push(T value) {
    size_t at = write_block_->written.load(std::memory_order_relaxed);
    if (at == kBlock) {
      Block* fresh = new Block;
      write_block_->next.store(fresh, std::memory_order_release);
      write_block_ = fresh;
      at = 0;
    }
    write_block_->items[at] = value;
    write_block_->written.store(at + 1, std::memory_order_release);
  }

  /// Consumer thread only. Returns false when nothing is (yet) visible.
  bool pop(T& out) {
    if (read_index_ == kBlock) {
      Block* next = read_block_->next.load(std::memory_order_acquire);
      if (next == nullptr) return false;
      delete read_block_;
      read_block_ = next;
      read_index_ = 0;
    }
    if (read_index_ >= read_block_->written.load(std::memory_order_acquire)) return false;
    out = read_block_->items[read_index_++];
    return true;
  }

 private:
  struct Block {
    T items[kBlock];
    std::atomic<size_t> written{0};
    std::atomic<Block*> next{nullptr};
  };

  Block* write_block_;  // producer-owned
  Block* read_block_;   // consumer-owned
  size_t read_index_ = 0;
};

}  // namespace kazoo::core
