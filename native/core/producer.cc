// The producer role (see producer.h): setup of the publish, probe, control and query channels
// and the reply queue; publishes and queries on their way out, the at-least-once buffer across
// reconnects, replies. How each publish and query ends is in producer_outcomes.cc.
#include "core/producer.h"

#include <ctime>

namespace kazoo::core {
namespace {
constexpr size_t kOutHighWater = 8u << 20;
// Unconfirmed publishes from which confirms are read in batches (read_pause), and how long the
// socket then stays unread after a read.
constexpr size_t kCoalesceInFlight = 64;
constexpr auto kConfirmReadPause = std::chrono::milliseconds(2);
}  // namespace

Producer::Producer(Context& ctx) : ctx_(ctx), options_(ctx.options) {
  identity_.app_name = options_.app_name;
  identity_.app_version = options_.app_version;
  identity_.node = "kamailio@" + options_.node_hostname;
  identity_fields_ = IdentityFields(identity_);
  for (int i = 0; i < options_.max_channels; ++i) {
    server_ids_.push_back(targeted_server_id(identity_.node, options_.server_id, i));
    server_id_members_.push_back(server_id_field(server_ids_.back()));
  }
  reply_queue_ = identity_.node + "-<" + std::to_string(options_.server_id) + ">-targeted";
}

// ---------------------------------------------------------------------------------------------
// Setup: every channel.open / confirm.select / declare is in flight at once; the connection is
// ready when the last one answered.

void Producer::on_open(bool /*after_reconnect*/) {
  ready_ = false;
  setup_failure_.clear();
  known_exchanges_.clear();
  channels_.assign(static_cast<size_t>(options_.max_channels), PublishChannel{});
  const uint16_t last_channel = has_query_channel() ? query_channel() : probe_channel();
  if (ctx_.session.channel_max() < last_channel) {
    setup_failed("broker channel_max " + std::to_string(ctx_.session.channel_max()) + " is below amqp_max_channels + " +
                 std::to_string(last_channel - options_.max_channels));
    return;
  }
  query_channel_open_ = false;
  setup_waiting_ = 1;  // released at the end, so that an early answer cannot finish the setup
  for (int ch = 1; ch <= options_.max_channels; ++ch) {
    ++setup_waiting_;
    open_publish_channel(ch);
  }
  ++setup_waiting_;
  ctx_.session.channel_open(probe_channel(), [this](const RpcResult& r) {
    if (!r.ok) return setup_failed(r.failure.message);
    setup_step_done();
  });
  ++setup_waiting_;
  ctx_.session.channel_open(control_channel(), [this](const RpcResult& r) {
    if (!r.ok) return setup_failed(r.failure.message);
    setup_step_done();
  });
  if (options_.primary) setup_reply_queue();
  if (has_query_channel()) open_query_channel(true);
  setup_step_done();
}

void Producer::open_query_channel(bool during_setup) {
  if (during_setup) ++setup_waiting_;
  ctx_.session.channel_open(query_channel(), [this, during_setup](const RpcResult& r) {
    if (!r.ok) {
      if (during_setup) return setup_failed(r.failure.message);
      return ctx_.drop("cannot reopen the query channel: " + r.failure.message);
    }
    query_channel_open_ = true;
    if (during_setup) setup_step_done();
  });
}

void Producer::open_publish_channel(int channel) {
  const auto ch = static_cast<uint16_t>(channel);
  ctx_.session.channel_open(ch, [this, channel](const RpcResult& r) {
    if (!r.ok) return setup_failed(r.failure.message);
    if (!options_.confirms) {
      channels_[static_cast<size_t>(channel - 1)].open = true;
      return setup_step_done();
    }
    ctx_.session.confirm_select(static_cast<uint16_t>(channel), [this, channel](const RpcResult& r2) {
      if (!r2.ok) return setup_failed(r2.failure.message);
      channels_[static_cast<size_t>(channel - 1)].open = true;
      setup_step_done();
    });
  });
}

void Producer::setup_reply_queue() {
  // The targeted direct exchange (non-durable, not auto-delete, as Kazoo declares it) and one
  // reply queue bound with every Server-ID this connection injects (Kazoo only echoes the key).
  // The queue is exclusive: a second node with the same node_hostname is refused with 405
  // instead of silently taking half of this node's replies.
  const uint16_t ch = control_channel();
  auto step = [this](const char* what) {
    ++setup_waiting_;
    return [this, what](const RpcResult& r) {
      if (!r.ok) {
        std::string reason = std::string(what) + ": " + r.failure.message;
        if (r.failure.reply_code == 405)
          reason = "reply queue " + reply_queue_ +
                   " is held by another connection (node_hostname must be unique "
                   "among nodes on this broker): " +
                   r.failure.message;
        return setup_failed(reason);
      }
      setup_step_done();
    };
  };
  ctx_.session.exchange_declare(ch, "targeted", "direct", false, false, false, false,
                                step("declare exchange targeted"));
  ctx_.session.queue_declare(ch, reply_queue_, false, false, true, true, amqp_empty_table, step("declare reply queue"));
  for (int i = 0; i < options_.max_channels; ++i)
    ctx_.session.queue_bind(ch, reply_queue_, "targeted", server_ids_[static_cast<size_t>(i)], false,
                            step("bind reply queue"));
  // no_ack, as the module consumes its targeted queues: a reply is taken off the socket by this
  // thread at once, so acking each one would only cost a frame and broker work per query.
  ctx_.session.basic_consume(ch, reply_queue_, true, true, step("consume reply queue"));
}

void Producer::setup_step_done() {
  if (--setup_waiting_ != 0 || !setup_failure_.empty()) return;
  ready_ = true;
  flush_held();
}

void Producer::setup_failed(const std::string& reason) {
  if (!setup_failure_.empty()) return;
  setup_failure_ = reason;
  ctx_.drop(reason);
}

void Producer::flush_held() {
  if (!ready_ || held_.empty()) return;
  std::deque<Outgoing> held;
  held.swap(held_);
  held_bytes_ = 0;
  for (auto& out : held) send(std::move(out));
}

// ---------------------------------------------------------------------------------------------
// Commands

void Producer::on_command(Command& command) {
  switch (command.type) {
    case CommandType::Publish: return publish(command, false);
    case CommandType::Query: return publish(command, true);
    case CommandType::Settle: return;
    default:
      ctx_.fail(command.id, make_failure(ErrorCode::InvalidArgument,
                                         "kazoo: internal: subscription command sent to a producer connection"));
  }
}

void Producer::on_command_offline(Command& command) { on_command(command); }

void Producer::publish(Command& command, bool is_query) {
  if (is_query && !options_.primary) {
    ctx_.fail(command.id, make_failure(ErrorCode::NotConnected, "kazoo: queries go through primary-zone servers only"));
    return;
  }
  if (is_query && !ready_) {
    // Its reply queue goes with the connection: a query cannot wait for the next one.
    ctx_.fail(command.id, make_failure(ErrorCode::NotConnected, "kazoo: not connected to " + options_.host + ":" +
                                                                    std::to_string(options_.port) + " (reconnecting)"));
    return;
  }
  const uint32_t frame_max = ready_ ? ctx_.session.frame_max() : 131072u;
  if (FrameWriter::header_frame_size(command.headers) + 8 > frame_max) {
    ctx_.fail(command.id, make_failure(ErrorCode::InvalidArgument,
                                       "kazoo: options.headers must fit in one frame (frame_max " +
                                           std::to_string(frame_max) + " bytes), got " +
                                           std::to_string(FrameWriter::header_frame_size(command.headers)) + " bytes"));
    return;
  }
  const size_t index = round_robin_++ % server_ids_.size();
  PublishBody body;
  Failure failure;
  if (!build_publish_body(command.payload, identity_, server_ids_[index], &body, &failure, JsonRoute::Auto, {},
                          &identity_fields_, &server_id_members_[index])) {
    ctx_.fail(command.id, failure);
    return;
  }
  if (body.msg_id.find('\0') != std::string::npos) {
    ctx_.fail(command.id, make_failure(ErrorCode::InvalidArgument,
                                       "kazoo: payload Msg-ID must be a string without NUL characters"));
    return;
  }
  if (is_query && body.msg_id.empty()) {
    ctx_.fail(command.id,
              make_failure(ErrorCode::InvalidArgument, "kazoo: payload Msg-ID must be a non-empty string for a query"));
    return;
  }
  const auto now = Clock::now();
  if (is_query && !pending_.insert(body.msg_id, command.id, command.queued_at, command.timeout_ms)) {
    ctx_.fail(command.id,
              make_failure(ErrorCode::InvalidArgument,
                           "kazoo: payload Msg-ID must be unique among pending queries, got \"" + body.msg_id + "\""));
    return;
  }
  Outgoing out;
  out.id = command.id;
  out.is_query = is_query;
  out.channel_index = index;
  out.exchange = std::move(command.exchange);
  out.routing_key = std::move(command.routing_key);
  out.headers = std::move(command.headers);
  out.body = std::move(body.body);
  if (is_query) out.msg_id = std::move(body.msg_id);
  out.deadline = is_query ? kNever : now + std::chrono::milliseconds(options_.publish_timeout_ms);
  if (ready_) {
    send(std::move(out));
    return;
  }
  const size_t bytes = out.body.size();
  if (!buffer(std::move(out), bytes)) {
    ctx_.fail(command.id, make_failure(ErrorCode::PublishBufferFull,
                                       "kazoo: publish buffer is full while " + options_.host + ":" +
                                           std::to_string(options_.port) + " reconnects (" +
                                           std::to_string(held_.size()) + " publishes, " + std::to_string(held_bytes_) +
                                           " bytes; amqp_publish_buffer_count / amqp_publish_buffer_bytes)"));
  }
}

bool Producer::buffer(Outgoing&& out, size_t bytes) {
  if (held_.size() + 1 > static_cast<size_t>(options_.buffer_count) ||
      static_cast<int64_t>(held_bytes_ + bytes) > options_.buffer_bytes)
    return false;
  held_bytes_ += bytes;
  held_.push_back(std::move(out));
  return true;
}

void Producer::send(Outgoing&& out) {
  if (!out.exchange.empty() && known_exchanges_.count(out.exchange) == 0) {
    // First publish to this exchange on this connection: a passive declare on the probe channel
    // turns "no such exchange" into a clean refusal of this publish, with nothing sent, instead
    // of a publish channel closed under later messages.
    auto [it, first] = awaiting_check_.try_emplace(out.exchange);
    it->second.push_back(std::move(out));
    if (first) {
      check_queue_.push_back(it->first);
      check_next_exchange();
    }
    return;
  }
  if (out.is_query && query_channel_open_) {
    // Settled by its reply (pending_), or by its deadline; no confirm on this channel.
    ctx_.wire.out().publish(query_channel(), out.exchange, out.routing_key, out.headers, out.body,
                            ctx_.session.frame_max());
    return;
  }
  int channel = next_channel(out.channel_index);
  if (channel == 0) {
    held_bytes_ += out.body.size();
    held_.push_back(std::move(out));
    return;
  }
  write(channel, std::move(out));
}

void Producer::check_next_exchange() {
  if (check_in_flight_ || check_queue_.empty()) return;
  check_in_flight_ = true;
  const std::string exchange = check_queue_.front();
  ctx_.session.exchange_declare(probe_channel(), exchange, "", true, false, false, false,
                                [this, exchange](const RpcResult& r) {
                                  check_in_flight_ = false;
                                  check_queue_.pop_front();
                                  std::vector<Outgoing> parked;
                                  auto it = awaiting_check_.find(exchange);
                                  if (it != awaiting_check_.end()) {
                                    parked.swap(it->second);
                                    awaiting_check_.erase(it);
                                  }
                                  if (r.ok) {
                                    known_exchanges_.insert(exchange);
                                    for (auto& out : parked) send(std::move(out));
                                  } else {
                                    for (auto& out : parked) {
                                      if (out.is_query) pending_.take(out.msg_id);
                                      ctx_.fail(out.id, r.failure);
                                    }
                                    // The refusal closed the probe channel: open it again for the next check.
                                    ctx_.session.channel_open(probe_channel(), [this](const RpcResult& reopened) {
                                      if (!reopened.ok)
                                        ctx_.drop("cannot reopen the probe channel: " + reopened.failure.message);
                                    });
                                  }
                                  check_next_exchange();
                                });
}

int Producer::next_channel(size_t preferred) {
  const size_t n = channels_.size();
  for (size_t tries = 0; tries < n; ++tries) {
    size_t index = (preferred + tries) % n;
    if (channels_[index].open) return static_cast<int>(index) + 1;
  }
  return 0;
}

void Producer::write(int channel, Outgoing&& out) {
  auto& state = channels_[static_cast<size_t>(channel - 1)];
  ctx_.wire.out().publish(static_cast<uint16_t>(channel), out.exchange, out.routing_key, out.headers, out.body,
                          ctx_.session.frame_max());
  if (options_.confirms) {
    state.unconfirmed.emplace_back(++state.next_tag, std::move(out));
  } else if (!out.is_query) {
    // Resolved once the socket took the last byte of its frames (after_io).
    written_waiters_.emplace_back(ctx_.wire.bytes_queued(), out.id);
  }
}

void Producer::after_io() {
  const uint64_t sent = ctx_.wire.bytes_sent();
  while (!written_waiters_.empty() && written_waiters_.front().first <= sent) {
    ctx_.done(written_waiters_.front().second);
    written_waiters_.pop_front();
  }
}

bool Producer::accepting_commands() const { return ctx_.wire.output_backlog() < kOutHighWater; }

Clock::duration Producer::read_pause() const {
  // A burst of confirmed publishes (many in flight, as a sender keeping a window open has):
  // their confirms may wait a moment to be read together. Never while a query waits for its
  // reply, and never for a few publishes, whose senders may await each one.
  if (!options_.confirms || !pending_.empty()) return Clock::duration::zero();
  size_t in_flight = 0;
  for (const auto& state : channels_) in_flight += state.unconfirmed.size();
  return in_flight >= kCoalesceInFlight ? Clock::duration(kConfirmReadPause) : Clock::duration::zero();
}

// ---------------------------------------------------------------------------------------------
// Frames

void Producer::on_frame(const InFrame& frame) {
  if (frame.type == AMQP_FRAME_HEADER || frame.type == AMQP_FRAME_BODY) {
    ContentAssembler::Message message;
    if (!content_.feed(frame, &message)) return;
    if (message.method == AMQP_BASIC_DELIVER_METHOD && message.channel == control_channel()) on_reply(message);
    return;  // a basic.return (mandatory is never set) is dropped
  }
  if (frame.type != AMQP_FRAME_METHOD) return;
  switch (frame.method) {
    case AMQP_BASIC_ACK_METHOD: {
      auto* ack = static_cast<amqp_basic_ack_t*>(frame.decoded);
      handle_confirm(frame.channel, ack->delivery_tag, ack->multiple, true);
      break;
    }
    case AMQP_BASIC_NACK_METHOD: {
      auto* nack = static_cast<amqp_basic_nack_t*>(frame.decoded);
      handle_confirm(frame.channel, nack->delivery_tag, nack->multiple, false);
      break;
    }
    case AMQP_BASIC_DELIVER_METHOD: {
      auto* d = static_cast<amqp_basic_deliver_t*>(frame.decoded);
      ContentAssembler::Message m;
      m.channel = frame.channel;
      m.method = frame.method;
      m.exchange = string_of(d->exchange);
      m.routing_key = string_of(d->routing_key);
      m.delivery_tag = d->delivery_tag;
      content_.begin(std::move(m));
      break;
    }
    case AMQP_BASIC_RETURN_METHOD: {
      ContentAssembler::Message m;
      m.channel = frame.channel;
      m.method = frame.method;
      content_.begin(std::move(m));
      break;
    }
    case AMQP_BASIC_CANCEL_METHOD:
      if (frame.channel == control_channel()) ctx_.drop("the broker cancelled the reply queue consumer");
      break;
    default: break;
  }
}

void Producer::on_reply(const ContentAssembler::Message& message) {
  DeliveryRules rules;
  rules.zone = options_.zone;
  rules.server_id = options_.server_id;
  rules.received = static_cast<int64_t>(time(nullptr));
  rules.event_key = options_.event_key;
  rules.event_subkey = options_.event_subkey;
  DeliveryView view = augment_delivery(message.body, rules);
  if (view.valid && !view.msg_id.empty()) {
    if (auto entry = pending_.take(view.msg_id)) {
      Event event;
      event.type = EventType::Reply;
      event.id = entry->id;
      event.payload = std::move(view.payload);
      event.routing_key = message.routing_key;
      event.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - entry->started).count();
      ctx_.emit(std::move(event));
      return;
    }
  }
  // A late or unknown reply: the module delivers it as an ordinary consumer event.
  if (!options_.deliver_late_replies) return;
  Event event = delivery_event(message, std::move(view));
  event.sub_id = 0;
  ctx_.emit(std::move(event));
}

void Producer::on_blocked(bool blocked, const std::string& reason) { ctx_.blocked_event(blocked, reason); }

}  // namespace kazoo::core
