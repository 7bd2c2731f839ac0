// What the loop and a connection's role (producer or consumer) see of each other: the role gets
// the wire, the session and a way to report to JS (Context); the loop drives the role through
// the Role interface (connected, frames, commands, timers, disconnected).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/connection.h"
#include "core/messages.h"
#include "core/payload/kazoo_payload.h"
#include "core/session.h"
#include "core/wire.h"

namespace kazoo::core {

/// Shared by the loop and its role; lives as long as the loop.
struct Context {
  Connection& owner;
  const ConnectionOptions& options;
  Wire& wire;
  Session& session;
  /// Set by the role to drop the connection (the loop tears it down and reconnects).
  std::function<void(const std::string& reason)> drop;
  /// connection.blocked in force (RabbitMQ stops heartbeats to a blocked connection).
  bool blocked = false;

  void emit(Event&& event) { owner.push_event(std::move(event)); }
  void done(uint32_t id) { owner.push_done(id); }
  void blocked_event(bool now_blocked, const std::string& reason) {
    blocked = now_blocked;
    Event event;
    event.type = EventType::Blocked;
    event.blocked = now_blocked;
    event.reason = reason;
    event.host = options.host;
    event.zone = options.zone;
    emit(std::move(event));
  }
  void fail(uint32_t id, Failure failure) {
    Event event;
    event.type = EventType::Fail;
    event.id = id;
    event.error = std::move(failure);
    emit(std::move(event));
  }
};

class Role : public Session::Listener {
 public:
  ~Role() override = default;
  /// The session is open: declare what the role needs. after_reconnect: not the first time.
  virtual void on_open(bool after_reconnect) = 0;
  /// Setup finished: the loop reports the connection open once this is true.
  virtual bool ready() const = 0;
  /// Why the setup failed, when it did (the loop then gives up on this connection).
  virtual const std::string& setup_failure() const = 0;
  /// A frame the session did not take (deliveries, confirms, content frames, broker cancels).
  virtual void on_frame(const InFrame& frame) = 0;
  /// A command from JS while the connection is open (ready() or not).
  virtual void on_command(Command& command) = 0;
  /// A command from JS while there is no connection.
  virtual void on_command_offline(Command& command) = 0;
  /// After every batch of reads and writes (e.g. publishes resolved once written).
  virtual void after_io() {}
  /// Timers: query and publish deadlines. Runs connected or not.
  virtual void service(Clock::time_point now) = 0;
  virtual bool next_deadline(Clock::time_point* when) const = 0;
  /// The connection is gone (stopping: close() asked for it).
  virtual void on_closed(const std::string& reason, bool stopping) = 0;
  /// close(): whether anything is still worth waiting for before the connection closes.
  virtual bool settling() const { return false; }
  /// The loop is finishing: answer everything still held.
  virtual void finish() = 0;
  /// Output backlog above which commands wait (back-pressure while the broker is not reading).
  virtual bool accepting_commands() const = 0;
  /// How long the loop may leave the socket unread after a read (zero: not at all), so that each
  /// wake-up of both threads carries a batch instead of a few frames: on a virtual machine a
  /// wake-up costs microseconds of CPU. Only while what arrives meanwhile may wait that long
  /// (see the producer's and the consumer's rules).
  virtual Clock::duration read_pause() const { return Clock::duration::zero(); }
  /// Whether commands from JS may wait for the loop's next turn instead of waking it (see
  /// IoLoop::run): only while the role itself is sure to turn soon, e.g. a consumer reading a
  /// stream of deliveries, with a deadline (next_deadline) that bounds the wait.
  virtual bool defer_command_wakeups(Clock::time_point /*now*/) { return false; }
  /// close() was taken from the queue: send what the role holds back (e.g. acks) before the
  /// connection closes.
  virtual void before_close() {}
};

/// Collects a message's content frames (deliver method, header, body fragments) per channel.
class ContentAssembler {
 public:
  struct Message {
    uint16_t channel = 0;
    amqp_method_number_t method = 0;
    std::string exchange, routing_key;
    uint64_t delivery_tag = 0;
    bool redelivered = false;
    uint64_t size = 0;
    std::string body;
  };
  /// Starts a message on a basic.deliver / basic.return.
  void begin(Message&& message) { partial_[message.channel] = std::move(message); }
  /// Feeds a header or body frame; true with `out` filled when the message is complete.
  bool feed(const InFrame& frame, Message* out) {
    auto it = partial_.find(frame.channel);
    if (it == partial_.end()) return false;
    Message& m = it->second;
    if (frame.type == AMQP_FRAME_HEADER) {
      m.size = frame.body_size;
      m.body.reserve(static_cast<size_t>(m.size));
    } else {
      m.body.append(frame.body.data(), frame.body.size());
    }
    if (m.body.size() < m.size) return false;
    *out = std::move(m);
    partial_.erase(it);
    return true;
  }
  void clear() { partial_.clear(); }

 private:
  std::unordered_map<uint16_t, Message> partial_;
};

/// The Delivery event of a consumed message (a subscription's, or a late reply's with sub_id 0):
/// the augmented payload when it is a JSON object, else the raw body; the worker key defaults to
/// the routing key. The caller sets the subscription fields.
inline Event delivery_event(const ContentAssembler::Message& message, DeliveryView&& view) {
  Event event;
  event.type = EventType::Delivery;
  event.redelivered = message.redelivered;
  event.exchange = message.exchange;
  event.routing_key = message.routing_key;
  if (view.valid) {
    event.payload = std::move(view.payload);
    event.category = std::move(view.category);
    event.name = std::move(view.name);
    event.worker_key = view.worker_key.empty() ? message.routing_key : std::move(view.worker_key);
  } else {
    event.has_payload = false;
    event.raw = message.body;
    event.worker_key = message.routing_key;
  }
  return event;
}

}  // namespace kazoo::core
