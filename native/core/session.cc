// Login and round-trip bookkeeping of one connection (see session.h).
#include "core/session.h"

#include <algorithm>
#include <cstring>

namespace kazoo::core {
namespace {

// A round trip the broker leaves unanswered this long means it is stalled or gone: the
// connection is dropped and rebuilt (rabbitmq-c's synchronous RPC waited the same 10 s, but
// with the whole loop stopped).
constexpr auto kRpcTimeout = std::chrono::seconds(10);

amqp_method_number_t reply_of(amqp_method_number_t request) {
  if (request == AMQP_EXCHANGE_UNBIND_METHOD) return AMQP_EXCHANGE_UNBIND_OK_METHOD;
  return request + 1;  // every other -ok follows its request
}

amqp_table_entry_t bool_entry(const char* key) {
  amqp_table_entry_t entry;
  entry.key = amqp_cstring_bytes(key);
  entry.value.kind = AMQP_FIELD_KIND_BOOLEAN;
  entry.value.value.boolean = 1;
  return entry;
}

}  // namespace

Failure make_failure(ErrorCode code, std::string message) {
  Failure f;
  f.code = code;
  f.message = std::move(message);
  return f;
}

Failure broker_failure(const std::string& what, uint16_t reply_code, amqp_bytes_t reply_text, uint16_t class_id,
                       uint16_t method_id) {
  Failure f = make_failure(ErrorCode::BrokerRefused, "kazoo: broker refused " + what + ": " +
                                                         std::to_string(reply_code) + " " + string_of(reply_text));
  f.reply_code = reply_code;
  f.reply_text = string_of(reply_text);
  f.class_id = class_id;
  f.method_id = method_id;
  return f;
}

Session::Session(Wire& wire, const ConnectionOptions& options) : wire_(wire), options_(options) {}

void Session::reset() {
  pending_.clear();
  pending_count_ = 0;
  state_ = State::Idle;
  failure_reason_.clear();
  broker_close_ = Failure{};
}

void Session::begin_login(const std::string& connection_name, Clock::time_point deadline) {
  reset();
  connection_name_ = connection_name;
  login_deadline_ = deadline;
  state_ = State::AwaitStart;
  wire_.out().protocol_header();
}

void Session::fail_session(const std::string& reason) {
  if (state_ == State::Failed) return;
  state_ = State::Failed;
  failure_reason_ = reason;
}

void Session::on_start(const amqp_connection_start_t& start) {
  std::string mechanisms = string_of(start.mechanisms);
  if (mechanisms.find("PLAIN") == std::string::npos) {
    fail_session("login failed: the broker does not offer SASL PLAIN");
    return;
  }
  // Client properties: consumer_cancel_notify makes the broker tell a consumer that its queue
  // was deleted; connection.blocked makes it report flow control.
  amqp_table_entry_t capabilities[] = {bool_entry("consumer_cancel_notify"),
                                       bool_entry("publisher_confirms"),
                                       bool_entry("basic.nack"),
                                       bool_entry("exchange_exchange_bindings"),
                                       bool_entry("authentication_failure_close"),
                                       bool_entry("connection.blocked")};
  amqp_table_entry_t properties[3];
  properties[0].key = amqp_cstring_bytes("capabilities");
  properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
  properties[0].value.value.table = amqp_table_t{6, capabilities};
  properties[1].key = amqp_cstring_bytes("connection_name");
  properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
  properties[1].value.value.bytes = bytes_of(connection_name_);
  properties[2].key = amqp_cstring_bytes("product");
  properties[2].value.kind = AMQP_FIELD_KIND_UTF8;
  properties[2].value.value.bytes = amqp_cstring_bytes("kazoo-amqp");
  std::string response;
  response.push_back('\0');
  response += options_.user;
  response.push_back('\0');
  response += options_.password;
  amqp_connection_start_ok_t ok;
  ok.client_properties = amqp_table_t{3, properties};
  ok.mechanism = amqp_cstring_bytes("PLAIN");
  ok.response = bytes_of(response);
  ok.locale = amqp_cstring_bytes("en_US");
  wire_.out().method(0, AMQP_CONNECTION_START_OK_METHOD, &ok);
  // The password leaves this buffer only inside the frame.
  std::fill(response.begin(), response.end(), '\0');
  state_ = State::AwaitTune;
}

void Session::on_tune(const amqp_connection_tune_t& tune) {
  channel_max_ = tune.channel_max == 0 ? 65535 : tune.channel_max;
  frame_max_ = tune.frame_max == 0 ? 131072u : std::min<uint32_t>(tune.frame_max, 131072u);
  heartbeat_sec_ = options_.heartbeat_sec;
  if (heartbeat_sec_ > 0 && tune.heartbeat != 0 && tune.heartbeat < heartbeat_sec_) heartbeat_sec_ = tune.heartbeat;
  amqp_connection_tune_ok_t ok;
  ok.channel_max = channel_max_;
  ok.frame_max = frame_max_;
  ok.heartbeat = static_cast<uint16_t>(heartbeat_sec_);
  wire_.out().method(0, AMQP_CONNECTION_TUNE_OK_METHOD, &ok);
  wire_.set_frame_max(frame_max_);
  amqp_connection_open_t open;
  open.virtual_host = bytes_of(options_.vhost);
  open.capabilities = amqp_empty_bytes;
  open.insist = 0;
  wire_.out().method(0, AMQP_CONNECTION_OPEN_METHOD, &open);
  state_ = State::AwaitOpenOk;
}

void Session::begin_close() {
  if (state_ != State::Open) return;
  amqp_connection_close_t close;
  close.reply_code = AMQP_REPLY_SUCCESS;
  close.reply_text = amqp_cstring_bytes("closed by client");
  close.class_id = 0;
  close.method_id = 0;
  wire_.out().method(0, AMQP_CONNECTION_CLOSE_METHOD, &close);
  state_ = State::Closing;
}

bool Session::on_method(const InFrame& frame) {
  const uint16_t channel = frame.channel;
  switch (frame.method) {
    case AMQP_CONNECTION_START_METHOD:
      if (state_ == State::AwaitStart) on_start(*static_cast<amqp_connection_start_t*>(frame.decoded));
      return true;
    case AMQP_CONNECTION_TUNE_METHOD:
      if (state_ == State::AwaitTune) on_tune(*static_cast<amqp_connection_tune_t*>(frame.decoded));
      return true;
    case AMQP_CONNECTION_OPEN_OK_METHOD:
      if (state_ == State::AwaitOpenOk) state_ = State::Open;
      return true;
    case AMQP_CONNECTION_CLOSE_OK_METHOD:
      if (state_ == State::Closing) state_ = State::Closed;
      return true;
    case AMQP_CONNECTION_CLOSE_METHOD: {
      auto* close = static_cast<amqp_connection_close_t*>(frame.decoded);
      amqp_connection_close_ok_t ok;
      wire_.out().method(0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      const bool login = state_ == State::AwaitStart || state_ == State::AwaitTune || state_ == State::AwaitOpenOk;
      broker_close_ =
          broker_failure("the connection", close->reply_code, close->reply_text, close->class_id, close->method_id);
      broker_close_.message = "kazoo: broker closed the connection: " + std::to_string(close->reply_code) + " " +
                              string_of(close->reply_text);
      fail_session(std::string(login ? "login refused: " : "broker closed the connection: ") +
                   std::to_string(close->reply_code) + " " + string_of(close->reply_text));
      return true;
    }
    case AMQP_CONNECTION_BLOCKED_METHOD:
      if (listener_ != nullptr)
        listener_->on_blocked(true, string_of(static_cast<amqp_connection_blocked_t*>(frame.decoded)->reason));
      return true;
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
      if (listener_ != nullptr) listener_->on_blocked(false, "");
      return true;
    case AMQP_CHANNEL_CLOSE_METHOD:
      handle_channel_close(channel, *static_cast<amqp_channel_close_t*>(frame.decoded));
      return true;
    default: break;
  }
  auto it = pending_.find(channel);
  if (it == pending_.end() || it->second.empty() || reply_of(it->second.front().request) != frame.method) return false;
  Pending done = std::move(it->second.front());
  it->second.pop_front();
  --pending_count_;
  RpcResult result;
  result.ok = true;
  result.method = frame.method;
  result.decoded = frame.decoded;
  done.done(result);
  return true;
}

void Session::handle_channel_close(uint16_t channel, const amqp_channel_close_t& close) {
  amqp_channel_close_ok_t ok;
  wire_.out().method(channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
  std::deque<Pending> waiting;
  auto it = pending_.find(channel);
  if (it != pending_.end()) {
    waiting.swap(it->second);
    pending_count_ -= waiting.size();
  }
  const char* what = waiting.empty() ? "channel" : amqp_method_name(waiting.front().request);
  Failure failure = broker_failure(std::string(what) + " on channel " + std::to_string(channel), close.reply_code,
                                   close.reply_text, close.class_id, close.method_id);
  if (waiting.empty()) {
    if (listener_ != nullptr) listener_->on_channel_closed(channel, failure);
    return;
  }
  for (auto& pending : waiting) {
    RpcResult result;
    // Our own channel.close crossed the broker's: the channel is closed either way.
    result.ok = pending.request == AMQP_CHANNEL_CLOSE_METHOD;
    result.method = AMQP_CHANNEL_CLOSE_METHOD;
    result.failure = failure;
    pending.done(result);
  }
}

void Session::call(uint16_t channel, amqp_method_number_t id, void* args, RpcDone done) {
  if (!wire_.out().method(channel, id, args)) {
    RpcResult result;
    result.failure = make_failure(ErrorCode::InvalidArgument, std::string("kazoo: cannot encode ") +
                                                                  amqp_method_name(id) + " (an argument is too long)");
    done(result);
    return;
  }
  pending_[channel].push_back(Pending{id, Clock::now() + kRpcTimeout, std::move(done)});
  ++pending_count_;
}

void Session::expire(Clock::time_point now) {
  if ((state_ == State::AwaitStart || state_ == State::AwaitTune || state_ == State::AwaitOpenOk) &&
      now >= login_deadline_) {
    fail_session("login timed out (the broker did not answer)");
    return;
  }
  if (pending_count_ == 0 || state_ != State::Open) return;
  for (auto& [channel, queue] : pending_) {
    if (!queue.empty() && now >= queue.front().deadline) {
      fail_session(std::string("the broker did not answer ") + amqp_method_name(queue.front().request) +
                   " on channel " + std::to_string(channel) + " within 10 s");
      return;
    }
  }
}

bool Session::next_deadline(Clock::time_point* when) const {
  bool any = false;
  if (state_ == State::AwaitStart || state_ == State::AwaitTune || state_ == State::AwaitOpenOk) {
    *when = login_deadline_;
    any = true;
  }
  if (pending_count_ == 0) return any;
  for (const auto& [channel, queue] : pending_) {
    if (queue.empty()) continue;
    if (!any || queue.front().deadline < *when) *when = queue.front().deadline;
    any = true;
  }
  return any;
}

}  // namespace kazoo::core
