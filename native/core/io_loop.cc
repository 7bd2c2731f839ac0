// The I/O thread's loop (see io_loop.h).
#include "core/io_loop.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/consumer.h"
#include "core/producer.h"

namespace kazoo::core {
namespace {

constexpr size_t kCommandBurst = 1024;
constexpr int kIdlePollMs = 1000;
// close(): how long unconfirmed publishes may still be confirmed, then how long the broker may
// take to answer connection.close. Together well under the 3.5 s close() promises.
constexpr auto kCloseDrain = std::chrono::milliseconds(1500);
constexpr auto kCloseHandshake = std::chrono::milliseconds(500);

int64_t ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

}  // namespace

IoLoop::IoLoop(Connection& owner)
    : owner_(owner),
      options_(owner.options()),
      session_(wire_, options_),
      ctx_{owner, options_, wire_, session_, nullptr},
      jitter_(static_cast<unsigned>(Clock::now().time_since_epoch().count())) {
  ctx_.drop = [this](const std::string& reason) {
    if (drop_requested_) return;
    drop_requested_ = true;
    drop_reason_ = reason;
  };
  if (options_.consumer_role) role_ = std::make_unique<Consumer>(ctx_);
  else role_ = std::make_unique<Producer>(ctx_);
  session_.set_listener(role_.get());
}

int IoLoop::next_backoff_ms() {
  // The first attempt after a connection that held goes at once; then min, 2 min, 4 min ...
  // capped at max, each with up to 50 % jitter so that many nodes do not reconnect in step.
  if (failed_attempts_ == 0) return 0;
  int64_t delay = options_.reconnect_min_ms;
  for (int i = 1; i < failed_attempts_ && delay < options_.reconnect_max_ms; ++i) delay *= 2;
  delay = std::min<int64_t>(delay, options_.reconnect_max_ms);
  std::uniform_int_distribution<int64_t> spread(delay / 2, delay);
  return static_cast<int>(spread(jitter_));
}

void IoLoop::run() {
  next_attempt_ = Clock::now();
  while (true) {
    auto now = Clock::now();
    if (stopping_ && phase_ == Phase::Waiting) break;
    if (phase_ == Phase::Waiting && now >= next_attempt_) start_connect(now);

    // While the role defers wake-ups, wake_pending_ stays set, so JS queues commands without
    // writing the eventfd and the loop takes them on its next turn (bounded by the role's
    // deadline). Otherwise it is cleared before draining, so a command queued after the drain
    // wakes the loop.
    owner_.wake_pending_.store(role_->defer_command_wakeups(now), std::memory_order_seq_cst);
    process_commands();
    if (wire_.phase() == Wire::Phase::Open && !drop_requested_) {
      std::string reason;
      if (!wire_.flush(&reason)) ctx_.drop(reason);
    }
    if (drop_requested_) drop(drop_reason_);
    role_->after_io();
    owner_.notify_if_needed();
    if (stopping_ && phase_ == Phase::Waiting) break;

    pollfd fds[2];
    nfds_t count = 0;
    fds[count++] = {owner_.wake_fd_, POLLIN, 0};
    now = Clock::now();
    const bool reads_paused = now < reads_resume_at_ && wire_.phase() == Wire::Phase::Open;
    if (wire_.fd() >= 0) {
      short events = wire_.poll_events();
      if (reads_paused) events = static_cast<short>(events & ~POLLIN);  // errors and hang-ups still wake
      fds[count++] = {wire_.fd(), events, 0};
    }
    Clock::duration wait = std::chrono::milliseconds(wire_.pending_input() && !reads_paused ? 0 : poll_timeout_ms(now));
    if (reads_paused) wait = std::min<Clock::duration>(wait, reads_resume_at_ - now);
    const auto wait_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    const timespec timeout{static_cast<time_t>(wait_ns / 1000000000), static_cast<long>(wait_ns % 1000000000)};
    int rc = ppoll(fds, count, &timeout, nullptr);
    if (rc < 0 && errno != EINTR) {
      if (wire_.fd() >= 0) drop("poll failed");
      continue;
    }
    if (rc > 0 && (fds[0].revents & POLLIN)) {
      uint64_t ignored;
      ssize_t n = read(owner_.wake_fd_, &ignored, sizeof ignored);
      (void)n;
    }
    now = Clock::now();
    if (count == 2) {
      const short revents = rc > 0 ? fds[1].revents : 0;
      handle_io(revents, now);
      if ((revents & POLLIN) && wire_.phase() == Wire::Phase::Open) {
        const Clock::duration pause = role_->read_pause();
        if (pause > Clock::duration::zero()) reads_resume_at_ = now + pause;
      }
    } else if (wire_.pending_input()) {
      handle_io(POLLIN, now);
    }
    if (drop_requested_) drop(drop_reason_);
    advance(now);
    service_timers(now);
    if (drop_requested_) drop(drop_reason_);
    role_->after_io();
    owner_.notify_if_needed();
  }
  finish();
}

void IoLoop::start_connect(Clock::time_point now) {
  std::string reason;
  drop_requested_ = false;
  if (!wire_.start(options_, &reason)) {
    phase_ = Phase::Connecting;
    drop(reason);
    return;
  }
  phase_ = Phase::Connecting;
  deadline_ = now + std::chrono::milliseconds(options_.connect_timeout_ms);
}

void IoLoop::handle_io(short revents, Clock::time_point now) {
  std::string reason;
  switch (wire_.phase()) {
    case Wire::Phase::Connecting:
    case Wire::Phase::Handshaking: {
      const bool was_connecting = wire_.phase() == Wire::Phase::Connecting;
      if (!wire_.advance(revents, &reason)) {
        ctx_.drop(reason);
        return;
      }
      if (was_connecting && wire_.phase() != Wire::Phase::Connecting) {
        // TCP is up: the TLS handshake and the login share one deadline, as rabbitmq-c's did.
        deadline_ = now + std::chrono::milliseconds(std::max(options_.connect_timeout_ms, 5000));
      }
      if (wire_.phase() == Wire::Phase::Open) {
        std::string name =
            "kazoo-amqp kamailio@" + options_.node_hostname + (options_.consumer_role ? " consumer" : " producer");
        session_.begin_login(name, deadline_);
        phase_ = Phase::LoggingIn;
        last_recv_ = last_heartbeat_sent_ = now;
      }
      return;
    }
    case Wire::Phase::Open: break;
    case Wire::Phase::Closed: return;
  }
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    if (!wire_.read([this](const InFrame& frame) { on_frame(frame); }, &reason)) {
      if (phase_ == Phase::LoggingIn) reason = "login failed: " + reason;
      if (session_.state() == Session::State::Failed) reason = session_.failure_reason();
      ctx_.drop(reason);
      return;
    }
  }
  if (session_.state() == Session::State::Failed) ctx_.drop(session_.failure_reason());
  if (!drop_requested_ && !wire_.flush(&reason)) ctx_.drop(reason);
}

void IoLoop::on_frame(const InFrame& frame) {
  if (drop_requested_) return;
  last_recv_ = Clock::now();
  if (frame.type == AMQP_FRAME_HEARTBEAT) return;
  if (frame.type == AMQP_FRAME_METHOD && session_.on_method(frame)) return;
  if (phase_ == Phase::LoggingIn) return;
  role_->on_frame(frame);
}

void IoLoop::advance(Clock::time_point now) {
  if (drop_requested_) return;
  if (phase_ == Phase::LoggingIn && session_.state() == Session::State::Open) {
    phase_ = Phase::SettingUp;
    role_->on_open(ever_connected_);
  }
  if (drop_requested_) return;
  if (phase_ == Phase::SettingUp && role_->ready()) {
    phase_ = Phase::Ready;
    opened_at_ = now;
    ever_connected_ = true;
    emit_connection_event(true, "");
  }
  if (stopping_ && (phase_ == Phase::Connecting || phase_ == Phase::LoggingIn || phase_ == Phase::SettingUp)) {
    drop("closed by client");
    return;
  }
  if (stopping_ && owner_.aborting() && phase_ != Phase::Waiting) {
    // Environment teardown: no confirms or close-ok to wait for; the broker cleans up.
    drop("closed by client");
    return;
  }
  if (stopping_ && phase_ == Phase::Ready) {
    phase_ = Phase::Draining;
    deadline_ = now + kCloseDrain;
  }
  if (phase_ == Phase::Draining && (!role_->settling() || now >= deadline_)) {
    session_.begin_close();
    phase_ = Phase::Closing;
    deadline_ = now + kCloseHandshake;
  }
  if (phase_ == Phase::Closing && session_.state() == Session::State::Closed) drop("closed by client");
}

void IoLoop::service_timers(Clock::time_point now) {
  role_->service(now);
  if (drop_requested_) return;
  switch (phase_) {
    case Phase::Connecting:
      if (now >= deadline_) ctx_.drop("connect timed out");
      return;
    case Phase::Closing:
      if (now >= deadline_) ctx_.drop("closed by client");
      return;
    case Phase::Waiting: return;
    default: break;
  }
  session_.expire(now);
  if (session_.state() == Session::State::Failed) {
    ctx_.drop(session_.failure_reason());
    return;
  }
  const int heartbeat = session_.heartbeat_sec();
  if (heartbeat <= 0 || phase_ == Phase::LoggingIn) return;
  // Our own heartbeats, through the one writer, at half the interval; two silent intervals
  // from the broker mean it is gone (unless it blocked us: RabbitMQ then stops its heartbeats).
  const int64_t interval_ms = heartbeat * 1000;
  if (ms_between(last_heartbeat_sent_, now) >= interval_ms / 2) {
    wire_.out().heartbeat();
    last_heartbeat_sent_ = now;
  }
  if (!ctx_.blocked && ms_between(last_recv_, now) > 2 * interval_ms) ctx_.drop("missed broker heartbeats");
}

int IoLoop::poll_timeout_ms(Clock::time_point now) const {
  // close() (or environment teardown) was taken from the queue in this turn: advance() must act
  // on it now, not after an idle poll with no wake-up left to cut it short.
  if (stopping_ && (owner_.aborting() || (phase_ != Phase::Draining && phase_ != Phase::Closing))) return 0;
  Clock::time_point next = now + std::chrono::milliseconds(kIdlePollMs);
  auto consider = [&](Clock::time_point t) { next = std::min(next, t); };
  if (phase_ == Phase::Waiting) consider(next_attempt_);
  if (phase_ == Phase::Connecting || phase_ == Phase::Draining || phase_ == Phase::Closing) consider(deadline_);
  Clock::time_point t;
  if (session_.next_deadline(&t)) consider(t);
  if (role_->next_deadline(&t)) consider(t);
  if (phase_ != Phase::Waiting && session_.heartbeat_sec() > 0)
    consider(last_heartbeat_sent_ + std::chrono::milliseconds(session_.heartbeat_sec() * 500));
  if (phase_ == Phase::Draining) consider(now + std::chrono::milliseconds(20));  // settling() is polled
  return static_cast<int>(std::max<int64_t>(0, ms_between(now, next) + (next > now ? 1 : 0)));
}

void IoLoop::process_commands() {
  // Once close() started, later commands wait for finish() (they are answered CLOSED).
  for (size_t n = 0; n < kCommandBurst && !stopping_; ++n) {
    // The broker is not reading (flow control) and frames pile up: leave commands queued until
    // the socket drains; their promises stay pending, which is the back-pressure JS sees.
    if (phase_ != Phase::Waiting && !role_->accepting_commands()) return;
    Command command;
    if (!owner_.pop_command(command)) return;
    if (command.type == CommandType::Close) {
      stopping_ = true;
      close_id_ = command.id;
      role_->before_close();
      return;
    }
    role_->on_command(command);
  }
}

void IoLoop::drop(const std::string& reason) {
  const bool was_open = phase_ == Phase::Ready || phase_ == Phase::Draining || phase_ == Phase::Closing;
  drop_requested_ = false;
  if (phase_ == Phase::Ready) {
    // Best effort: frames already queued (acks) still leave before the socket closes.
    std::string ignored;
    wire_.flush(&ignored);
  }
  wire_.close();
  session_.reset();
  ctx_.blocked = false;
  role_->on_closed(reason, stopping_);
  const auto now = Clock::now();
  if (was_open) {
    emit_connection_event(false, reason);
    // A connection that held for a second earns an immediate retry; one killed right away (a
    // refused re-declare, an overloaded broker) keeps backing off.
    if (ms_between(opened_at_, now) >= 1000) failed_attempts_ = 0;
    else ++failed_attempts_;
  } else if (!stopping_) {
    Event event;
    event.type = EventType::Error;
    event.error = make_failure(ErrorCode::ConnectFailed, "kazoo: cannot connect to " + options_.host + ":" +
                                                             std::to_string(options_.port) + " (" + reason + ")");
    event.host = options_.host;
    ctx_.emit(std::move(event));
    ++failed_attempts_;
  }
  phase_ = Phase::Waiting;
  next_attempt_ = now + std::chrono::milliseconds(next_backoff_ms());
  owner_.notify_if_needed();
}

void IoLoop::emit_connection_event(bool open, const std::string& reason) {
  Event event;
  event.type = EventType::Conn;
  event.open = open;
  event.host = options_.host;
  event.zone = options_.zone;
  event.reason = reason;
  ctx_.emit(std::move(event));
}

void IoLoop::finish() {
  // Commands that raced with close() are answered, never left hanging.
  Command command;
  while (owner_.pop_command(command)) {
    if (command.type == CommandType::Publish || command.type == CommandType::Query ||
        command.type == CommandType::Subscribe)
      ctx_.fail(command.id, make_failure(ErrorCode::Closed, "kazoo: client is closed"));
    else if (command.type == CommandType::Unsubscribe || command.type == CommandType::Close) ctx_.done(command.id);
  }
  role_->finish();
  ctx_.done(close_id_);
  owner_.notify_if_needed();
}

}  // namespace kazoo::core
