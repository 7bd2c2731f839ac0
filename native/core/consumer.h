// The consumer role of a connection: subscriptions declared as chains of broker round trips
// (each undone in reverse when a later one is refused), re-declared after a reconnect,
// deliveries handed to JS with the channel incarnation (epoch) their tag belongs to, settles,
// and unsubscribe. A channel number is reused only after its close handshake finished, and a
// delivery is only ever matched to the live subscription of its channel, so a cancelled
// subscription's deliveries never reach another one.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/role.h"
#include "core/unsettled_tags.h"

namespace kazoo::core {

class Consumer final : public Role {
 public:
  explicit Consumer(Context& ctx) : ctx_(ctx), options_(ctx.options) {}

  void on_open(bool after_reconnect) override;
  bool ready() const override { return open_; }
  const std::string& setup_failure() const override { return no_failure_; }
  void on_frame(const InFrame& frame) override;
  void on_command(Command& command) override;
  void on_command_offline(Command& command) override;
  void service(Clock::time_point now) override;
  bool next_deadline(Clock::time_point* when) const override;
  bool defer_command_wakeups(Clock::time_point now) override;
  void before_close() override;
  Clock::duration read_pause() const override;
  void on_closed(const std::string& reason, bool stopping) override;
  void finish() override;
  bool accepting_commands() const override;
  void on_channel_closed(uint16_t channel, const Failure& failure) override;
  void on_blocked(bool blocked, const std::string& reason) override { ctx_.blocked_event(blocked, reason); }

 private:
  struct State {
    Subscription sub;
    uint16_t channel = 0;  // 0 = not consuming on this connection
    uint32_t epoch = 0;
    std::string queue_name, consumer_tag;
    uint64_t generation = 0;  // which subscribe command this state belongs to
    bool declaring = false;
    UnsettledTags unsettled;       // tags of this channel incarnation handed to JS, not settled yet
    std::vector<uint64_t> acks;    // settled by JS as acks, not sent yet (see send_due_acks)
    Clock::time_point acks_since;  // when `acks` stopped being empty
  };
  struct Declaration;

  void declare(uint32_t sub_id, bool after_reconnect);
  void run(const std::shared_ptr<Declaration>& d);
  void declared(const std::shared_ptr<Declaration>& d);
  void give_up(const std::shared_ptr<Declaration>& d, const Failure& failure);
  void roll_back(uint16_t channel, std::shared_ptr<std::vector<std::function<void(RpcDone)>>> undo);
  void close_channel(uint16_t channel, uint32_t done_id);
  uint16_t allocate_channel();
  void deliver(const ContentAssembler::Message& message);
  void settle(const SettleItem& item);
  void send_acks(State& state);
  /// Sends the acks that may not wait any longer (all of them with `all`).
  void send_due_acks(Clock::time_point now, bool all);
  /// Whether the broker may stop delivering on this subscription for want of acks.
  static bool credit_low(const State& state);
  /// Deliveries arrive often enough that the loop turns on its own, and no subscription is
  /// short of credit: settles may wait for the loop's next turn.
  bool streaming(Clock::time_point now) const;
  /// Moves last_delivery_ to `now` when deliveries arrived since the last call.
  void note_deliveries(Clock::time_point now);

  Context& ctx_;
  const ConnectionOptions& options_;
  std::string no_failure_;
  bool open_ = false;
  std::map<uint32_t, State> subs_;
  std::unordered_map<uint16_t, uint32_t> channel_to_sub_;  // consuming channels only
  std::set<uint16_t> used_channels_;                       // allocated until their close-ok
  std::vector<uint32_t> unsubscribes_waiting_;             // answered at close-ok or disconnect
  uint32_t next_epoch_ = 0;  // one sequence for every channel incarnation of this connection
  uint64_t next_generation_ = 0;
  std::vector<uint32_t> acking_;  // subscriptions whose `acks` are not empty
  bool delivered_ = false;        // a delivery arrived since note_deliveries() last ran
  Clock::time_point last_delivery_{};
  bool deferring_ = false;  // defer_command_wakeups() said yes on this turn
  bool closing_ = false;
  ContentAssembler content_;
};

}  // namespace kazoo::core
