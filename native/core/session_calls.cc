// The broker round trips the producer and consumer roles use, each one Session::call() with its
// arguments filled in (see session.h). Encoding happens at once, so the strings need not outlive
// the call.
#include "core/session.h"

namespace kazoo::core {

void Session::channel_open(uint16_t channel, RpcDone done) {
  amqp_channel_open_t args;
  args.out_of_band = amqp_empty_bytes;
  call(channel, AMQP_CHANNEL_OPEN_METHOD, &args, std::move(done));
}

void Session::channel_close(uint16_t channel, RpcDone done) {
  amqp_channel_close_t args;
  args.reply_code = AMQP_REPLY_SUCCESS;
  args.reply_text = amqp_empty_bytes;
  args.class_id = 0;
  args.method_id = 0;
  call(channel, AMQP_CHANNEL_CLOSE_METHOD, &args, std::move(done));
}

void Session::confirm_select(uint16_t channel, RpcDone done) {
  amqp_confirm_select_t args;
  args.nowait = 0;
  call(channel, AMQP_CONFIRM_SELECT_METHOD, &args, std::move(done));
}

void Session::exchange_declare(uint16_t channel, const std::string& name, const std::string& type, bool passive,
                               bool durable, bool auto_delete, bool internal, RpcDone done) {
  amqp_exchange_declare_t args;
  args.ticket = 0;
  args.exchange = bytes_of(name);
  args.type = bytes_of(type);
  args.passive = passive;
  args.durable = durable;
  args.auto_delete = auto_delete;
  args.internal = internal;
  args.nowait = 0;
  args.arguments = amqp_empty_table;
  call(channel, AMQP_EXCHANGE_DECLARE_METHOD, &args, std::move(done));
}

void Session::exchange_delete(uint16_t channel, const std::string& name, RpcDone done) {
  amqp_exchange_delete_t args;
  args.ticket = 0;
  args.exchange = bytes_of(name);
  args.if_unused = 1;
  args.nowait = 0;
  call(channel, AMQP_EXCHANGE_DELETE_METHOD, &args, std::move(done));
}

void Session::exchange_bind(uint16_t channel, const std::string& destination, const std::string& source,
                            const std::string& key, bool unbind, RpcDone done) {
  if (unbind) {
    amqp_exchange_unbind_t args;
    args.ticket = 0;
    args.destination = bytes_of(destination);
    args.source = bytes_of(source);
    args.routing_key = bytes_of(key);
    args.nowait = 0;
    args.arguments = amqp_empty_table;
    call(channel, AMQP_EXCHANGE_UNBIND_METHOD, &args, std::move(done));
    return;
  }
  amqp_exchange_bind_t args;
  args.ticket = 0;
  args.destination = bytes_of(destination);
  args.source = bytes_of(source);
  args.routing_key = bytes_of(key);
  args.nowait = 0;
  args.arguments = amqp_empty_table;
  call(channel, AMQP_EXCHANGE_BIND_METHOD, &args, std::move(done));
}

void Session::queue_declare(uint16_t channel, const std::string& name, bool passive, bool durable, bool exclusive,
                            bool auto_delete, amqp_table_t arguments, RpcDone done) {
  amqp_queue_declare_t args;
  args.ticket = 0;
  args.queue = bytes_of(name);
  args.passive = passive;
  args.durable = durable;
  args.exclusive = exclusive;
  args.auto_delete = auto_delete;
  args.nowait = 0;
  args.arguments = arguments;
  call(channel, AMQP_QUEUE_DECLARE_METHOD, &args, std::move(done));
}

void Session::queue_delete(uint16_t channel, const std::string& name, RpcDone done) {
  amqp_queue_delete_t args;
  args.ticket = 0;
  args.queue = bytes_of(name);
  // if-unused and if-empty: a message that reached it meanwhile is kept rather than deleted.
  args.if_unused = 1;
  args.if_empty = 1;
  args.nowait = 0;
  call(channel, AMQP_QUEUE_DELETE_METHOD, &args, std::move(done));
}

void Session::queue_bind(uint16_t channel, const std::string& queue, const std::string& exchange,
                         const std::string& key, bool unbind, RpcDone done) {
  if (unbind) {
    amqp_queue_unbind_t args;
    args.ticket = 0;
    args.queue = bytes_of(queue);
    args.exchange = bytes_of(exchange);
    args.routing_key = bytes_of(key);
    args.arguments = amqp_empty_table;
    call(channel, AMQP_QUEUE_UNBIND_METHOD, &args, std::move(done));
    return;
  }
  amqp_queue_bind_t args;
  args.ticket = 0;
  args.queue = bytes_of(queue);
  args.exchange = bytes_of(exchange);
  args.routing_key = bytes_of(key);
  args.nowait = 0;
  args.arguments = amqp_empty_table;
  call(channel, AMQP_QUEUE_BIND_METHOD, &args, std::move(done));
}

void Session::basic_qos(uint16_t channel, uint16_t prefetch, RpcDone done) {
  amqp_basic_qos_t args;
  args.prefetch_size = 0;
  args.prefetch_count = prefetch;
  args.global = 0;
  call(channel, AMQP_BASIC_QOS_METHOD, &args, std::move(done));
}

void Session::basic_consume(uint16_t channel, const std::string& queue, bool exclusive, bool no_ack, RpcDone done) {
  amqp_basic_consume_t args;
  args.ticket = 0;
  args.queue = bytes_of(queue);
  args.consumer_tag = amqp_empty_bytes;
  args.no_local = 0;
  args.no_ack = no_ack;
  args.exclusive = exclusive;
  args.nowait = 0;
  args.arguments = amqp_empty_table;
  call(channel, AMQP_BASIC_CONSUME_METHOD, &args, std::move(done));
}

void Session::basic_cancel(uint16_t channel, const std::string& consumer_tag, RpcDone done) {
  amqp_basic_cancel_t args;
  args.consumer_tag = bytes_of(consumer_tag);
  args.nowait = 0;
  call(channel, AMQP_BASIC_CANCEL_METHOD, &args, std::move(done));
}

}  // namespace kazoo::core
