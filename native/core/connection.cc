// Connection: the cross-thread queues (commands in, events and done ids out), the wake-up eventfd and the I/O thread's
// life (see connection.h).
#include "core/connection.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <string>

#include "core/io_loop.h"

namespace kazoo::core {

Connection::Connection(ConnectionOptions options, NotifyFn notify)
    : options_(std::move(options)), notify_(std::move(notify)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("kazoo: eventfd() failed");
}

Connection::~Connection() {
  shutdown();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Connection::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "kazoo-io");  // visible in perf/top/gdb
    // No exception may leave this thread (std::terminate would abort the process): resource
    // exhaustion inside the loop is reported and the loop starts over with a new connection.
    for (int attempt = 0;; ++attempt) {
      try {
        IoLoop loop(*this);
        loop.run();
        return;
      } catch (const std::exception& error) {
        Event event;
        event.type = EventType::Error;
        event.error.code = ErrorCode::ConnectionLost;
        event.error.message =
            std::string("kazoo: the I/O thread of ") + options_.host + " failed (" + error.what() + "); reconnecting";
        try {
          push_event(std::move(event));
          notify_if_needed();
        } catch (...) {}
        if (close_posted_.load() || attempt > 100) return;
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
    }
  });
}

void Connection::post(Command&& command) {
  commands_.push(std::move(command));
  // One eventfd write per burst: the I/O thread clears wake_pending_ before it drains.
  if (!wake_pending_.exchange(true, std::memory_order_seq_cst)) {
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof one);
    (void)ignored;  // EAGAIN only when the counter is saturated, i.e. a wake-up is pending anyway
  }
}

bool Connection::try_post(Command&& command) {
  const auto bytes = static_cast<int64_t>(command.payload.size());
  if (queued_commands_.load(std::memory_order_relaxed) >= kMaxQueuedCommands ||
      queued_bytes_.load(std::memory_order_relaxed) + bytes > kMaxQueuedBytes)
    return false;
  queued_commands_.fetch_add(1, std::memory_order_relaxed);
  queued_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  post(std::move(command));
  return true;
}

void Connection::abort() {
  abort_.store(true, std::memory_order_release);
  uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof one);
  (void)ignored;
  shutdown();
}

bool Connection::request_close(uint32_t id) {
  if (close_posted_.exchange(true)) return false;
  Command close;
  close.type = CommandType::Close;
  close.id = id;
  post(std::move(close));
  return true;
}

void Connection::shutdown() {
  if (!thread_.joinable()) return;
  request_close(0);
  thread_.join();
}

void Connection::push_event(Event&& event) {
  const uint32_t awaited = sync_id_.load(std::memory_order_relaxed);
  if (awaited != 0 && event.id == awaited &&
      (event.type == EventType::Reply || event.type == EventType::Timeout || event.type == EventType::Fail)) {
    std::lock_guard<std::mutex> lock(sync_mutex_);
    // Re-checked under the lock: the waiter may have given up on its deadline meanwhile, and
    // then the event takes the normal route (JS ignores an id nobody waits for).
    if (sync_id_.load(std::memory_order_relaxed) == awaited) {
      sync_event_ = std::move(event);
      sync_ready_ = true;
      sync_id_.store(0, std::memory_order_relaxed);
      sync_cv_.notify_one();
      return;
    }
  }
  events_.push(std::move(event));
  events_unannounced_ = true;
}

void Connection::begin_sync(uint32_t id) {
  std::lock_guard<std::mutex> lock(sync_mutex_);
  sync_ready_ = false;
  sync_id_.store(id, std::memory_order_relaxed);
}

bool Connection::wait_sync(std::chrono::steady_clock::time_point deadline, Event* out) {
  std::unique_lock<std::mutex> lock(sync_mutex_);
  sync_cv_.wait_until(lock, deadline, [this] { return sync_ready_; });
  sync_id_.store(0, std::memory_order_relaxed);
  if (!sync_ready_) return false;
  sync_ready_ = false;
  *out = std::move(sync_event_);
  return true;
}

void Connection::push_done(uint32_t id) {
  done_.push(id);
  events_unannounced_ = true;
}

void Connection::notify_if_needed() {
  if (!events_unannounced_) return;
  events_unannounced_ = false;
  if (!js_scheduled_.exchange(true, std::memory_order_seq_cst)) notify_();
}

}  // namespace kazoo::core
