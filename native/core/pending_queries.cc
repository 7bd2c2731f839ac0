// Queries waiting for their reply: the Msg-ID table and the deadline heap (see pending_queries.h).
#include "core/pending_queries.h"

namespace kazoo::core {

bool PendingQueries::insert(const std::string& msg_id, uint32_t id, Clock::time_point now, uint32_t timeout_ms) {
  Entry entry;
  entry.id = id;
  entry.started = now;
  entry.deadline = now + std::chrono::milliseconds(timeout_ms);
  entry.generation = next_generation_++;
  if (!table_.emplace(msg_id, entry).second) return false;
  deadlines_.push(Deadline{entry.deadline, entry.generation, msg_id});
  return true;
}

std::optional<PendingQueries::Entry> PendingQueries::take(const std::string& msg_id) {
  auto it = table_.find(msg_id);
  if (it == table_.end()) return std::nullopt;
  Entry entry = it->second;
  table_.erase(it);
  if (table_.empty()) deadlines_ = {};  // cheap way to shed stale heap entries
  return entry;
}

void PendingQueries::drop_stale_heads() {
  while (!deadlines_.empty()) {
    const Deadline& top = deadlines_.top();
    auto it = table_.find(top.msg_id);
    if (it != table_.end() && it->second.generation == top.generation) return;
    deadlines_.pop();
  }
}

void PendingQueries::expire(Clock::time_point now, const std::function<void(const Entry&)>& on_timeout) {
  for (;;) {
    drop_stale_heads();
    if (deadlines_.empty() || deadlines_.top().when > now) return;
    auto it = table_.find(deadlines_.top().msg_id);
    Entry entry = it->second;
    table_.erase(it);
    deadlines_.pop();
    on_timeout(entry);
  }
}

std::optional<PendingQueries::Clock::time_point> PendingQueries::next_deadline() {
  drop_stale_heads();
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.top().when;
}

void PendingQueries::drain(const std::function<void(const Entry&)>& fn) {
  for (auto& [msg_id, entry] : table_) fn(entry);
  table_.clear();
  deadlines_ = {};
}

}  // namespace kazoo::core
