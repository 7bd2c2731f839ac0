// The delivery tags of one consuming channel incarnation that were handed to JS and not settled
// yet. The consumer uses it to send a burst of acks as one basic.ack with multiple=true: that is
// only allowed when no tag below the ack is still unsettled, since the broker would ack those too.
//
// Why a sorted vector with tombstones: tags arrive in increasing order (append), settles come
// mostly in order (lanes run in parallel, so not always), and the live set is bounded by the
// prefetch. Settled entries are marked and dropped from the front, and the vector is compacted
// when tombstones outnumber live entries, so memory stays within twice the unsettled count even
// when one handler never finishes while the others go on.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace kazoo::core {

class UnsettledTags {
 public:
  static constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();

  /// A delivery with `tag` went to JS (the broker numbers a channel's deliveries upwards).
  void delivered(uint64_t tag) {
    if (size_ != tags_.size() - head_ && tags_.size() - head_ > 64 && (tags_.size() - head_) > 2 * size_) compact();
    tags_.push_back(tag);
    ++size_;
  }

  /// `tag` is being settled now. False when it was not unsettled (settled twice, or unknown).
  bool settle(uint64_t tag) {
    // Settles come mostly in delivery order: look at the front first.
    size_t i = head_;
    while (i < tags_.size() && (tags_[i] & kSettledBit) != 0) ++i;
    if (i == tags_.size()) return false;
    if (tags_[i] != tag) {
      auto it = std::lower_bound(tags_.begin() + static_cast<std::ptrdiff_t>(i), tags_.end(), tag,
                                 [](uint64_t entry, uint64_t value) { return (entry & ~kSettledBit) < value; });
      if (it == tags_.end() || *it != tag) return false;  // absent or already settled (marked)
      i = static_cast<size_t>(it - tags_.begin());
    }
    tags_[i] |= kSettledBit;
    --size_;
    drop_front();
    return true;
  }

  /// The lowest unsettled tag, kNone when every delivered tag is settled.
  uint64_t lowest() const {
    for (size_t i = head_; i < tags_.size(); ++i)
      if ((tags_[i] & kSettledBit) == 0) return tags_[i];
    return kNone;
  }

  /// Number of unsettled tags.
  size_t size() const { return size_; }

  /// A new channel incarnation starts numbering again.
  void clear() {
    tags_.clear();
    head_ = 0;
    size_ = 0;
  }

 private:
  // Broker tags count deliveries on one channel; they never reach 2^63.
  static constexpr uint64_t kSettledBit = uint64_t{1} << 63;

  void drop_front() {
    while (head_ < tags_.size() && (tags_[head_] & kSettledBit) != 0) ++head_;
    if (head_ == tags_.size()) {
      tags_.clear();
      head_ = 0;
    } else if (head_ > 1024 && head_ * 2 > tags_.size()) {
      tags_.erase(tags_.begin(), tags_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  void compact() {
    size_t out = 0;
    for (size_t i = head_; i < tags_.size(); ++i)
      if ((tags_[i] & kSettledBit) == 0) tags_[out++] = tags_[i];
    tags_.resize(out);
    head_ = 0;
  }

  std::vector<uint64_t> tags_;  // ascending (ignoring kSettledBit); [head_, end) is live or marked
  size_t head_ = 0;
  size_t size_ = 0;  // unmarked entries in [head_, end)
};

}  // namespace kazoo::core
