// The producer role of a connection: publish channels with confirms, the exchange check before
// a first publish, the targeted reply queue and the queries waiting on it, and the at-least-once
// buffer: publishes made while the connection is down wait in a bounded buffer, publishes written
// but unconfirmed when it drops are sent again (same body, same Msg-ID) after the reconnect, and
// every publish settles on its confirm or its publish deadline.
#pragma once

#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/payload/kazoo_payload.h"
#include "core/pending_queries.h"
#include "core/role.h"

namespace kazoo::core {

class Producer final : public Role {
 public:
  explicit Producer(Context& ctx);

  void on_open(bool after_reconnect) override;
  bool ready() const override { return ready_; }
  const std::string& setup_failure() const override { return setup_failure_; }
  void on_frame(const InFrame& frame) override;
  void on_command(Command& command) override;
  void on_command_offline(Command& command) override;
  void after_io() override;
  void service(Clock::time_point now) override;
  bool next_deadline(Clock::time_point* when) const override;
  void on_closed(const std::string& reason, bool stopping) override;
  bool settling() const override;
  void finish() override;
  bool accepting_commands() const override;
  Clock::duration read_pause() const override;
  void on_channel_closed(uint16_t channel, const Failure& failure) override;
  void on_blocked(bool blocked, const std::string& reason) override;

 private:
  /// A publish or query on its way: built once, kept until the broker confirmed it.
  struct Outgoing {
    uint32_t id = 0;
    bool is_query = false;
    size_t channel_index = 0;  // whose Server-ID the body carries; sent there when it is open
    std::string exchange, routing_key, body, msg_id;
    std::vector<std::pair<std::string, std::string>> headers;
    Clock::time_point deadline;  // publish timeout
    uint32_t query_timeout_ms = 0;
    Clock::time_point queued_at;
  };
  struct PublishChannel {
    bool open = false;
    uint64_t next_tag = 0;
    std::deque<std::pair<uint64_t, Outgoing>> unconfirmed;
  };

  void publish(Command& command, bool is_query);
  void send(Outgoing&& out);
  void write(int channel, Outgoing&& out);
  void check_next_exchange();
  void open_publish_channel(int channel);
  void setup_step_done();
  void setup_failed(const std::string& reason);
  void setup_reply_queue();
  void flush_held();
  bool buffer(Outgoing&& out, size_t bytes);
  void handle_confirm(int channel, uint64_t tag, bool multiple, bool ack);
  void settle(Outgoing& out, bool ack);
  void on_reply(const ContentAssembler::Message& message);
  int next_channel(size_t preferred);
  uint16_t probe_channel() const { return static_cast<uint16_t>(ctx_.options.max_channels + 2); }
  /// Queries go out on a channel of their own without confirm mode when confirms are on: a
  /// query is settled by its reply, so a confirm would only cost the broker and both threads
  /// one more frame and wake-up per query.
  bool has_query_channel() const { return options_.confirms && options_.primary; }
  uint16_t query_channel() const { return static_cast<uint16_t>(ctx_.options.max_channels + 3); }
  void open_query_channel(bool during_setup);
  uint16_t control_channel() const { return static_cast<uint16_t>(ctx_.options.max_channels + 1); }

  static constexpr Clock::time_point kNever = Clock::time_point::max();

  Context& ctx_;
  const ConnectionOptions& options_;
  PayloadIdentity identity_;
  IdentityFields identity_fields_{PayloadIdentity{}};
  std::vector<std::string> server_ids_, server_id_members_;
  std::string reply_queue_;

  bool ready_ = false;
  bool query_channel_open_ = false;
  int setup_waiting_ = 0;
  std::string setup_failure_;
  std::vector<PublishChannel> channels_;
  size_t round_robin_ = 0;
  std::unordered_set<std::string> known_exchanges_;
  // Publishes waiting for their exchange's passive check; one check in flight at a time (a 404
  // closes the probe channel and with it every check queued behind it).
  std::unordered_map<std::string, std::vector<Outgoing>> awaiting_check_;
  std::deque<std::string> check_queue_;
  bool check_in_flight_ = false;
  // Held while there is no usable connection: sent again first (unconfirmed when it dropped),
  // then in arrival order; bounded by amqp_publish_buffer_count / _bytes.
  std::deque<Outgoing> held_;
  size_t held_bytes_ = 0;
  // confirms off: ids resolved once the socket took their last byte.
  std::deque<std::pair<uint64_t, uint32_t>> written_waiters_;
  PendingQueries pending_;
  ContentAssembler content_;
};

}  // namespace kazoo::core
