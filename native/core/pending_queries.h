// Queries waiting for their correlated reply: one table keyed by Msg-ID and one min-heap of
// deadlines, both serviced by the I/O thread (no file descriptor or JS timer per query, unlike
// the module's timerfd per query, spec 16.3 item 30).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace kazoo::core {

class PendingQueries {
 public:
  using Clock = std::chrono::steady_clock;

  struct Entry {
    uint32_t id = 0;
    Clock::time_point started, deadline;
    uint64_t generation = 0;
  };

  /// False when a query with this Msg-ID is already pending (its reply would be ambiguous).
  bool insert(const std::string& msg_id, uint32_t id, Clock::time_point now, uint32_t timeout_ms);
  /// Removes and returns the entry for a reply's Msg-ID.
  std::optional<Entry> take(const std::string& msg_id);
  bool contains(const std::string& msg_id) const { return table_.count(msg_id) != 0; }
  bool empty() const { return table_.empty(); }
  /// Calls on_timeout(entry) for every entry whose deadline has passed, and removes it.
  void expire(Clock::time_point now, const std::function<void(const Entry&)>& on_timeout);
  /// Earliest live deadline, if any.
  std::optional<Clock::time_point> next_deadline();
  /// Removes every entry, calling fn for each.
  void drain(const std::function<void(const Entry&)>& fn);

 private:
  struct Deadline {
    Clock::time_point when;
    uint64_t generation;
    std::string msg_id;
    bool operator>(const Deadline& other) const { return when > other.when; }
  };
  void drop_stale_heads();

  std::unordered_map<std::string, Entry> table_;
  // Lazy deletion: entries taken by a reply stay in the heap until they reach the top.
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<Deadline>> deadlines_;
  uint64_t next_generation_ = 1;
};

}  // namespace kazoo::core
