// The loop of one connection's I/O thread: poll() on the socket and the wake-up eventfd, timers
// (connect and login deadlines, round-trip deadlines, query and publish deadlines, heartbeats,
// close), commands from JS, and reconnects (the first at once, then exponential back-off with
// jitter and a cap). It never blocks anywhere but in poll(), whose timeout is the next deadline.
#pragma once

#include <memory>
#include <random>
#include <string>

#include "core/connection.h"
#include "core/role.h"
#include "core/session.h"
#include "core/wire.h"

namespace kazoo::core {

class IoLoop {
 public:
  explicit IoLoop(Connection& owner);
  void run();

 private:
  enum class Phase { Waiting, Connecting, LoggingIn, SettingUp, Ready, Draining, Closing };

  void start_connect(Clock::time_point now);
  void drop(const std::string& reason);
  void process_commands();
  void handle_io(short revents, Clock::time_point now);
  void on_frame(const InFrame& frame);
  void advance(Clock::time_point now);
  void service_timers(Clock::time_point now);
  int poll_timeout_ms(Clock::time_point now) const;
  void emit_connection_event(bool open, const std::string& reason);
  void finish();
  int next_backoff_ms();

  Connection& owner_;
  const ConnectionOptions& options_;
  Wire wire_;
  Session session_;
  Context ctx_;
  std::unique_ptr<Role> role_;

  Phase phase_ = Phase::Waiting;
  Clock::time_point next_attempt_{};
  Clock::time_point deadline_{};  // of the current phase (connect, login, drain, close)
  Clock::time_point opened_at_{};
  int failed_attempts_ = 0;
  bool ever_connected_ = false;
  bool stopping_ = false;
  uint32_t close_id_ = 0;
  std::string drop_reason_;  // set from inside frame handling, acted on after it
  bool drop_requested_ = false;
  Clock::time_point last_recv_{};
  Clock::time_point last_heartbeat_sent_{};
  Clock::time_point reads_resume_at_{};  // the socket's input waits until then (kReadCoalesce)
  std::minstd_rand jitter_;
};

}  // namespace kazoo::core
