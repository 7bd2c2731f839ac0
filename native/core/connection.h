// One broker connection and the I/O thread that owns it.
//
// Thread affinity: every amqp_* call for this connection happens on its I/O thread (rabbitmq-c is
// not thread-safe per connection). Other threads only post() commands and pop_event() results;
// both go through lock-free queues, and the I/O thread never waits for the JS thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "core/messages.h"
#include "core/mpsc_queue.h"
#include "core/spsc_queue.h"

namespace kazoo::core {

class IoLoop;

class Connection {
 public:
  /// Called on the I/O thread when events became available and the JS side is not already
  /// scheduled to drain them; it must only schedule (e.g. a ThreadSafeFunction call), not drain.
  using NotifyFn = std::function<void()>;

  Connection(ConnectionOptions options, NotifyFn notify);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Starts the I/O thread (once); it connects and reconnects until a Close command.
  void start();
  /// Any thread: queue a command and wake the I/O thread.
  void post(Command&& command);
  /// Any thread: queue a publish or query unless the queue to the I/O thread already holds
  /// kMaxQueuedCommands commands or kMaxQueuedBytes payload bytes (the broker is not reading and
  /// JS keeps publishing): then false, nothing queued, and the caller rejects it at once.
  bool try_post(Command&& command);
  static constexpr int64_t kMaxQueuedCommands = 200000;
  static constexpr int64_t kMaxQueuedBytes = 256ll << 20;
  /// Environment teardown (worker.terminate(), process exit, garbage collection): close without
  /// waiting for confirms or the broker's close-ok, and join the I/O thread.
  void abort();
  /// I/O thread: abort() was called.
  bool aborting() const { return abort_.load(std::memory_order_acquire); }
  /// Draining thread: call before a drain so that events pushed during it schedule a new one.
  void begin_drain() { js_scheduled_.store(false, std::memory_order_seq_cst); }
  /// Draining thread: a drain that stopped early schedules the next one itself, unless the I/O
  /// thread already did (returns false then).
  bool claim_drain() { return !js_scheduled_.exchange(true, std::memory_order_seq_cst); }
  /// Draining thread only.
  bool pop_event(Event& out) { return events_.pop(out); }
  /// Draining thread only: ids of commands that simply succeeded (the hot path of publish).
  bool pop_done(uint32_t& id) { return done_.pop(id); }
  /// Whether start() ran and the thread has not been joined.
  bool running() const { return thread_.joinable(); }
  /// Queues the Close command (once; later calls return false). Its id is reported done.
  bool request_close(uint32_t id);
  /// Posts a Close (if none was posted) and joins the I/O thread. Idempotent.
  void shutdown();

  /// JS thread, before posting query `id`: its Reply/Timeout/Fail event goes to wait_sync()
  /// instead of the event queue. One synchronous query at a time (the JS thread is blocked).
  void begin_sync(uint32_t id);
  /// JS thread: blocks (no spinning; the I/O thread keeps running) until the awaited event
  /// arrived or `deadline` passed. Returns false on the deadline; the wait is over either way.
  bool wait_sync(std::chrono::steady_clock::time_point deadline, Event* out);

 private:
  friend class IoLoop;
  friend struct Context;

  const ConnectionOptions& options() const { return options_; }
  /// I/O thread only.
  bool pop_command(Command& out) {
    if (!commands_.pop(out)) return false;
    if (out.type == CommandType::Publish || out.type == CommandType::Query) {
      queued_commands_.fetch_sub(1, std::memory_order_relaxed);
      queued_bytes_.fetch_sub(static_cast<int64_t>(out.payload.size()), std::memory_order_relaxed);
    }
    return true;
  }
  void push_event(Event&& event);
  void push_done(uint32_t id);
  void notify_if_needed();

  ConnectionOptions options_;
  NotifyFn notify_;
  MpscQueue<Command> commands_;
  MpscQueue<Event> events_;
  // A full Event per confirmed publish would be mostly empty strings; the I/O thread is the only
  // producer and the drain the only consumer.
  SpscQueue<uint32_t> done_;
  int wake_fd_ = -1;  // eventfd the I/O thread polls beside the socket
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> js_scheduled_{false};
  std::atomic<bool> close_posted_{false};
  std::atomic<bool> abort_{false};
  std::atomic<int64_t> queued_commands_{0};
  std::atomic<int64_t> queued_bytes_{0};
  bool events_unannounced_ = false;  // I/O thread only
  // The synchronous query's hand-over (kazoo_query in a KEMI script): push_event checks
  // sync_id_ with one relaxed load; the JS thread stored it before posting the query, and the
  // queue's release/acquire makes that store visible to the I/O thread that pops the command.
  std::atomic<uint32_t> sync_id_{0};
  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  bool sync_ready_ = false;  // guarded by sync_mutex_
  Event sync_event_;         // guarded by sync_mutex_
  std::thread thread_;
};

}  // namespace kazoo::core
