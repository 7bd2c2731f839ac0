// How every publish and query of the producer role ends (see producer.h): confirms and nacks,
// the publish and query deadlines, a channel the broker closed, a lost connection (unconfirmed
// publishes kept to be sent again, pending queries failed) and close().
#include "core/producer.h"

namespace kazoo::core {
// ---------------------------------------------------------------------------------------------
// Confirms

void Producer::handle_confirm(int channel, uint64_t tag, bool multiple, bool ack) {
  if (channel < 1 || channel > static_cast<int>(channels_.size())) return;
  auto& queue = channels_[static_cast<size_t>(channel - 1)].unconfirmed;
  if (multiple) {
    while (!queue.empty() && queue.front().first <= tag) {
      settle(queue.front().second, ack);
      queue.pop_front();
    }
    return;
  }
  // Confirms come in tag order, so the one wanted is almost always at the front.
  for (auto it = queue.begin(); it != queue.end() && it->first <= tag; ++it) {
    if (it->first == tag) {
      settle(it->second, ack);
      queue.erase(it);
      return;
    }
  }
}

void Producer::settle(Outgoing& out, bool ack) {
  if (out.is_query) {
    // A query completes with its reply, not its confirm; a nack means no reply will come.
    if (!ack && pending_.take(out.msg_id))
      ctx_.fail(out.id,
                make_failure(ErrorCode::BrokerRefused, "kazoo: the broker nacked this query (internal broker error)"));
    return;
  }
  if (ack) ctx_.done(out.id);
  else
    ctx_.fail(out.id,
              make_failure(ErrorCode::BrokerRefused, "kazoo: the broker nacked this publish (internal broker error)"));
}

// ---------------------------------------------------------------------------------------------
// A channel the broker closed

void Producer::on_channel_closed(uint16_t channel, const Failure& failure) {
  // Whatever exchange vanished is checked again on its next publish.
  known_exchanges_.clear();
  if (channel >= 1 && channel <= channels_.size()) {
    auto& state = channels_[channel - 1u];
    bool any = !state.unconfirmed.empty();
    for (auto& [tag, out] : state.unconfirmed) {
      if (!out.is_query) ctx_.fail(out.id, failure);
      else if (pending_.take(out.msg_id)) ctx_.fail(out.id, failure);
    }
    state.unconfirmed.clear();
    state.next_tag = 0;
    state.open = false;
    if (!any) {
      // Without confirms nothing is waiting on this channel: report it rather than lose it.
      Event event;
      event.type = EventType::Error;
      event.error = failure;
      ctx_.emit(std::move(event));
    }
    ctx_.session.channel_open(channel, [this, channel](const RpcResult& r) {
      if (!r.ok) return ctx_.drop("cannot reopen publish channel: " + r.failure.message);
      if (!options_.confirms) {
        channels_[channel - 1u].open = true;
        return flush_held();
      }
      ctx_.session.confirm_select(channel, [this, channel](const RpcResult& r2) {
        if (!r2.ok) return ctx_.drop("cannot reopen publish channel: " + r2.failure.message);
        channels_[channel - 1u].open = true;
        // Publishes that found every channel closed meanwhile were held: send them now.
        flush_held();
      });
    });
    return;
  }
  if (channel == probe_channel()) {
    ctx_.session.channel_open(channel, [this](const RpcResult& r) {
      if (!r.ok) ctx_.drop("cannot reopen the probe channel: " + r.failure.message);
    });
    return;
  }
  if (channel == control_channel()) {
    ctx_.drop("reply queue lost: " + failure.message);
    return;
  }
  if (has_query_channel() && channel == query_channel()) {
    // The broker refused a query's publish (say, an exchange deleted after its check). Queries
    // written after it on this channel were discarded with it and end with QUERY_TIMEOUT; the
    // refusal itself is reported here. Until the channel is back, queries go out on the confirm
    // channels.
    query_channel_open_ = false;
    Event event;
    event.type = EventType::Error;
    event.error = failure;
    event.error.message = "kazoo: the broker closed the query channel: " + failure.message;
    ctx_.emit(std::move(event));
    open_query_channel(false);
  }
}

// ---------------------------------------------------------------------------------------------
// Timers and endings

void Producer::service(Clock::time_point now) {
  pending_.expire(now, [&](const PendingQueries::Entry& entry) {
    Event event;
    event.type = EventType::Timeout;
    event.id = entry.id;
    event.elapsed_ms = std::chrono::duration<double, std::milli>(now - entry.started).count();
    ctx_.emit(std::move(event));
  });
  // A confirm that never comes (a stalled broker, heartbeats off) still settles.
  auto timed_out = [&](const Outgoing& out) {
    ctx_.fail(out.id, make_failure(ErrorCode::PublishTimeout,
                                   "kazoo: the broker did not confirm this publish within amqp_publish_timeout_ms (" +
                                       std::to_string(options_.publish_timeout_ms) + " ms); it may still arrive"));
  };
  for (auto& state : channels_) {
    while (!state.unconfirmed.empty() && state.unconfirmed.front().second.deadline <= now) {
      timed_out(state.unconfirmed.front().second);
      state.unconfirmed.pop_front();
    }
  }
  while (!held_.empty() && held_.front().deadline <= now) {
    held_bytes_ -= held_.front().body.size();
    timed_out(held_.front());
    held_.pop_front();
  }
}

bool Producer::next_deadline(Clock::time_point* when) const {
  bool any = false;
  auto consider = [&](Clock::time_point t) {
    if (t == kNever) return;
    if (!any || t < *when) *when = t;
    any = true;
  };
  if (auto next = const_cast<PendingQueries&>(pending_).next_deadline()) consider(*next);
  for (const auto& state : channels_)
    if (!state.unconfirmed.empty()) consider(state.unconfirmed.front().second.deadline);
  if (!held_.empty()) consider(held_.front().deadline);
  return any;
}

bool Producer::settling() const {
  // Publishes still waiting for their exchange check count too: close() right after a first
  // publish to an exchange must not answer them CLOSED while the check is one round trip away.
  for (const auto& [exchange, parked] : awaiting_check_)
    for (const auto& out : parked)
      if (!out.is_query) return true;
  for (const auto& state : channels_)
    for (const auto& [tag, out] : state.unconfirmed)
      if (!out.is_query) return true;
  return false;
}

void Producer::on_closed(const std::string& reason, bool stopping) {
  ready_ = false;
  query_channel_open_ = false;
  content_.clear();
  check_in_flight_ = false;
  check_queue_.clear();
  std::deque<Outgoing> again;
  auto keep = [&](Outgoing&& out) {
    if (out.is_query) {
      if (!stopping && pending_.take(out.msg_id))
        ctx_.fail(out.id, make_failure(ErrorCode::ConnectionLost,
                                       "kazoo: connection lost while the query waited for its reply (" + reason + ")"));
      return;
    }
    again.push_back(std::move(out));
  };
  // Written but unconfirmed: sent again after the reconnect, same body and Msg-ID (a consumer
  // may see it twice; that is the price of never losing it).
  for (auto& state : channels_)
    for (auto& [tag, out] : state.unconfirmed) keep(std::move(out));
  channels_.clear();
  for (auto& [exchange, parked] : awaiting_check_)
    for (auto& out : parked) keep(std::move(out));
  awaiting_check_.clear();
  for (auto& out : held_) again.push_back(std::move(out));
  held_.swap(again);
  held_bytes_ = 0;
  for (const auto& out : held_) held_bytes_ += out.body.size();
  // Without confirms the fate of frames still in the socket buffer is unknown.
  for (auto& [end, id] : written_waiters_)
    ctx_.fail(id, make_failure(ErrorCode::ConnectionLost,
                               "kazoo: connection lost before this publish was written (" + reason + ")"));
  written_waiters_.clear();
  if (!stopping) {
    // The reply queue is exclusive and went with the connection: no pending reply can arrive.
    pending_.drain([&](const PendingQueries::Entry& entry) {
      ctx_.fail(entry.id, make_failure(ErrorCode::ConnectionLost,
                                       "kazoo: connection lost while the query waited for its reply (" + reason + ")"));
    });
  }
}

void Producer::finish() {
  for (auto& out : held_) {
    if (out.is_query) continue;
    ctx_.fail(out.id, make_failure(ErrorCode::Closed, "kazoo: client closed before the broker confirmed this publish"));
  }
  held_.clear();
  held_bytes_ = 0;
  pending_.drain([this](const PendingQueries::Entry& entry) {
    ctx_.fail(entry.id, make_failure(ErrorCode::Closed, "kazoo: client closed while the query was pending"));
  });
}

}  // namespace kazoo::core
