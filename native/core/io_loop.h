// The frame loop of one connection: connect, set up channels, serve commands and frames,
// reconnect. Runs only on the connection's I/O thread; nothing here is touched by another thread.
#pragma once

#include <amqp.h>

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/connection.h"
#include "core/frame_writer.h"
#include "core/kazoo_payload.h"
#include "core/pending_queries.h"

namespace kazoo::core {

using Clock = std::chrono::steady_clock;

class IoLoop {
 public:
  explicit IoLoop(Connection& owner);
  ~IoLoop();
  void run();

 private:
  /// A publish waiting for its broker confirm.
  struct Unconfirmed {
    uint64_t tag;
    uint32_t id;
    bool is_query;
    std::string msg_id;
  };
  struct PublishChannel {
    bool open = false;
    uint64_t next_tag = 0;
    std::deque<Unconfirmed> unconfirmed;
  };
  /// One thing a subscription declaration created, to be undone if a later step is refused.
  struct UndoStep {
    enum Kind { DeleteExchange, DeleteQueue, UnbindQueue, UnbindExchange } kind;
    std::string name, other, key;  // queue/destination, exchange/source, routing key
  };
  struct SubscriptionState {
    Subscription sub;
    int channel = 0;  // 0 = not declared on this connection
    uint32_t epoch = 0;
    std::string queue_name;
    std::string consumer_tag;
  };

  // Connection life cycle.
  bool connect_once(std::string* reason);
  bool setup_channels(std::string* reason);
  bool setup_reply_queue(std::string* reason);
  void serve();
  void teardown(const std::string& reason);
  void wait_disconnected(int delay_ms);
  void finish();
  void drain_confirms_before_close();

  // Commands.
  bool process_commands(size_t limit);
  void handle_command(Command& command);
  void handle_publish(Command& command, bool is_query);
  bool publish_with_library(int channel, const Command& command, const std::string& body);
  void handle_subscribe(Command& command);
  void handle_unsubscribe(Command& command);
  void handle_settle(const Command& command);
  void reject_while_disconnected(Command& command);

  // Frames.
  bool read_frames();
  void handle_method(const amqp_frame_t& frame);
  void handle_deliver(int channel, const amqp_basic_deliver_t& deliver);
  void handle_confirm(int channel, uint64_t tag, bool multiple, bool ack);
  void handle_channel_close(int channel, const amqp_channel_close_t& close);
  void on_reply_delivery(const std::string& routing_key, const std::string& exchange, std::string_view body);

  // Helpers.
  bool declare_subscription(SubscriptionState& state, bool after_reconnect, Failure* failure);
  void roll_back(int channel, const std::vector<UndoStep>& undo);
  bool check_exchange(const std::string& exchange, Failure* failure);
  bool open_channel(int channel, bool confirm, Failure* failure);
  bool rpc_ok(amqp_rpc_reply_t reply, int channel, const char* what, Failure* failure);
  int next_publish_channel();
  int allocate_subscription_channel();
  void service_timers();
  int poll_timeout_ms() const;
  void fail(uint32_t id, Failure failure);
  void done(uint32_t id);
  void emit(Event&& event) { owner_.push_event(std::move(event)); }
  void emit_connection_event(bool open, const std::string& reason);
  void mark_lost(const std::string& reason);
  /// Sends the frames batched in out_. Every path that lets rabbitmq-c write calls this first
  /// (wait = true: all of it, bounded by 10 s), so frames leave in the order they were produced;
  /// the hot path sends what the socket takes (wait = false) and polls for room for the rest.
  bool flush_out(bool wait = true);

  Connection& owner_;
  const ConnectionOptions& options_;
  PayloadIdentity identity_;
  IdentityFields identity_fields_{PayloadIdentity{}};  // set in the constructor
  std::vector<std::string> server_ids_;        // Server-ID of publish channel i + 1
  std::vector<std::string> server_id_members_;  // the same, rendered as a JSON member
  amqp_connection_state_t conn_ = nullptr;
  bool connected_ = false;
  bool ever_connected_ = false;
  bool lost_ = false;
  std::string lost_reason_;
  bool stopping_ = false;
  uint32_t close_id_ = 0;

  int control_channel_ = 0;  // consumes the targeted reply queue
  int probe_channel_ = 0;    // passive exchange checks; a refusal closes only this channel
  std::string reply_queue_;
  std::vector<PublishChannel> publish_channels_;  // index 0 = channel 1
  size_t round_robin_ = 0;
  std::unordered_set<std::string> known_exchanges_;
  std::map<uint32_t, SubscriptionState> subscriptions_;
  std::unordered_map<int, uint32_t> channel_to_sub_;
  std::set<int> used_sub_channels_;
  PendingQueries pending_;

  Clock::time_point last_recv_;
  Clock::time_point last_heartbeat_sent_;
  bool socket_readable_ = false;
  FrameWriter out_;
  bool raw_writes_ = false;  // plain TCP: hot-path frames are batched in out_
  bool blocked_ = false;     // connection.blocked received (broker flow control)
  uint32_t frame_max_ = 131072;
};

}  // namespace kazoo::core
