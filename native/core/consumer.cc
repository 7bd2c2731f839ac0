// The consumer role (see consumer.h): subscription declarations as round-trip chains with
// rollback, deliveries, settles, unsubscribe and broker-side cancels.
#include "core/consumer.h"

#include <algorithm>
#include <ctime>

#include "core/payload/kazoo_payload.h"

namespace kazoo::core {

namespace {
constexpr size_t kOutHighWater = 8u << 20;
// While deliveries stream in, the acks of finished handlers are held back this long (or until
// half the prefetch is unacked) and leave as one basic.ack with multiple=true: every ack frame
// sent on loopback wakes the broker and both of our threads, which on a virtual machine costs
// more than the frame. Held acks only delay the broker's bookkeeping, never a delivery: the
// broker keeps delivering while more than half of the prefetch is free.
constexpr auto kAckHold = std::chrono::milliseconds(5);
// Deliveries closer together than this are a stream: the loop turns for them anyway, so JS
// settles do not wake it (Role::defer_command_wakeups).
constexpr auto kStreamGap = std::chrono::milliseconds(2);
}  // namespace

struct Consumer::Declaration {
  uint32_t sub_id = 0;
  uint64_t generation = 0;
  uint16_t channel = 0;
  bool after_reconnect = false;
  std::vector<std::function<void(const std::shared_ptr<Declaration>&)>> steps;
  size_t next = 0;
  // What this declaration created, undone in reverse if a later step is refused, so that a
  // failed subscribe leaves no exchange, queue or binding behind.
  std::shared_ptr<std::vector<std::function<void(RpcDone)>>> undo =
      std::make_shared<std::vector<std::function<void(RpcDone)>>>();
  std::string queue_name, consumer_tag;
};

void Consumer::on_open(bool after_reconnect) {
  open_ = true;
  for (auto& [sub_id, state] : subs_) declare(sub_id, after_reconnect);
}

uint16_t Consumer::allocate_channel() {
  const int channel_max = ctx_.session.channel_max();
  for (int ch = 1; ch <= channel_max; ++ch) {
    if (used_channels_.insert(static_cast<uint16_t>(ch)).second) return static_cast<uint16_t>(ch);
  }
  return 0;
}

void Consumer::declare(uint32_t sub_id, bool after_reconnect) {
  State& state = subs_[sub_id];
  auto d = std::make_shared<Declaration>();
  d->sub_id = sub_id;
  d->generation = state.generation;
  d->after_reconnect = after_reconnect;
  d->channel = allocate_channel();
  if (d->channel == 0) {
    give_up(
        d, make_failure(ErrorCode::BrokerRefused, "kazoo: no channel left for this subscription (broker channel_max)"));
    return;
  }
  state.declaring = true;
  const Subscription& sub = state.sub;
  Session& s = ctx_.session;
  const uint16_t ch = d->channel;
  using DP = std::shared_ptr<Declaration>;
  // A plain round trip: on success, `after` may record an undo step, then the chain goes on.
  auto call = [this, ch](std::function<void(RpcDone)> request,
                         std::function<void(Declaration&, const RpcResult&)> after = nullptr) {
    return [this, request, after](const DP& d) {
      request([this, d, after](const RpcResult& r) {
        if (!r.ok) return give_up(d, r.failure);
        if (after) after(*d, r);
        run(d);
      });
    };
  };
  // Passive probe: does it exist already? A 404 closes the channel, which is opened again.
  auto probe = [this, ch, &s](bool exchange, std::string name, std::shared_ptr<bool> found) {
    return [this, ch, exchange, name, found](const DP& d) {
      RpcDone done = [this, d, found](const RpcResult& r) {
        if (r.ok) {
          *found = true;
          return run(d);
        }
        if (r.failure.reply_code != 404) return give_up(d, r.failure);
        *found = false;
        ctx_.session.channel_open(d->channel, [this, d](const RpcResult& reopened) {
          if (!reopened.ok) return give_up(d, reopened.failure);
          run(d);
        });
      };
      if (exchange) ctx_.session.exchange_declare(ch, name, "", true, false, false, false, std::move(done));
      else ctx_.session.queue_declare(ch, name, true, false, false, false, amqp_empty_table, std::move(done));
    };
  };
  (void)s;
  d->steps.push_back(call([this, ch](RpcDone done) { ctx_.session.channel_open(ch, std::move(done)); }));
  if (!sub.exchange.empty()) {
    auto existed = std::make_shared<bool>(true);
    if (!sub.exchange_passive) d->steps.push_back(probe(true, sub.exchange, existed));
    d->steps.push_back(call(
        [this, ch, sub](RpcDone done) {
          ctx_.session.exchange_declare(ch, sub.exchange, sub.exchange_type, sub.exchange_passive, sub.exchange_durable,
                                        sub.exchange_auto_delete, sub.exchange_internal, std::move(done));
        },
        [this, ch, existed, name = sub.exchange](Declaration& decl, const RpcResult&) {
          if (!*existed)
            decl.undo->push_back(
                [this, ch, name](RpcDone done) { ctx_.session.exchange_delete(ch, name, std::move(done)); });
        }));
    // Every exchange binding, not only the first (the module leaks the rest).
    for (const auto& binding : sub.exchange_bindings) {
      auto source_existed = std::make_shared<bool>(true);
      if (!binding.passive) d->steps.push_back(probe(true, binding.source, source_existed));
      d->steps.push_back(call(
          [this, ch, binding](RpcDone done) {
            ctx_.session.exchange_declare(ch, binding.source, binding.type, binding.passive, binding.durable,
                                          binding.auto_delete, binding.internal, std::move(done));
          },
          [this, ch, source_existed, name = binding.source](Declaration& decl, const RpcResult&) {
            if (!*source_existed)
              decl.undo->push_back(
                  [this, ch, name](RpcDone done) { ctx_.session.exchange_delete(ch, name, std::move(done)); });
          }));
      for (const auto& key : binding.routing) {
        d->steps.push_back(
            call([this, ch, dest = sub.exchange, source = binding.source,
                  key](RpcDone done) { ctx_.session.exchange_bind(ch, dest, source, key, false, std::move(done)); },
                 [this, ch, dest = sub.exchange, source = binding.source, key](Declaration& decl, const RpcResult&) {
                   decl.undo->push_back([this, ch, dest, source, key](RpcDone done) {
                     ctx_.session.exchange_bind(ch, dest, source, key, true, std::move(done));
                   });
                 }));
      }
    }
  }
  auto queue_existed = std::make_shared<bool>(!sub.queue.empty());
  if (!sub.queue.empty() && !sub.queue_passive) d->steps.push_back(probe(false, sub.queue, queue_existed));
  d->steps.push_back(call(
      [this, ch, sub](RpcDone done) {
        std::vector<amqp_table_entry_t> args(sub.queue_arguments.size());
        for (size_t i = 0; i < args.size(); ++i) {
          const auto& a = sub.queue_arguments[i];
          args[i].key = bytes_of(a.key);
          if (a.is_int) {
            args[i].value.kind = AMQP_FIELD_KIND_I64;
            args[i].value.value.i64 = a.integer;
          } else {
            args[i].value.kind = AMQP_FIELD_KIND_UTF8;
            args[i].value.value.bytes = bytes_of(a.text);
          }
        }
        amqp_table_t table{static_cast<int>(args.size()), args.empty() ? nullptr : args.data()};
        ctx_.session.queue_declare(ch, sub.queue, sub.queue_passive, sub.queue_durable, sub.queue_exclusive,
                                   sub.queue_auto_delete, table, std::move(done));
      },
      [this, ch, queue_existed](Declaration& decl, const RpcResult& r) {
        decl.queue_name = string_of(static_cast<amqp_queue_declare_ok_t*>(r.decoded)->queue);
        if (!*queue_existed)
          decl.undo->push_back([this, ch, name = decl.queue_name](RpcDone done) {
            ctx_.session.queue_delete(ch, name, std::move(done));
          });
      }));
  if (!sub.exchange.empty()) {
    for (const auto& key : sub.routing) {
      d->steps.push_back([this, ch, exchange = sub.exchange, key](const DP& decl) {
        ctx_.session.queue_bind(
            ch, decl->queue_name, exchange, key, false, [this, decl, ch, exchange, key](const RpcResult& r) {
              if (!r.ok) return give_up(decl, r.failure);
              decl->undo->push_back([this, ch, queue = decl->queue_name, exchange, key](RpcDone done) {
                ctx_.session.queue_bind(ch, queue, exchange, key, true, std::move(done));
              });
              run(decl);
            });
      });
    }
  }
  // Every subscription consumes with manual acks and a prefetch, no_ack: 1 included (lib/ acks
  // those when their handler starts): nothing piles up without bound between broker and handlers.
  const auto prefetch = static_cast<uint16_t>(sub.prefetch);
  d->steps.push_back(
      call([this, ch, prefetch](RpcDone done) { ctx_.session.basic_qos(ch, prefetch, std::move(done)); }));
  d->steps.push_back([this, ch](const DP& decl) {
    ctx_.session.basic_consume(ch, decl->queue_name, false, false, [this, decl](const RpcResult& r) {
      if (!r.ok) return give_up(decl, r.failure);
      decl->consumer_tag = string_of(static_cast<amqp_basic_consume_ok_t*>(r.decoded)->consumer_tag);
      declared(decl);
    });
  });
  run(d);
}

void Consumer::run(const std::shared_ptr<Declaration>& d) {
  auto it = subs_.find(d->sub_id);
  if (it == subs_.end() || it->second.generation != d->generation) {
    // Unsubscribed meanwhile: closing the channel cancels whatever was consumed on it.
    close_channel(d->channel, 0);
    return;
  }
  if (d->next >= d->steps.size()) return;
  auto step = d->steps[d->next++];
  step(d);
}

void Consumer::declared(const std::shared_ptr<Declaration>& d) {
  auto it = subs_.find(d->sub_id);
  if (it == subs_.end() || it->second.generation != d->generation) {
    close_channel(d->channel, 0);
    return;
  }
  State& state = it->second;
  state.declaring = false;
  state.channel = d->channel;
  state.queue_name = d->queue_name;
  state.consumer_tag = d->consumer_tag;
  state.epoch = ++next_epoch_;
  state.unsettled.clear();  // the new channel numbers its deliveries from 1
  channel_to_sub_[d->channel] = d->sub_id;
  Event event;
  event.type = EventType::Subscribed;
  event.sub_id = d->sub_id;
  event.queue = state.queue_name;
  event.epoch = state.epoch;
  event.after_reconnect = d->after_reconnect;
  ctx_.emit(std::move(event));
}

void Consumer::give_up(const std::shared_ptr<Declaration>& d, const Failure& failure) {
  if (d->channel != 0) {
    if (failure.reply_code == 0) close_channel(d->channel, 0);    // still open: nothing was refused
    else if (d->undo->empty()) used_channels_.erase(d->channel);  // the refusal closed it
    else roll_back(d->channel, d->undo);
  }
  auto it = subs_.find(d->sub_id);
  if (it == subs_.end() || it->second.generation != d->generation) return;
  it->second.declaring = false;
  // A first subscribe that is refused is dropped; a re-declare that is refused stays, to be
  // tried again on the next connection.
  if (!d->after_reconnect) subs_.erase(it);
  Event event;
  event.type = EventType::SubFail;
  event.sub_id = d->sub_id;
  event.error = failure;
  ctx_.emit(std::move(event));
}

void Consumer::roll_back(uint16_t channel, std::shared_ptr<std::vector<std::function<void(RpcDone)>>> undo) {
  // Reopen (the refusal closed the channel), undo in reverse ignoring refusals (each one closes
  // the channel again, so it is reopened), then close and release the channel.
  auto index = std::make_shared<size_t>(undo->size());
  auto next = std::make_shared<std::function<void()>>();
  *next = [this, channel, undo, index, next]() {
    if (*index == 0) {
      close_channel(channel, 0);
      *next = nullptr;  // break the self-reference
      return;
    }
    --*index;
    (*undo)[*index]([this, channel, next](const RpcResult& r) {
      if (r.ok) return (*next)();
      ctx_.session.channel_open(channel, [next](const RpcResult&) { (*next)(); });
    });
  };
  ctx_.session.channel_open(channel, [this, channel, next](const RpcResult& r) {
    if (!r.ok) {
      used_channels_.erase(channel);
      *next = nullptr;
      return;
    }
    (*next)();
  });
}

void Consumer::close_channel(uint16_t channel, uint32_t done_id) {
  channel_to_sub_.erase(channel);
  ctx_.session.channel_close(channel, [this, channel, done_id](const RpcResult&) {
    // Only now may the number be reused: every delivery of the old consumer is behind us.
    used_channels_.erase(channel);
    if (done_id != 0) {
      for (auto it = unsubscribes_waiting_.begin(); it != unsubscribes_waiting_.end(); ++it) {
        if (*it == done_id) {
          unsubscribes_waiting_.erase(it);
          break;
        }
      }
      ctx_.done(done_id);
    }
  });
}

void Consumer::on_command(Command& command) {
  switch (command.type) {
    case CommandType::Subscribe: {
      State state;
      state.sub = std::move(*command.subscription);
      state.generation = ++next_generation_;
      subs_[command.sub_id] = std::move(state);
      if (open_) declare(command.sub_id, false);
      return;
    }
    case CommandType::Unsubscribe: {
      auto it = subs_.find(command.sub_id);
      uint16_t channel = it != subs_.end() && open_ ? it->second.channel : 0;
      // Acks held for it leave before its channel closes (else the broker would requeue them).
      if (channel != 0) send_acks(it->second);
      if (it != subs_.end()) subs_.erase(it);
      if (channel == 0) {
        ctx_.done(command.id);
        return;
      }
      // Deliveries still arriving on this channel are dropped from now on (the close hands them
      // back to the broker); the promise resolves once the broker confirmed the close.
      unsubscribes_waiting_.push_back(command.id);
      close_channel(channel, command.id);
      return;
    }
    case CommandType::Settle: {
      if (command.settles)
        for (const SettleItem& item : *command.settles) settle(item);
      // The acks of one command (one JS turn) leave together, as few frames as the tags allow,
      // now or, while deliveries stream in, with later ones (send_due_acks).
      send_due_acks(Clock::now(), !deferring_);
      return;
    }
    default:
      ctx_.fail(command.id,
                make_failure(ErrorCode::InvalidArgument, "kazoo: internal: publish sent to a consumer connection"));
  }
}

void Consumer::settle(const SettleItem& item) {
  auto it = subs_.find(item.sub_id);
  // A tag from an earlier channel incarnation would make the broker close the channel (406);
  // that delivery was already requeued when its channel went away.
  if (!open_ || it == subs_.end() || it->second.channel == 0 || it->second.epoch != item.epoch) return;
  State& state = it->second;
  if (item.ack) {
    // Held at least until the end of the command, so that consecutive acks can share one frame.
    if (state.acks.empty()) {
      acking_.push_back(item.sub_id);
      state.acks_since = Clock::now();
    }
    state.acks.push_back(item.delivery_tag);
    return;
  }
  // A nack goes out at once, after the acks that came before it (the order JS settled them in).
  send_acks(state);
  state.unsettled.settle(item.delivery_tag);
  ctx_.wire.out().nack(state.channel, item.delivery_tag, item.requeue);
}

void Consumer::send_acks(State& state) {
  if (state.acks.empty()) return;
  // Only tags whose handler finished are in `acks`. basic.ack with multiple=true acks every
  // unacked delivery up to its tag, so it may cover only tags below the lowest one still
  // unsettled (running, waiting in a lane, or never settled); the others are acked one by one.
  // A tag that was not unsettled (settled twice) keeps its own frame, as before batching.
  size_t single = 0;
  for (uint64_t& tag : state.acks) {
    if (!state.unsettled.settle(tag)) {
      ctx_.wire.out().ack(state.channel, tag);
      tag = 0;
    }
  }
  const uint64_t lowest = state.unsettled.lowest();
  uint64_t below = 0;
  size_t below_count = 0;
  for (uint64_t tag : state.acks) {
    if (tag == 0) continue;
    if (tag < lowest) {
      below = std::max(below, tag);
      ++below_count;
    } else {
      ++single;
    }
  }
  if (below_count != 0) ctx_.wire.out().ack(state.channel, below, below_count > 1);
  if (single != 0) {
    for (uint64_t tag : state.acks)
      if (tag != 0 && tag >= lowest) ctx_.wire.out().ack(state.channel, tag);
  }
  state.acks.clear();
}

void Consumer::send_due_acks(Clock::time_point now, bool all) {
  for (auto id = acking_.begin(); id != acking_.end();) {
    auto it = subs_.find(*id);
    if (it == subs_.end() || it->second.acks.empty()) {
      id = acking_.erase(id);
      continue;
    }
    State& state = it->second;
    // A no_ack: 1 subscription promises at most once: its acks (sent when a handler starts)
    // are never held, so that a lost connection brings back as few started messages as it can.
    if (all || closing_ || state.sub.no_ack || credit_low(state) || now - state.acks_since >= kAckHold) {
      send_acks(state);
      id = acking_.erase(id);
      continue;
    }
    ++id;
  }
}

bool Consumer::credit_low(const State& state) {
  // unsettled counts every tag the broker sees unacked: with handlers, waiting in a lane, or
  // settled by JS with its ack still held here.
  return state.sub.prefetch > 0 && state.unsettled.size() * 2 >= static_cast<size_t>(state.sub.prefetch);
}

bool Consumer::streaming(Clock::time_point now) const {
  // amqp_consumer_read_window_ms 0 turns all of it off: reads, acks and wake-ups at once.
  if (options_.consumer_read_window_ms == 0) return false;
  if (!open_ || closing_ || now - last_delivery_ >= kStreamGap) return false;
  for (const auto& [sub_id, state] : subs_)
    if (state.channel != 0 && credit_low(state)) return false;
  return true;
}

void Consumer::note_deliveries(Clock::time_point now) {
  // deliver() only sets a flag: reading the clock once per loop turn is enough for a 2 ms gap.
  if (!delivered_) return;
  delivered_ = false;
  last_delivery_ = now;
}

bool Consumer::defer_command_wakeups(Clock::time_point now) {
  note_deliveries(now);
  deferring_ = streaming(now);
  return deferring_;
}

void Consumer::service(Clock::time_point now) {
  note_deliveries(now);
  if (!acking_.empty()) send_due_acks(now, !streaming(now));
}

bool Consumer::next_deadline(Clock::time_point* when) const {
  bool any = false;
  auto consider = [&](Clock::time_point t) {
    if (!any || t < *when) *when = t;
    any = true;
  };
  // While settles may be queued without a wake-up, the loop must turn by itself.
  if (deferring_) consider(last_delivery_ + kStreamGap);
  for (uint32_t sub_id : acking_) {
    auto it = subs_.find(sub_id);
    if (it != subs_.end() && !it->second.acks.empty()) consider(it->second.acks_since + kAckHold);
  }
  return any;
}

void Consumer::before_close() {
  closing_ = true;
  deferring_ = false;
  if (open_) send_due_acks(Clock::now(), true);
}

Clock::duration Consumer::read_pause() const {
  // Only inside a stream (deliveries less than kStreamGap apart, every subscription with credit
  // to spare): a delivery then waits at most the window. The first one after a pause is read
  // at once, and so is everything while a subscription is short of credit.
  if (!deferring_) return Clock::duration::zero();
  return std::chrono::milliseconds(options_.consumer_read_window_ms);
}

void Consumer::on_command_offline(Command& command) { on_command(command); }

bool Consumer::accepting_commands() const { return ctx_.wire.output_backlog() < kOutHighWater; }

void Consumer::on_frame(const InFrame& frame) {
  if (frame.type == AMQP_FRAME_HEADER || frame.type == AMQP_FRAME_BODY) {
    ContentAssembler::Message message;
    if (content_.feed(frame, &message) && message.method == AMQP_BASIC_DELIVER_METHOD) deliver(message);
    return;
  }
  if (frame.type != AMQP_FRAME_METHOD) return;
  if (frame.method == AMQP_BASIC_DELIVER_METHOD || frame.method == AMQP_BASIC_RETURN_METHOD) {
    ContentAssembler::Message m;
    m.channel = frame.channel;
    m.method = frame.method;
    if (frame.method == AMQP_BASIC_DELIVER_METHOD) {
      auto* d = static_cast<amqp_basic_deliver_t*>(frame.decoded);
      m.exchange = string_of(d->exchange);
      m.routing_key = string_of(d->routing_key);
      m.delivery_tag = d->delivery_tag;
      m.redelivered = d->redelivered != 0;
    }
    content_.begin(std::move(m));
    return;
  }
  if (frame.method == AMQP_BASIC_CANCEL_METHOD) {
    // The broker cancelled a consumer (its queue was deleted): tell JS, do not resurrect it.
    auto found = channel_to_sub_.find(frame.channel);
    if (found == channel_to_sub_.end()) return;
    const uint32_t sub_id = found->second;
    Event event;
    event.type = EventType::SubFail;
    event.sub_id = sub_id;
    event.error = make_failure(ErrorCode::ChannelClosed,
                               "kazoo: the broker cancelled the consumer of queue " + subs_[sub_id].queue_name);
    ctx_.emit(std::move(event));
    subs_.erase(sub_id);
    close_channel(frame.channel, 0);
  }
}

void Consumer::deliver(const ContentAssembler::Message& message) {
  auto found = channel_to_sub_.find(message.channel);
  if (found == channel_to_sub_.end()) return;  // cancelled: the channel close requeues it
  State& state = subs_[found->second];
  DeliveryRules rules;
  rules.zone = options_.zone;
  rules.server_id = options_.server_id;
  rules.received = static_cast<int64_t>(time(nullptr));
  rules.event_key = state.sub.event_key;
  rules.event_subkey = state.sub.event_subkey;
  rules.worker_key_field = state.sub.consistent_worker_key;
  Event event = delivery_event(message, augment_delivery(message.body, rules));
  event.sub_id = found->second;
  event.epoch = state.epoch;
  event.delivery_tag = message.delivery_tag;
  state.unsettled.delivered(message.delivery_tag);
  delivered_ = true;
  ctx_.emit(std::move(event));
}

void Consumer::on_channel_closed(uint16_t channel, const Failure& failure) {
  used_channels_.erase(channel);  // the session answered close-ok already
  auto found = channel_to_sub_.find(channel);
  if (found == channel_to_sub_.end()) return;
  auto state = subs_.find(found->second);
  if (state != subs_.end()) {
    state->second.channel = 0;
    state->second.unsettled.clear();  // the broker requeued them with the channel
    state->second.acks.clear();       // their tags mean nothing on a new channel
  }
  Event event;
  event.type = EventType::SubFail;
  event.sub_id = found->second;
  event.error = failure;
  ctx_.emit(std::move(event));
  channel_to_sub_.erase(found);
}

void Consumer::on_closed(const std::string& /*reason*/, bool /*stopping*/) {
  open_ = false;
  deferring_ = false;
  acking_.clear();
  content_.clear();
  channel_to_sub_.clear();
  used_channels_.clear();
  const Failure& refused = ctx_.session.broker_close();
  for (auto it = subs_.begin(); it != subs_.end();) {
    State& state = it->second;
    state.channel = 0;
    state.consumer_tag.clear();
    state.unsettled.clear();
    state.acks.clear();
    if (state.declaring && refused.reply_code != 0) {
      // Refused at connection level (e.g. 503 for an unknown exchange type): declaring it again
      // would kill every future connection too, so it is dropped and reported.
      Event event;
      event.type = EventType::SubFail;
      event.sub_id = it->first;
      event.error = refused;
      ctx_.emit(std::move(event));
      it = subs_.erase(it);
      continue;
    }
    state.declaring = false;
    ++it;
  }
  for (uint32_t id : unsubscribes_waiting_) ctx_.done(id);
  unsubscribes_waiting_.clear();
}

void Consumer::finish() {
  for (uint32_t id : unsubscribes_waiting_) ctx_.done(id);
  unsubscribes_waiting_.clear();
}

}  // namespace kazoo::core
