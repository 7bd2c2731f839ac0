// Plain value structs that cross between the JS thread and a connection's I/O thread.
// They own their bytes (std::string), so nothing points into memory the other thread may free.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error_code.h"

namespace kazoo::core {

/// Everything one broker connection needs; mirrors NativeConnectionOptions in typings/native.d.ts.
struct ConnectionOptions {
  // No defaults here: lib/config.ts owns them and the addon always passes every field.
  std::string host;
  int port = 0;
  std::string vhost, user, password;
  bool tls = false;
  std::string ca_cert, cert, key;
  bool verify_peer = false;
  bool verify_hostname = false;
  int server_id = 0;
  std::string zone;
  bool primary = false;
  int heartbeat_sec = 0;
  int connect_timeout_ms = 0;
  int max_channels = 0;
  std::string node_hostname, app_name, app_version;
  bool confirms = false;
  std::string event_key, event_subkey;
  int reconnect_min_ms = 0;
  int reconnect_max_ms = 0;
  bool deliver_late_replies = false;
  /// Publishes kept while the connection is down or reconnecting, and their total body bytes
  /// (amqp_publish_buffer_count / amqp_publish_buffer_bytes).
  int buffer_count = 0;
  int64_t buffer_bytes = 0;
  /// A publish not confirmed within this many ms fails with PUBLISH_TIMEOUT (amqp_publish_timeout_ms).
  int publish_timeout_ms = 0;
  /// Inside a stream of deliveries, the consumer connection's socket is read at most this often
  /// (amqp_consumer_read_window_ms; 0: at once).
  int consumer_read_window_ms = 0;
  /// A producer connection publishes and takes query replies; a consumer connection carries the
  /// subscriptions. They are separate (as in the module) so that broker flow control on a busy
  /// publisher never holds back the acks and deliveries of the subscriptions.
  bool consumer_role = false;
};

struct ExchangeBinding {
  std::string source, type;
  bool passive = false, durable = false, auto_delete = false, internal = false;
  std::vector<std::string> routing;
};

/// A normalised subscription (lib/subscription.ts builds it from the module's JSON description).
struct Subscription {
  std::string exchange, exchange_type;
  bool exchange_passive = false, exchange_durable = false, exchange_auto_delete = false, exchange_internal = false;
  std::string queue;
  bool queue_passive = false, queue_durable = false, queue_exclusive = false, queue_auto_delete = true;
  /// queue.declare arguments; an argument is a string or, when is_int, an integer.
  struct Argument {
    std::string key, text;
    int64_t integer = 0;
    bool is_int = false;
  };
  std::vector<Argument> queue_arguments;
  std::vector<std::string> routing;
  std::vector<ExchangeBinding> exchange_bindings;
  bool no_ack = true;
  int prefetch = 64;
  std::string event_key, event_subkey, consistent_worker_key;
};

enum class CommandType { Publish, Query, Subscribe, Unsubscribe, Settle, Close };

/// One settle of a Settle command's batch (see Command::settles).
struct SettleItem {
  uint32_t sub_id = 0;
  uint32_t epoch = 0;
  uint64_t delivery_tag = 0;
  bool ack = true, requeue = false;
};

struct Command {
  CommandType type = CommandType::Publish;
  uint32_t id = 0;
  std::string exchange, routing_key, payload;
  std::vector<std::pair<std::string, std::string>> headers;
  uint32_t timeout_ms = 0;
  /// When the JS thread queued it: a query's timeout counts from the caller's call, not from
  /// when the I/O thread got to it.
  std::chrono::steady_clock::time_point queued_at{};
  uint32_t sub_id = 0;
  /// Only for Subscribe; kept out of line so the hot Publish command stays small.
  std::unique_ptr<Subscription> subscription;
  /// Settle only: the settles of one JS turn, in order. One command per turn instead of one per
  /// message: one queue node and at most one wake-up of the I/O thread, and the consumer can
  /// send the acks as one `multiple` ack.
  std::unique_ptr<std::vector<SettleItem>> settles;
};

/// A failure as the JS side sees it: a stable code plus AMQP details when the broker refused.
struct Failure {
  ErrorCode code = ErrorCode::InvalidArgument;
  std::string message;
  int reply_code = 0;
  std::string reply_text;
  int class_id = 0, method_id = 0;
  int64_t position = -1;
};

enum class EventType { Done, Fail, Reply, Timeout, Conn, Blocked, Delivery, Subscribed, SubFail, Error };

struct Event {
  EventType type = EventType::Done;
  uint32_t id = 0;
  Failure error;
  // Reply / Delivery / Conn
  std::string payload, routing_key, exchange, raw, category, name, worker_key;
  bool has_payload = true;
  bool redelivered = false;
  uint32_t sub_id = 0;
  uint64_t delivery_tag = 0;
  uint32_t epoch = 0;
  double elapsed_ms = 0;
  // Conn (open) / Blocked (blocked) / Subscribed (after_reconnect)
  bool open = false, blocked = false, after_reconnect = false;
  std::string host, zone, reason, queue;
};

}  // namespace kazoo::core
