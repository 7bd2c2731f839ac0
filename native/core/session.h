// The AMQP session of one connection: the login (protocol header, start/start-ok, tune/tune-ok,
// open/open-ok) and every broker round trip as a state machine with a deadline. Nothing here
// waits: call() queues the request on the wire and records what reply it expects; on_method()
// matches replies, broker channel closes and connection closes as frames arrive; expire() fails
// the connection when a round trip outlives its deadline (a stalled broker).
#pragma once

#include <amqp.h>

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/messages.h"
#include "core/wire.h"

namespace kazoo::core {

using Clock = std::chrono::steady_clock;

/// How a round trip ended. `decoded` (the reply's arguments) lives only during the callback.
struct RpcResult {
  bool ok = false;
  amqp_method_number_t method = 0;
  void* decoded = nullptr;
  Failure failure;
};
using RpcDone = std::function<void(const RpcResult&)>;

class Session {
 public:
  enum class State { Idle, AwaitStart, AwaitTune, AwaitOpenOk, Open, Closing, Closed, Failed };

  /// Told about what is not a reply: broker channel closes of a channel with no round trip in
  /// flight, connection.blocked/unblocked.
  struct Listener {
    virtual ~Listener() = default;
    virtual void on_channel_closed(uint16_t channel, const Failure& failure) = 0;
    virtual void on_blocked(bool blocked, const std::string& reason) = 0;
  };

  Session(Wire& wire, const ConnectionOptions& options);

  /// Starts the login on a wire that just opened; it must finish before `deadline`.
  void begin_login(const std::string& connection_name, Clock::time_point deadline);
  /// Sends connection.close; state() becomes Closed when the broker answers.
  void begin_close();
  State state() const { return state_; }
  /// Why the session failed (login refused, broker closed the connection, a round trip timed out).
  const std::string& failure_reason() const { return failure_reason_; }
  /// The broker's connection.close that ended the session, if that is what ended it (reply_code 0 otherwise).
  const Failure& broker_close() const { return broker_close_; }
  void set_listener(Listener* listener) { listener_ = listener; }
  /// Forgets every round trip in flight without calling it back (the connection is gone).
  void reset();

  /// Handles a method frame; false when it is not the session's (deliveries, confirms...).
  bool on_method(const InFrame& frame);
  /// Fails the session when the login or a round trip passed its deadline.
  void expire(Clock::time_point now);
  /// The earliest deadline in flight, if any.
  bool next_deadline(Clock::time_point* when) const;

  uint16_t channel_max() const { return channel_max_; }
  uint32_t frame_max() const { return frame_max_; }
  int heartbeat_sec() const { return heartbeat_sec_; }

  /// Sends a synchronous method on `channel` and calls `done` with its reply (or the channel
  /// close that refused it). Requests on one channel are answered in order.
  void call(uint16_t channel, amqp_method_number_t id, void* args, RpcDone done);

  // The round trips the roles use (session_calls.cc).
  void channel_open(uint16_t channel, RpcDone done);
  void channel_close(uint16_t channel, RpcDone done);
  void confirm_select(uint16_t channel, RpcDone done);
  void exchange_declare(uint16_t channel, const std::string& name, const std::string& type, bool passive, bool durable,
                        bool auto_delete, bool internal, RpcDone done);
  void exchange_delete(uint16_t channel, const std::string& name, RpcDone done);
  void exchange_bind(uint16_t channel, const std::string& destination, const std::string& source,
                     const std::string& key, bool unbind, RpcDone done);
  void queue_declare(uint16_t channel, const std::string& name, bool passive, bool durable, bool exclusive,
                     bool auto_delete, amqp_table_t arguments, RpcDone done);
  void queue_delete(uint16_t channel, const std::string& name, RpcDone done);
  void queue_bind(uint16_t channel, const std::string& queue, const std::string& exchange, const std::string& key,
                  bool unbind, RpcDone done);
  void basic_qos(uint16_t channel, uint16_t prefetch, RpcDone done);
  /// no_ack: the broker counts each delivery acknowledged once sent (no basic.ack, no prefetch).
  void basic_consume(uint16_t channel, const std::string& queue, bool exclusive, bool no_ack, RpcDone done);
  void basic_cancel(uint16_t channel, const std::string& consumer_tag, RpcDone done);

 private:
  struct Pending {
    amqp_method_number_t request;
    Clock::time_point deadline;
    RpcDone done;
  };
  void fail_session(const std::string& reason);
  void handle_channel_close(uint16_t channel, const amqp_channel_close_t& close);
  void on_start(const amqp_connection_start_t& start);
  void on_tune(const amqp_connection_tune_t& tune);

  Wire& wire_;
  const ConnectionOptions& options_;
  Listener* listener_ = nullptr;
  State state_ = State::Idle;
  std::string failure_reason_;
  Failure broker_close_;
  std::string connection_name_;
  Clock::time_point login_deadline_{};
  Clock::time_point close_deadline_{};
  std::unordered_map<uint16_t, std::deque<Pending>> pending_;
  size_t pending_count_ = 0;
  uint16_t channel_max_ = 0;
  uint32_t frame_max_ = 131072;
  int heartbeat_sec_ = 0;
};

/// A Failure from a broker channel.close / connection.close.
Failure broker_failure(const std::string& what, uint16_t reply_code, amqp_bytes_t reply_text, uint16_t class_id,
                       uint16_t method_id);
Failure make_failure(ErrorCode code, std::string message);
inline amqp_bytes_t bytes_of(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }
inline std::string string_of(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

}  // namespace kazoo::core
