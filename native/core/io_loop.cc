#include "core/io_loop.h"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace kazoo::core {
namespace {

amqp_bytes_t bytes_of(const std::string& s) {
  amqp_bytes_t b;
  b.len = s.size();
  b.bytes = const_cast<char*>(s.data());
  return b;
}

std::string string_of(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

int64_t ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

amqp_table_entry_t bool_entry(const char* key) {
  amqp_table_entry_t entry;
  entry.key = amqp_cstring_bytes(key);
  entry.value.kind = AMQP_FIELD_KIND_BOOLEAN;
  entry.value.value.boolean = 1;
  return entry;
}

Failure make_failure(const char* code, std::string message) {
  Failure f;
  f.code = code;
  f.message = std::move(message);
  return f;
}

// How many commands and frames one loop turn handles before it looks at the other side again:
// keeps confirms and deliveries flowing while JS publishes in a tight loop, and vice versa.
constexpr size_t kCommandBurst = 1024;
constexpr int kFrameBurst = 1024;
constexpr int kIdlePollMs = 1000;
constexpr int kCloseDrainMs = 2000;
constexpr int kFrameMax = 131072;
constexpr size_t kOutHighWater = 8u << 20;

}  // namespace

IoLoop::IoLoop(Connection& owner) : owner_(owner), options_(owner.options_) {
  identity_.app_name = options_.app_name;
  identity_.app_version = options_.app_version;
  identity_.node = "kamailio@" + options_.node_hostname;
  identity_fields_ = IdentityFields(identity_);
  for (int i = 0; i < options_.max_channels && !options_.consumer_role; ++i) {
    server_ids_.push_back(targeted_server_id(identity_.node, options_.server_id, i));
    server_id_members_.push_back(server_id_field(server_ids_.back()));
  }
  if (options_.consumer_role) {
    // Subscriptions only: their channels start at 1; no publish, probe or reply channels.
    control_channel_ = -1;
    probe_channel_ = 0;
  } else {
    control_channel_ = options_.max_channels + 1;
    probe_channel_ = options_.max_channels + 2;
  }
  reply_queue_ = identity_.node + "-<" + std::to_string(options_.server_id) + ">-targeted";
}

IoLoop::~IoLoop() {
  if (conn_ != nullptr) amqp_destroy_connection(conn_);
}

void IoLoop::run() {
  int delay_ms = options_.reconnect_min_ms;
  while (!stopping_) {
    std::string reason;
    if (connect_once(&reason)) {
      auto opened = Clock::now();
      serve();
      // Back off from the minimum again only after a connection that held; one the broker kills
      // right away (a refused re-declare, an overloaded broker) keeps backing off.
      if (ms_between(opened, Clock::now()) >= 1000) delay_ms = options_.reconnect_min_ms;
      teardown(lost_ ? lost_reason_ : std::string("closed by client"));
      if (stopping_) break;
    } else {
      Event event;
      event.type = EventType::Error;
      event.error = make_failure("CONNECT_FAILED", "kazoo: cannot connect to " + options_.host + ":" +
                                                       std::to_string(options_.port) + " (" + reason + ")");
      event.host = options_.host;
      emit(std::move(event));
      owner_.notify_if_needed();
    }
    if (stopping_) break;
    wait_disconnected(delay_ms);
    delay_ms = std::min(delay_ms * 2, options_.reconnect_max_ms);
  }
  finish();
}

// ---------------------------------------------------------------------------------------------
// Connection life cycle

bool IoLoop::connect_once(std::string* reason) {
  lost_ = false;
  lost_reason_.clear();
  conn_ = amqp_new_connection();
  amqp_socket_t* socket = nullptr;
  if (options_.tls) {
    socket = amqp_ssl_socket_new(conn_);
    if (socket != nullptr) {
      amqp_ssl_socket_set_verify_peer(socket, options_.verify_peer ? 1 : 0);
      amqp_ssl_socket_set_verify_hostname(socket, options_.verify_hostname ? 1 : 0);
      if (!options_.ca_cert.empty() && amqp_ssl_socket_set_cacert(socket, options_.ca_cert.c_str()) != AMQP_STATUS_OK) {
        *reason = "cannot load amqps_ca_cert";
        goto failed;
      }
      if (!options_.cert.empty() && !options_.key.empty() &&
          amqp_ssl_socket_set_key(socket, options_.cert.c_str(), options_.key.c_str()) != AMQP_STATUS_OK) {
        *reason = "cannot load amqps_cert / amqps_key";
        goto failed;
      }
    }
  } else {
    socket = amqp_tcp_socket_new(conn_);
  }
  if (socket == nullptr) {
    *reason = "cannot create socket";
    goto failed;
  }
  {
    timeval connect_timeout{options_.connect_timeout_ms / 1000, (options_.connect_timeout_ms % 1000) * 1000};
    int rc = amqp_socket_open_noblock(socket, options_.host.c_str(), options_.port, &connect_timeout);
    if (rc != AMQP_STATUS_OK) {
      *reason = amqp_error_string2(rc);
      goto failed;
    }
    // The module's login has no timeout (a stalled broker freezes it, spec 16.3 item 25); ours
    // and every later synchronous RPC are bounded.
    int handshake_ms = std::max(options_.connect_timeout_ms, 5000);
    timeval handshake{handshake_ms / 1000, (handshake_ms % 1000) * 1000};
    amqp_set_handshake_timeout(conn_, &handshake);
    timeval rpc{10, 0};
    amqp_set_rpc_timeout(conn_, &rpc);
    // Client properties: rabbitmq-c's defaults lack consumer_cancel_notify, without which the
    // broker never tells a consumer that its queue was deleted.
    amqp_table_entry_t capabilities[] = {
        bool_entry("consumer_cancel_notify"), bool_entry("publisher_confirms"), bool_entry("basic.nack"),
        bool_entry("exchange_exchange_bindings"), bool_entry("authentication_failure_close"),
        bool_entry("connection.blocked")};
    std::string connection_name = "kazoo-amqp " + identity_.node + (options_.consumer_role ? " consumer" : " producer");
    amqp_table_entry_t properties[3];
    properties[0].key = amqp_cstring_bytes("capabilities");
    properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[0].value.value.table = amqp_table_t{6, capabilities};
    properties[1].key = amqp_cstring_bytes("connection_name");
    properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[1].value.value.bytes = bytes_of(connection_name);
    properties[2].key = amqp_cstring_bytes("product");
    properties[2].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[2].value.value.bytes = amqp_cstring_bytes("kazoo-amqp");
    amqp_table_t client_properties{3, properties};
    amqp_rpc_reply_t login = amqp_login_with_properties(conn_, options_.vhost.c_str(), 0, kFrameMax,
                                                        options_.heartbeat_sec, &client_properties,
                                                        AMQP_SASL_METHOD_PLAIN, options_.user.c_str(),
                                                        options_.password.c_str());
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
      if (login.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
          login.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* close = static_cast<amqp_connection_close_t*>(login.reply.decoded);
        *reason = "login refused: " + std::to_string(close->reply_code) + " " + string_of(close->reply_text);
      } else if (login.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        *reason = std::string("login failed: ") + amqp_error_string2(login.library_error);
      } else {
        *reason = "login failed";
      }
      goto failed;
    }
  }
  connected_ = true;
  blocked_ = false;
  raw_writes_ = !options_.tls;
  frame_max_ = static_cast<uint32_t>(amqp_get_frame_max(conn_));
  out_.clear();
  last_recv_ = last_heartbeat_sent_ = Clock::now();
  if (!setup_channels(reason)) {
    connected_ = false;
    goto failed;
  }
  emit_connection_event(true, "");
  {
    // Re-declare every subscription made so far (after a reconnect, or made before connecting).
    bool after_reconnect = ever_connected_;
    ever_connected_ = true;
    for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
      Failure failure;
      if (declare_subscription(it->second, after_reconnect, &failure)) {
        ++it;
        continue;
      }
      Event event;
      event.type = EventType::SubFail;
      event.sub_id = it->first;
      event.error = failure;
      if (lost_ && failure.code != "BROKER_REFUSED") break;  // the connection died; retry later
      // Refused with a connection-level error (e.g. 503 unknown exchange type): re-declaring it
      // would kill every future connection too, so it is dropped and reported.
      bool fatal = lost_;
      if (fatal) it = subscriptions_.erase(it);
      else ++it;
      emit(std::move(event));
      if (fatal) break;
    }
  }
  owner_.notify_if_needed();
  return true;

failed:
  amqp_destroy_connection(conn_);
  conn_ = nullptr;
  return false;
}

bool IoLoop::setup_channels(std::string* reason) {
  if (options_.consumer_role) return true;
  int channel_max = amqp_get_channel_max(conn_);
  if (channel_max != 0 && channel_max < probe_channel_) {
    *reason = "broker channel_max " + std::to_string(channel_max) + " is below amqp_max_channels + 2";
    return false;
  }
  publish_channels_.assign(static_cast<size_t>(options_.max_channels), PublishChannel{});
  Failure failure;
  for (int ch = 1; ch <= options_.max_channels; ++ch) {
    if (!open_channel(ch, options_.confirms, &failure)) {
      *reason = failure.message;
      return false;
    }
    publish_channels_[static_cast<size_t>(ch - 1)].open = true;
  }
  if (!open_channel(probe_channel_, false, &failure) || !open_channel(control_channel_, false, &failure)) {
    *reason = failure.message;
    return false;
  }
  if (options_.primary && !setup_reply_queue(reason)) return false;
  return true;
}

bool IoLoop::setup_reply_queue(std::string* reason) {
  // Spec 9.1: the targeted direct exchange (non-durable, not auto-delete, as Kazoo declares it)
  // and a reply queue bound with every Server-ID this connection injects. One queue with N
  // bindings replaces the module's N queues: Kazoo only echoes the key, so any bound key works.
  Failure failure;
  amqp_exchange_declare(conn_, control_channel_, amqp_cstring_bytes("targeted"), amqp_cstring_bytes("direct"), 0, 0,
                        0, 0, amqp_empty_table);
  if (!rpc_ok(amqp_get_rpc_reply(conn_), control_channel_, "declare exchange targeted", &failure)) {
    *reason = failure.message;
    return false;
  }
  amqp_queue_declare(conn_, control_channel_, bytes_of(reply_queue_), 0, 0, 0, 1, amqp_empty_table);
  if (!rpc_ok(amqp_get_rpc_reply(conn_), control_channel_, "declare reply queue", &failure)) {
    *reason = failure.message;
    return false;
  }
  for (int i = 0; i < options_.max_channels; ++i) {
    std::string key = targeted_server_id(identity_.node, options_.server_id, i);
    amqp_queue_bind(conn_, control_channel_, bytes_of(reply_queue_), amqp_cstring_bytes("targeted"), bytes_of(key),
                    amqp_empty_table);
    if (!rpc_ok(amqp_get_rpc_reply(conn_), control_channel_, "bind reply queue", &failure)) {
      *reason = failure.message;
      return false;
    }
  }
  amqp_basic_consume(conn_, control_channel_, bytes_of(reply_queue_), amqp_empty_bytes, 0, 1, 0, amqp_empty_table);
  if (!rpc_ok(amqp_get_rpc_reply(conn_), control_channel_, "consume reply queue", &failure)) {
    *reason = failure.message;
    return false;
  }
  return true;
}

void IoLoop::serve() {
  const int sock = amqp_get_sockfd(conn_);
  while (!stopping_ && !lost_) {
    owner_.wake_pending_.store(false, std::memory_order_seq_cst);
    bool more_commands = process_commands(kCommandBurst);
    if (!lost_) flush_out(false);
    if (stopping_ || lost_) break;
    bool more_frames = read_frames();
    if (lost_) break;
    service_timers();
    owner_.notify_if_needed();
    if (lost_ || stopping_) break;
    if (more_commands || more_frames || amqp_frames_enqueued(conn_) || amqp_data_in_buffer(conn_)) continue;

    const short sock_events = static_cast<short>(out_.empty() ? POLLIN : (POLLIN | POLLOUT));
    pollfd fds[2] = {{sock, sock_events, 0}, {owner_.wake_fd_, POLLIN, 0}};
    int rc = poll(fds, 2, poll_timeout_ms());
    if (rc < 0 && errno != EINTR) {
      mark_lost("poll failed");
      break;
    }
    socket_readable_ = rc > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR));
    if (rc > 0 && (fds[0].revents & POLLOUT) && !flush_out(false)) break;
    if (rc > 0 && (fds[1].revents & POLLIN)) {
      uint64_t count;
      ssize_t ignored = read(owner_.wake_fd_, &count, sizeof count);
      (void)ignored;
    }
  }
  if (!lost_) flush_out();
  if (stopping_ && !lost_) drain_confirms_before_close();
}

void IoLoop::drain_confirms_before_close() {
  // close() should not throw away publishes the broker is about to confirm: give them a bounded
  // moment, reading frames only (no new commands are taken once stopping).
  auto deadline = Clock::now() + std::chrono::milliseconds(kCloseDrainMs);
  auto outstanding = [this] {
    for (auto& ch : publish_channels_)
      if (!ch.unconfirmed.empty()) return true;
    return false;
  };
  const int sock = amqp_get_sockfd(conn_);
  while (!lost_ && outstanding() && Clock::now() < deadline) {
    pollfd fd{sock, POLLIN, 0};
    if (!amqp_frames_enqueued(conn_) && !amqp_data_in_buffer(conn_)) {
      if (poll(&fd, 1, 50) <= 0) continue;
    }
    socket_readable_ = true;
    read_frames();
    owner_.notify_if_needed();
  }
}

void IoLoop::teardown(const std::string& reason) {
  // Publishes the broker never confirmed: their fate is unknown, say so rather than drop them.
  for (auto& ch : publish_channels_) {
    for (auto& u : ch.unconfirmed) {
      if (u.is_query) continue;  // failed with every other pending query below
      fail(u.id, make_failure(stopping_ ? "CLOSED" : "CONNECTION_LOST",
                              stopping_ ? "kazoo: client closed before the broker confirmed this publish"
                                        : "kazoo: connection lost before the broker confirmed this publish (" +
                                              reason + ")"));
    }
    ch.unconfirmed.clear();
    ch.open = false;
  }
  // The reply queue is auto-delete and goes with this connection: no pending reply can arrive.
  if (!stopping_) {
    pending_.drain([&](const PendingQueries::Entry& entry) {
      fail(entry.id, make_failure("CONNECTION_LOST", "kazoo: connection lost while the query waited for its reply (" +
                                                         reason + ")"));
    });
  }
  known_exchanges_.clear();
  for (auto& [sub_id, state] : subscriptions_) {
    state.channel = 0;
    state.consumer_tag.clear();
  }
  channel_to_sub_.clear();
  used_sub_channels_.clear();
  if (conn_ != nullptr) {
    if (!lost_) flush_out();
    if (!lost_) amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
  }
  connected_ = false;
  emit_connection_event(false, reason);
  owner_.notify_if_needed();
}

void IoLoop::wait_disconnected(int delay_ms) {
  auto until = Clock::now() + std::chrono::milliseconds(delay_ms);
  while (!stopping_) {
    owner_.wake_pending_.store(false, std::memory_order_seq_cst);
    Command command;
    while (!stopping_ && owner_.commands_.pop(command)) reject_while_disconnected(command);
    service_timers();  // query deadlines keep running while disconnected
    owner_.notify_if_needed();
    auto now = Clock::now();
    if (stopping_ || now >= until) return;
    int timeout = static_cast<int>(std::min<int64_t>(ms_between(now, until), poll_timeout_ms()));
    pollfd fd{owner_.wake_fd_, POLLIN, 0};
    if (poll(&fd, 1, std::max(timeout, 1)) > 0) {
      uint64_t count;
      ssize_t ignored = read(owner_.wake_fd_, &count, sizeof count);
      (void)ignored;
    }
  }
}

void IoLoop::reject_while_disconnected(Command& command) {
  switch (command.type) {
    case CommandType::Publish:
    case CommandType::Query:
      fail(command.id, make_failure("NOT_CONNECTED", "kazoo: not connected to " + options_.host + ":" +
                                                         std::to_string(options_.port) + " (reconnecting)"));
      break;
    case CommandType::Subscribe: {
      // Kept: it is declared as soon as the connection is back.
      SubscriptionState state;
      state.sub = std::move(*command.subscription);
      subscriptions_[command.sub_id] = std::move(state);
      break;
    }
    case CommandType::Unsubscribe:
      subscriptions_.erase(command.sub_id);
      done(command.id);
      break;
    case CommandType::Settle:
      break;  // the broker requeued the delivery when the channel went away
    case CommandType::Close:
      stopping_ = true;
      close_id_ = command.id;
      break;
  }
}

void IoLoop::finish() {
  // Commands that raced with close() are answered, never left hanging.
  Command command;
  while (owner_.commands_.pop(command)) {
    if (command.type == CommandType::Publish || command.type == CommandType::Query || command.type == CommandType::Subscribe)
      fail(command.id, make_failure("CLOSED", "kazoo: client is closed"));
    else if (command.type == CommandType::Unsubscribe || command.type == CommandType::Close)
      done(command.id);
  }
  pending_.drain([this](const PendingQueries::Entry& entry) {
    fail(entry.id, make_failure("CLOSED", "kazoo: client closed while the query was pending"));
  });
  done(close_id_);
  owner_.notify_if_needed();
}

// ---------------------------------------------------------------------------------------------
// Commands

bool IoLoop::process_commands(size_t limit) {
  Command command;
  for (size_t n = 0; n < limit; ++n) {
    if (stopping_ || lost_) return false;
    // The broker is not reading (flow control) and frames pile up: leave commands queued until
    // the socket drains; their promises stay pending, which is the back-pressure JS sees.
    if (out_.size() >= kOutHighWater) return false;
    if (!owner_.commands_.pop(command)) return false;
    handle_command(command);
  }
  return true;
}

void IoLoop::handle_command(Command& command) {
  switch (command.type) {
    case CommandType::Publish:
      handle_publish(command, false);
      break;
    case CommandType::Query:
      handle_publish(command, true);
      break;
    case CommandType::Subscribe:
      handle_subscribe(command);
      break;
    case CommandType::Unsubscribe:
      handle_unsubscribe(command);
      break;
    case CommandType::Settle:
      handle_settle(command);
      break;
    case CommandType::Close:
      stopping_ = true;
      close_id_ = command.id;
      break;
  }
}

void IoLoop::handle_publish(Command& command, bool is_query) {
  if (options_.consumer_role) {
    fail(command.id, make_failure("INVALID_ARGUMENT", "kazoo: internal: publish sent to a consumer connection"));
    return;
  }
  if (is_query && !options_.primary) {
    fail(command.id, make_failure("NOT_CONNECTED", "kazoo: queries go through primary-zone servers only"));
    return;
  }
  int channel = next_publish_channel();
  if (channel == 0) {
    fail(command.id, make_failure("NOT_CONNECTED", "kazoo: no open publish channel"));
    return;
  }
  PublishBody body;
  Failure failure;
  const size_t index = static_cast<size_t>(channel - 1);
  if (!build_publish_body(command.payload, identity_, server_ids_[index], &body, &failure, JsonRoute::Auto, {},
                          &identity_fields_, &server_id_members_[index])) {
    fail(command.id, failure);
    return;
  }
  if (is_query && body.msg_id.empty()) {
    // An empty (or null) Msg-ID can never be matched to a reply: refuse it instead of waiting.
    fail(command.id, make_failure("INVALID_ARGUMENT", "kazoo: payload Msg-ID must be a non-empty string for a query"));
    return;
  }
  if (is_query && pending_.contains(body.msg_id)) {
    fail(command.id,
         make_failure("INVALID_ARGUMENT", "kazoo: payload Msg-ID must be unique among pending queries, got \"" +
                                              body.msg_id + "\""));
    return;
  }
  if (!command.exchange.empty() && known_exchanges_.count(command.exchange) == 0) {
    // First publish to this exchange on this connection: a passive declare on the probe channel
    // turns "no such exchange" into a clean refusal of this publish, with nothing sent, instead
    // of a publish channel closed under later messages (spec 16.3 item 27).
    if (!check_exchange(command.exchange, &failure)) {
      if (!lost_) fail(command.id, failure);
      else fail(command.id, make_failure("CONNECTION_LOST", "kazoo: connection lost (" + lost_reason_ + ")"));
      return;
    }
  }

  auto& state = publish_channels_[static_cast<size_t>(channel - 1)];
  if (raw_writes_) {
    out_.publish(static_cast<uint16_t>(channel), command.exchange, command.routing_key, command.headers, body.body,
                 frame_max_);
    if (out_.size() >= (256u << 10) && !flush_out(false)) {
      fail(command.id, make_failure("CONNECTION_LOST", "kazoo: connection lost while publishing (" + lost_reason_ + ")"));
      return;
    }
  } else if (!publish_with_library(channel, command, body.body)) {
    fail(command.id, make_failure("CONNECTION_LOST", "kazoo: connection lost while publishing (" + lost_reason_ + ")"));
    return;
  }
  if (is_query) {
    pending_.insert(body.msg_id, command.id, command.queued_at, command.timeout_ms);
  }
  if (options_.confirms) {
    // The Msg-ID is kept only for queries (to fail them if the channel closes): copying a
    // 36-byte id per publish is a heap allocation on the hot path.
    state.unconfirmed.push_back(Unconfirmed{++state.next_tag, is_query ? 0u : command.id, is_query,
                                            is_query ? std::move(body.msg_id) : std::string()});
  } else if (!is_query) {
    done(command.id);
  }
}

bool IoLoop::publish_with_library(int channel, const Command& command, const std::string& body) {
  amqp_basic_properties_t props;
  std::memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  std::vector<amqp_table_entry_t> entries;
  if (!command.headers.empty()) {
    entries.resize(command.headers.size());
    for (size_t i = 0; i < command.headers.size(); ++i) {
      entries[i].key = bytes_of(command.headers[i].first);
      entries[i].value.kind = AMQP_FIELD_KIND_UTF8;  // 'S' long string, as the module sends
      entries[i].value.value.bytes = bytes_of(command.headers[i].second);
    }
    props._flags |= AMQP_BASIC_HEADERS_FLAG;
    props.headers.num_entries = static_cast<int>(entries.size());
    props.headers.entries = entries.data();
  }
  int rc = amqp_basic_publish(conn_, channel, bytes_of(command.exchange), bytes_of(command.routing_key), 0, 0, &props,
                              bytes_of(body));
  if (rc != AMQP_STATUS_OK) {
    mark_lost(std::string("publish failed: ") + amqp_error_string2(rc));
    return false;
  }
  return true;
}

int IoLoop::next_publish_channel() {
  const size_t n = publish_channels_.size();
  for (size_t tries = 0; tries < n; ++tries) {
    size_t index = round_robin_++ % n;
    if (publish_channels_[index].open) return static_cast<int>(index) + 1;
  }
  return 0;
}

bool IoLoop::check_exchange(const std::string& exchange, Failure* failure) {
  if (!flush_out()) {
    return false;
  }
  amqp_exchange_declare(conn_, probe_channel_, bytes_of(exchange), amqp_empty_bytes, 1, 0, 0, 0, amqp_empty_table);
  if (rpc_ok(amqp_get_rpc_reply(conn_), probe_channel_, "check exchange", failure)) {
    known_exchanges_.insert(exchange);
    return true;
  }
  if (!lost_) {
    Failure reopen;
    if (!open_channel(probe_channel_, false, &reopen)) mark_lost(reopen.message);
  }
  return false;
}

void IoLoop::handle_subscribe(Command& command) {
  flush_out();
  SubscriptionState state;
  state.sub = std::move(*command.subscription);
  auto [it, inserted] = subscriptions_.insert_or_assign(command.sub_id, std::move(state));
  Failure failure;
  if (!declare_subscription(it->second, false, &failure)) {
    // A dropped connection keeps the subscription for the re-declare; a refusal (even one the
    // broker made at connection level, like 503 for an unknown exchange type) drops it.
    if (lost_ && failure.code != "BROKER_REFUSED") return;
    subscriptions_.erase(it);
    Event event;
    event.type = EventType::SubFail;
    event.sub_id = command.sub_id;
    event.error = failure;
    emit(std::move(event));
  }
}

bool IoLoop::declare_subscription(SubscriptionState& state, bool after_reconnect, Failure* failure) {
  const Subscription& sub = state.sub;
  int channel = allocate_subscription_channel();
  if (channel == 0) {
    *failure = make_failure("BROKER_REFUSED", "kazoo: no channel left for this subscription (broker channel_max)");
    return false;
  }
  if (!open_channel(channel, false, failure)) {
    used_sub_channels_.erase(channel);
    return false;
  }
  // What this declaration created, undone in reverse if a later step is refused, so that a
  // failed subscribe leaves no exchange, queue or binding behind (nothing half-declared).
  std::vector<UndoStep> undo;
  auto give_up = [&](void) {
    // The refusal closed the channel (rpc_ok answered channel.close-ok already).
    if (!lost_) roll_back(channel, undo);
    used_sub_channels_.erase(channel);
    return false;
  };
  // Passive probe: does it exist already? A 404 closes the channel, which is then reopened.
  auto exists = [&](bool exchange, const std::string& name, bool* found) {
    if (exchange) amqp_exchange_declare(conn_, channel, bytes_of(name), amqp_empty_bytes, 1, 0, 0, 0, amqp_empty_table);
    else amqp_queue_declare(conn_, channel, bytes_of(name), 1, 0, 0, 0, amqp_empty_table);
    Failure probe;
    if (rpc_ok(amqp_get_rpc_reply(conn_), channel, "passive declare", &probe)) {
      *found = true;
      return true;
    }
    if (lost_ || probe.reply_code != 404) {
      *failure = probe;
      return false;
    }
    *found = false;
    return open_channel(channel, false, failure);
  };
  if (!sub.exchange.empty()) {
    bool existed = true;
    if (!sub.exchange_passive && !exists(true, sub.exchange, &existed)) return give_up();
    amqp_exchange_declare(conn_, channel, bytes_of(sub.exchange), bytes_of(sub.exchange_type), sub.exchange_passive,
                          sub.exchange_durable, sub.exchange_auto_delete, sub.exchange_internal, amqp_empty_table);
    if (!rpc_ok(amqp_get_rpc_reply(conn_), channel, "exchange.declare", failure)) return give_up();
    if (!existed) undo.push_back(UndoStep{UndoStep::DeleteExchange, sub.exchange, {}, {}});
    // Every exchange binding, not only the first (the module leaks the rest, spec 16.1 item 10).
    for (const auto& binding : sub.exchange_bindings) {
      bool source_existed = true;
      if (!binding.passive && !exists(true, binding.source, &source_existed)) return give_up();
      amqp_exchange_declare(conn_, channel, bytes_of(binding.source), bytes_of(binding.type), binding.passive,
                            binding.durable, binding.auto_delete, binding.internal, amqp_empty_table);
      if (!rpc_ok(amqp_get_rpc_reply(conn_), channel, "exchange.declare (binding source)", failure)) return give_up();
      if (!source_existed) undo.push_back(UndoStep{UndoStep::DeleteExchange, binding.source, {}, {}});
      for (const auto& key : binding.routing) {
        amqp_exchange_bind(conn_, channel, bytes_of(sub.exchange), bytes_of(binding.source), bytes_of(key),
                           amqp_empty_table);
        if (!rpc_ok(amqp_get_rpc_reply(conn_), channel, "exchange.bind", failure)) return give_up();
        undo.push_back(UndoStep{UndoStep::UnbindExchange, sub.exchange, binding.source, key});
      }
    }
  }
  bool queue_existed = !sub.queue.empty();
  if (!sub.queue.empty() && !sub.queue_passive && !exists(false, sub.queue, &queue_existed)) return give_up();
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
  amqp_queue_declare_ok_t* declared = amqp_queue_declare(conn_, channel, bytes_of(sub.queue), sub.queue_passive,
                                                         sub.queue_durable, sub.queue_exclusive, sub.queue_auto_delete,
                                                         table);
  if (!rpc_ok(amqp_get_rpc_reply(conn_), channel, "queue.declare", failure)) return give_up();
  state.queue_name = declared != nullptr ? string_of(declared->queue) : sub.queue;
  if (!queue_existed) undo.push_back(UndoStep{UndoStep::DeleteQueue, state.queue_name, {}, {}});
  if (!sub.exchange.empty()) {
    for (const auto& key : sub.routing) {
      amqp_queue_bind(conn_, channel, bytes_of(state.queue_name), bytes_of(sub.exchange), bytes_of(key),
                      amqp_empty_table);
      if (!rpc_ok(amqp_get_rpc_reply(conn_), channel, "queue.bind", failure)) return give_up();
      undo.push_back(UndoStep{UndoStep::UnbindQueue, state.queue_name, sub.exchange, key});
    }
  }
  {
    // Every subscription consumes with manual acks and a prefetch, no_ack: 1 included (lib/
    // acks those when their handler starts): broker auto-ack has no flow control at all, and
    // nothing may pile up without bound between the broker and the handlers.
    amqp_basic_qos(conn_, channel, 0, static_cast<uint16_t>(sub.prefetch), 0);
    if (!rpc_ok(amqp_get_rpc_reply(conn_), channel, "basic.qos", failure)) return give_up();
  }
  amqp_basic_consume_ok_t* consumed =
      amqp_basic_consume(conn_, channel, bytes_of(state.queue_name), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  if (!rpc_ok(amqp_get_rpc_reply(conn_), channel, "basic.consume", failure)) return give_up();
  state.consumer_tag = consumed != nullptr ? string_of(consumed->consumer_tag) : std::string();
  state.channel = channel;
  state.epoch++;
  for (auto& [id, candidate] : subscriptions_) {
    if (&candidate == &state) {
      channel_to_sub_[channel] = id;
      Event event;
      event.type = EventType::Subscribed;
      event.sub_id = id;
      event.queue = state.queue_name;
      event.epoch = state.epoch;
      event.after_reconnect = after_reconnect;
      emit(std::move(event));
      break;
    }
  }
  return true;
}

void IoLoop::roll_back(int channel, const std::vector<UndoStep>& undo) {
  if (undo.empty()) return;
  Failure ignored;
  if (!open_channel(channel, false, &ignored)) return;
  for (auto step = undo.rbegin(); step != undo.rend() && !lost_; ++step) {
    switch (step->kind) {
      case UndoStep::UnbindQueue:
        amqp_queue_unbind(conn_, channel, bytes_of(step->name), bytes_of(step->other), bytes_of(step->key),
                          amqp_empty_table);
        break;
      case UndoStep::UnbindExchange:
        amqp_exchange_unbind(conn_, channel, bytes_of(step->name), bytes_of(step->other), bytes_of(step->key),
                             amqp_empty_table);
        break;
      case UndoStep::DeleteQueue:
        // if-empty: a message that reached it meanwhile is kept rather than deleted with it.
        amqp_queue_delete(conn_, channel, bytes_of(step->name), 1, 1);
        break;
      case UndoStep::DeleteExchange:
        amqp_exchange_delete(conn_, channel, bytes_of(step->name), 1);
        break;
    }
    if (!rpc_ok(amqp_get_rpc_reply(conn_), channel, "roll back", &ignored)) {
      if (lost_ || !open_channel(channel, false, &ignored)) return;
    }
  }
  amqp_channel_close(conn_, static_cast<amqp_channel_t>(channel), AMQP_REPLY_SUCCESS);
  rpc_ok(amqp_get_rpc_reply(conn_), channel, "channel.close", &ignored);
}

int IoLoop::allocate_subscription_channel() {
  int channel_max = amqp_get_channel_max(conn_);
  if (channel_max == 0) channel_max = 65535;
  for (int ch = probe_channel_ + 1; ch <= channel_max; ++ch) {
    if (used_sub_channels_.insert(ch).second) return ch;
  }
  return 0;
}

void IoLoop::handle_unsubscribe(Command& command) {
  flush_out();
  auto it = subscriptions_.find(command.sub_id);
  if (it != subscriptions_.end() && it->second.channel != 0) {
    int channel = it->second.channel;
    amqp_basic_cancel(conn_, channel, bytes_of(it->second.consumer_tag));
    Failure ignored;
    if (rpc_ok(amqp_get_rpc_reply(conn_), channel, "basic.cancel", &ignored)) {
      // Closing the channel hands every unsettled delivery back to the broker.
      amqp_channel_close(conn_, channel, AMQP_REPLY_SUCCESS);
      rpc_ok(amqp_get_rpc_reply(conn_), channel, "channel.close", &ignored);
    }
    channel_to_sub_.erase(channel);
    used_sub_channels_.erase(channel);
  }
  if (it != subscriptions_.end()) subscriptions_.erase(it);
  done(command.id);
}

void IoLoop::handle_settle(const Command& command) {
  auto it = subscriptions_.find(command.sub_id);
  // A tag from an earlier channel incarnation would make the broker close the channel (406);
  // that delivery was already requeued when its channel went away.
  if (it == subscriptions_.end() || it->second.channel == 0 || it->second.epoch != command.epoch) return;
  if (raw_writes_) {
    auto channel = static_cast<uint16_t>(it->second.channel);
    if (command.ack) out_.ack(channel, command.delivery_tag);
    else out_.nack(channel, command.delivery_tag, command.requeue);
    return;
  }
  int rc = command.ack ? amqp_basic_ack(conn_, it->second.channel, command.delivery_tag, 0)
                       : amqp_basic_nack(conn_, it->second.channel, command.delivery_tag, 0, command.requeue ? 1 : 0);
  if (rc != AMQP_STATUS_OK) mark_lost(std::string("ack failed: ") + amqp_error_string2(rc));
}

// ---------------------------------------------------------------------------------------------
// Frames

bool IoLoop::read_frames() {
  if (!socket_readable_ && !amqp_frames_enqueued(conn_) && !amqp_data_in_buffer(conn_)) return false;
  socket_readable_ = false;
  last_recv_ = Clock::now();
  for (int n = 0; n < kFrameBurst; ++n) {
    amqp_frame_t frame;
    timeval zero{0, 0};
    int rc = amqp_simple_wait_frame_noblock(conn_, &frame, &zero);
    if (rc == AMQP_STATUS_TIMEOUT) {
      amqp_maybe_release_buffers(conn_);
      return false;
    }
    if (rc != AMQP_STATUS_OK) {
      mark_lost(amqp_error_string2(rc));
      return false;
    }
    if (frame.frame_type == AMQP_FRAME_METHOD) handle_method(frame);
    if (lost_) return false;
  }
  amqp_maybe_release_buffers(conn_);
  return true;
}

void IoLoop::handle_method(const amqp_frame_t& frame) {
  const int channel = frame.channel;
  switch (frame.payload.method.id) {
    case AMQP_BASIC_DELIVER_METHOD:
      handle_deliver(channel, *static_cast<amqp_basic_deliver_t*>(frame.payload.method.decoded));
      break;
    case AMQP_BASIC_ACK_METHOD: {
      auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      handle_confirm(channel, ack->delivery_tag, ack->multiple, true);
      break;
    }
    case AMQP_BASIC_NACK_METHOD: {
      auto* nack = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
      handle_confirm(channel, nack->delivery_tag, nack->multiple, false);
      break;
    }
    case AMQP_CHANNEL_CLOSE_METHOD:
      handle_channel_close(channel, *static_cast<amqp_channel_close_t*>(frame.payload.method.decoded));
      break;
    case AMQP_CONNECTION_CLOSE_METHOD: {
      auto* close = static_cast<amqp_connection_close_t*>(frame.payload.method.decoded);
      flush_out();
      amqp_connection_close_ok_t ok;
      amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      mark_lost("broker closed the connection: " + std::to_string(close->reply_code) + " " +
                string_of(close->reply_text));
      break;
    }
    case AMQP_BASIC_CANCEL_METHOD: {
      // The broker cancelled a consumer (its queue was deleted): tell JS, do not resurrect it.
      auto sub = channel_to_sub_.find(channel);
      if (sub != channel_to_sub_.end()) {
        Event event;
        event.type = EventType::SubFail;
        event.sub_id = sub->second;
        event.error = make_failure("CHANNEL_CLOSED", "kazoo: the broker cancelled the consumer of queue " +
                                                         subscriptions_[sub->second].queue_name);
        emit(std::move(event));
        // Not re-declared on the next reconnect either: that would recreate a deleted queue.
        subscriptions_.erase(sub->second);
        used_sub_channels_.erase(channel);
        channel_to_sub_.erase(sub);
        flush_out();
        amqp_channel_close(conn_, static_cast<amqp_channel_t>(channel), AMQP_REPLY_SUCCESS);
        Failure ignored;
        rpc_ok(amqp_get_rpc_reply(conn_), channel, "channel.close", &ignored);
      }
      break;
    }
    case AMQP_CONNECTION_BLOCKED_METHOD:
    case AMQP_CONNECTION_UNBLOCKED_METHOD: {
      // Broker flow control (memory or disk alarm): publishes wait in the socket until it lifts.
      // Said out loud, so an application can tell a stalled bus from a slow one.
      Event event;
      event.type = EventType::Blocked;
      event.open = frame.payload.method.id == AMQP_CONNECTION_BLOCKED_METHOD;
      // RabbitMQ stops its heartbeats to a blocked connection: silence is not a dead peer then.
      blocked_ = event.open;
      last_recv_ = Clock::now();
      if (event.open) event.reason = string_of(static_cast<amqp_connection_blocked_t*>(frame.payload.method.decoded)->reason);
      event.host = options_.host;
      event.zone = options_.zone;
      emit(std::move(event));
      break;
    }
    case AMQP_BASIC_RETURN_METHOD: {
      // mandatory is never set, so returns are not expected; read and drop the message body.
      amqp_message_t message;
      amqp_rpc_reply_t reply = amqp_read_message(conn_, channel, &message, 0);
      if (reply.reply_type == AMQP_RESPONSE_NORMAL) amqp_destroy_message(&message);
      else mark_lost("cannot read returned message");
      break;
    }
    default:
      break;
  }
}

void IoLoop::handle_deliver(int channel, const amqp_basic_deliver_t& deliver) {
  std::string routing_key = string_of(deliver.routing_key);
  std::string exchange = string_of(deliver.exchange);
  const uint64_t tag = deliver.delivery_tag;
  const bool redelivered = deliver.redelivered != 0;
  amqp_message_t message;
  amqp_rpc_reply_t reply = amqp_read_message(conn_, channel, &message, 0);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    mark_lost("cannot read delivered message");
    return;
  }
  std::string_view body(static_cast<const char*>(message.body.bytes), message.body.len);
  if (channel == control_channel_) {
    on_reply_delivery(routing_key, exchange, body);
    amqp_destroy_message(&message);
    return;
  }
  auto found = channel_to_sub_.find(channel);
  if (found == channel_to_sub_.end()) {
    amqp_destroy_message(&message);
    return;
  }
  const SubscriptionState& state = subscriptions_[found->second];
  DeliveryRules rules;
  rules.zone = options_.zone;
  rules.server_id = options_.server_id;
  rules.received = static_cast<int64_t>(time(nullptr));
  rules.event_key = state.sub.event_key;
  rules.event_subkey = state.sub.event_subkey;
  rules.worker_key_field = state.sub.consistent_worker_key;
  DeliveryView view = augment_delivery(body, rules);
  Event event;
  event.type = EventType::Delivery;
  event.sub_id = found->second;
  event.epoch = state.epoch;
  event.delivery_tag = tag;
  event.redelivered = redelivered;
  event.exchange = std::move(exchange);
  if (view.valid) {
    event.payload = std::move(view.payload);
    event.category = std::move(view.category);
    event.name = std::move(view.name);
    event.worker_key = view.worker_key.empty() ? routing_key : std::move(view.worker_key);
  } else {
    event.has_payload = false;
    event.raw.assign(body.data(), body.size());
    event.worker_key = routing_key;
  }
  event.routing_key = std::move(routing_key);
  amqp_destroy_message(&message);
  emit(std::move(event));
}

void IoLoop::on_reply_delivery(const std::string& routing_key, const std::string& exchange, std::string_view body) {
  DeliveryRules rules;
  rules.zone = options_.zone;
  rules.server_id = options_.server_id;
  rules.received = static_cast<int64_t>(time(nullptr));
  rules.event_key = options_.event_key;
  rules.event_subkey = options_.event_subkey;
  DeliveryView view = augment_delivery(body, rules);
  if (view.valid && !view.msg_id.empty()) {
    if (auto entry = pending_.take(view.msg_id)) {
      Event event;
      event.type = EventType::Reply;
      event.id = entry->id;
      event.payload = std::move(view.payload);
      event.routing_key = routing_key;
      event.elapsed_ms =
          std::chrono::duration<double, std::milli>(Clock::now() - entry->started).count();
      emit(std::move(event));
      return;
    }
  }
  // A late or unknown reply: the module delivers it as an ordinary consumer event (spec 9.3.8).
  if (!options_.deliver_late_replies) return;
  Event event;
  event.type = EventType::Delivery;
  event.sub_id = 0;
  event.exchange = exchange;
  if (view.valid) {
    event.payload = std::move(view.payload);
    event.category = std::move(view.category);
    event.name = std::move(view.name);
  } else {
    event.has_payload = false;
    event.raw.assign(body.data(), body.size());
  }
  event.worker_key = routing_key;
  event.routing_key = routing_key;
  emit(std::move(event));
}

void IoLoop::handle_confirm(int channel, uint64_t tag, bool multiple, bool ack) {
  if (channel < 1 || channel > static_cast<int>(publish_channels_.size())) return;
  auto& queue = publish_channels_[static_cast<size_t>(channel - 1)].unconfirmed;
  auto settle = [&](const Unconfirmed& u) {
    if (u.is_query) {
      // A query completes with its reply, not its confirm; a nack means no reply will come.
      if (!ack) {
        if (auto entry = pending_.take(u.msg_id))
          fail(entry->id, make_failure("BROKER_REFUSED", "kazoo: the broker nacked this query (internal broker error)"));
      }
      return;
    }
    if (ack) {
      done(u.id);
    } else {
      fail(u.id, make_failure("BROKER_REFUSED", "kazoo: the broker nacked this publish (internal broker error)"));
    }
  };
  if (multiple) {
    while (!queue.empty() && queue.front().tag <= tag) {
      settle(queue.front());
      queue.pop_front();
    }
  } else {
    auto it = std::find_if(queue.begin(), queue.end(), [tag](const Unconfirmed& u) { return u.tag == tag; });
    if (it != queue.end()) {
      settle(*it);
      queue.erase(it);
    }
  }
}

void IoLoop::handle_channel_close(int channel, const amqp_channel_close_t& close) {
  if (!flush_out()) {
    return;
  }
  amqp_channel_close_ok_t ok;
  amqp_send_method(conn_, static_cast<amqp_channel_t>(channel), AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
  Failure failure = make_failure("BROKER_REFUSED", "kazoo: broker closed channel " + std::to_string(channel) + ": " +
                                                       std::to_string(close.reply_code) + " " +
                                                       string_of(close.reply_text));
  failure.reply_code = close.reply_code;
  failure.reply_text = string_of(close.reply_text);
  failure.class_id = close.class_id;
  failure.method_id = close.method_id;
  // Whatever exchange vanished is checked again on its next publish.
  known_exchanges_.clear();

  if (channel >= 1 && channel <= static_cast<int>(publish_channels_.size())) {
    auto& state = publish_channels_[static_cast<size_t>(channel - 1)];
    bool any = !state.unconfirmed.empty();
    for (auto& u : state.unconfirmed) {
      if (u.is_query) {
        if (auto entry = pending_.take(u.msg_id)) fail(entry->id, failure);
      } else {
        fail(u.id, failure);
      }
    }
    state.unconfirmed.clear();
    state.next_tag = 0;
    state.open = false;
    if (!any) {
      // Without confirms nothing is waiting on this channel: report it rather than lose it silently.
      Event event;
      event.type = EventType::Error;
      event.error = failure;
      emit(std::move(event));
    }
    Failure reopen;
    if (open_channel(channel, options_.confirms, &reopen)) state.open = true;
    else if (!lost_) mark_lost(reopen.message);
    return;
  }
  if (channel == probe_channel_) {
    Failure reopen;
    if (!open_channel(channel, false, &reopen) && !lost_) mark_lost(reopen.message);
    return;
  }
  if (channel == control_channel_) {
    // The reply consumer is gone; rebuild it, or start over with a fresh connection.
    std::string reason;
    Failure reopen;
    if (!open_channel(channel, false, &reopen) || !setup_reply_queue(&reason)) mark_lost("reply queue lost: " + reason);
    return;
  }
  auto sub = channel_to_sub_.find(channel);
  if (sub != channel_to_sub_.end()) {
    auto state = subscriptions_.find(sub->second);
    if (state != subscriptions_.end()) state->second.channel = 0;
    Event event;
    event.type = EventType::SubFail;
    event.sub_id = sub->second;
    event.error = failure;
    emit(std::move(event));
    channel_to_sub_.erase(sub);
    used_sub_channels_.erase(channel);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

bool IoLoop::open_channel(int channel, bool confirm, Failure* failure) {
  if (!flush_out()) {
    return false;
  }
  amqp_channel_open(conn_, static_cast<amqp_channel_t>(channel));
  if (!rpc_ok(amqp_get_rpc_reply(conn_), channel, "channel.open", failure)) return false;
  if (confirm) {
    amqp_confirm_select(conn_, static_cast<amqp_channel_t>(channel));
    if (!rpc_ok(amqp_get_rpc_reply(conn_), channel, "confirm.select", failure)) return false;
  }
  return true;
}

bool IoLoop::rpc_ok(amqp_rpc_reply_t reply, int channel, const char* what, Failure* failure) {
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
    last_recv_ = Clock::now();
    return true;
  }
  if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
    if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      auto* close = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
      amqp_channel_close_ok_t ok;
      amqp_send_method(conn_, static_cast<amqp_channel_t>(channel), AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
      *failure = make_failure("BROKER_REFUSED", std::string("kazoo: broker refused ") + what + ": " +
                                                    std::to_string(close->reply_code) + " " +
                                                    string_of(close->reply_text));
      failure->reply_code = close->reply_code;
      failure->reply_text = string_of(close->reply_text);
      failure->class_id = close->class_id;
      failure->method_id = close->method_id;
      return false;
    }
    if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      auto* close = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
      amqp_connection_close_ok_t ok;
      amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      *failure = make_failure("BROKER_REFUSED", std::string("kazoo: broker closed the connection on ") + what + ": " +
                                                    std::to_string(close->reply_code) + " " +
                                                    string_of(close->reply_text));
      failure->reply_code = close->reply_code;
      failure->reply_text = string_of(close->reply_text);
      failure->class_id = close->class_id;
      failure->method_id = close->method_id;
      mark_lost(failure->message);
      return false;
    }
  }
  std::string why = reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION ? amqp_error_string2(reply.library_error)
                                                                         : "unexpected reply";
  *failure = make_failure("CONNECTION_LOST", std::string("kazoo: ") + what + " failed: " + why);
  mark_lost(failure->message);
  return false;
}

void IoLoop::service_timers() {
  auto now = Clock::now();
  pending_.expire(now, [&](const PendingQueries::Entry& entry) {
    Event event;
    event.type = EventType::Timeout;
    event.id = entry.id;
    event.elapsed_ms = std::chrono::duration<double, std::milli>(now - entry.started).count();
    emit(std::move(event));
  });
  if (!connected_ || lost_ || options_.heartbeat_sec <= 0) return;
  // rabbitmq-c only services heartbeats inside blocking waits; this loop never blocks in one,
  // so it sends its own at half the interval and watches for two silent intervals.
  const int64_t interval_ms = options_.heartbeat_sec * 1000;
  if (ms_between(last_heartbeat_sent_, now) >= interval_ms / 2) {
    if (raw_writes_) {
      // Queued behind whatever is waiting to go out, never blocking the loop.
      out_.heartbeat();
      if (!flush_out(false)) return;
    } else {
      if (!flush_out()) return;
      amqp_frame_t heartbeat;
      std::memset(&heartbeat, 0, sizeof heartbeat);
      heartbeat.frame_type = AMQP_FRAME_HEARTBEAT;
      heartbeat.channel = 0;
      int rc = amqp_send_frame(conn_, &heartbeat);
      if (rc != AMQP_STATUS_OK) {
        mark_lost(std::string("heartbeat send failed: ") + amqp_error_string2(rc));
        return;
      }
    }
    last_heartbeat_sent_ = now;
  }
  if (!blocked_ && ms_between(last_recv_, now) > 2 * interval_ms) mark_lost("missed broker heartbeats");
}

int IoLoop::poll_timeout_ms() const {
  int64_t timeout = kIdlePollMs;
  auto now = Clock::now();
  if (auto next = const_cast<PendingQueries&>(pending_).next_deadline()) {
    timeout = std::min<int64_t>(timeout, std::max<int64_t>(0, ms_between(now, *next) + 1));
  }
  if (connected_ && options_.heartbeat_sec > 0) {
    int64_t due = options_.heartbeat_sec * 500 - ms_between(last_heartbeat_sent_, now);
    timeout = std::min<int64_t>(timeout, std::max<int64_t>(0, due));
  }
  return static_cast<int>(timeout);
}

void IoLoop::fail(uint32_t id, Failure failure) {
  Event event;
  event.type = EventType::Fail;
  event.id = id;
  event.error = std::move(failure);
  emit(std::move(event));
}

void IoLoop::done(uint32_t id) { owner_.push_done(id); }

void IoLoop::emit_connection_event(bool open, const std::string& reason) {
  Event event;
  event.type = EventType::Conn;
  event.open = open;
  event.host = options_.host;
  event.zone = options_.zone;
  event.reason = reason;
  emit(std::move(event));
}

bool IoLoop::flush_out(bool wait) {
  if (out_.empty()) return !lost_;
  // With heartbeats on, rabbitmq-c writes a heartbeat frame straight to the socket from inside
  // its frame reads whenever its own timer says so; with a partial frame still queued here that
  // would land mid-frame and corrupt the stream (the broker closes with invalid_frame_end_marker).
  // So the queue is only left partly sent when heartbeats are off (the module's default).
  if (options_.heartbeat_sec > 0) wait = true;
  if (lost_ || conn_ == nullptr) {
    out_.clear();
    return false;
  }
  const int fd = amqp_get_sockfd(conn_);
  size_t sent = 0;
  const size_t total = out_.size();
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (sent < total) {
    ssize_t n = send(fd, out_.data() + sent, total - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !wait) {
      // The hot path does not wait: the rest goes out when poll() says the socket has room,
      // and meanwhile frames keep being read (a broker memory alarm can last minutes).
      out_.consume(sent);
      return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The broker is not reading (flow control): wait for room, bounded like an RPC.
      int left = static_cast<int>(ms_between(Clock::now(), deadline));
      pollfd pfd{fd, POLLOUT, 0};
      if (left > 0 && poll(&pfd, 1, left) >= 0) continue;
      mark_lost("send timed out (broker not reading)");
    } else {
      mark_lost(std::string("send failed: ") + std::strerror(errno));
    }
    out_.clear();
    return false;
  }
  out_.clear();
  return true;
}

void IoLoop::mark_lost(const std::string& reason) {
  if (lost_) return;
  lost_ = true;
  lost_reason_ = reason;
}

}  // namespace kazoo::core
