// JS class Connection: converts JS calls to core commands and core event batches to JS (see connection_wrap.h).
#include "addon/connection_wrap.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "addon/convert.h"
#include "addon/event_runs.h"

namespace kazoo::addon {
namespace {

void CleanupHook(void* arg) {
  // Environment teardown (process exit, worker termination) with a connection still running:
  // join its I/O thread so it never outlives the code it runs.
  auto* bridge = static_cast<Bridge*>(arg);
  bridge->cleanup_hook = false;
  if (bridge->connection) bridge->connection->abort();
  if (bridge->tsfn_live) {
    bridge->tsfn_live = false;
    bridge->tsfn.Abort();
  }
}

/// A C++ exception from the core (resource exhaustion) as a JS error with a KazooError code.
void ThrowCoreError(Napi::Env env, const std::exception& error) {
  Napi::Error js = Napi::Error::New(env, std::string("kazoo: cannot start the connection: ") + error.what());
  js.Value().Set("code", "CONNECT_FAILED");
  js.ThrowAsJavaScriptException();
}

void RemoveCleanupHook(Napi::Env env, Bridge* bridge) {
  if (!bridge->cleanup_hook) return;
  bridge->cleanup_hook = false;
  napi_remove_env_cleanup_hook(env, CleanupHook, bridge);
}

Napi::Object FailureToJs(Napi::Env env, const core::Failure& f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("code", core::error_code_name(f.code));
  o.Set("message", f.message);
  if (f.reply_code != 0) {
    o.Set("replyCode", f.reply_code);
    o.Set("replyText", f.reply_text);
    o.Set("classId", f.class_id);
    o.Set("methodId", f.method_id);
  }
  if (f.position >= 0) o.Set("position", static_cast<double>(f.position));
  return o;
}

Napi::Value EventToJs(Napi::Env env, core::Event& e) {
  Napi::Object o = Napi::Object::New(env);
  switch (e.type) {
    case core::EventType::Fail:
      o.Set("t", "fail");
      o.Set("id", e.id);
      o.Set("error", FailureToJs(env, e.error));
      break;
    case core::EventType::Reply:  // a synchronous query's reply (Drain() sends replies as runs)
      o.Set("t", "reply");
      o.Set("id", e.id);
      o.Set("payload", e.payload);
      o.Set("routingKey", e.routing_key);
      o.Set("elapsedMs", e.elapsed_ms);
      break;
    case core::EventType::Timeout:
      o.Set("t", "timeout");
      o.Set("id", e.id);
      o.Set("elapsedMs", e.elapsed_ms);
      break;
    case core::EventType::Conn:
      o.Set("t", "conn");
      o.Set("state", e.open ? "open" : "closed");
      o.Set("host", e.host);
      o.Set("zone", e.zone);
      if (!e.reason.empty()) o.Set("reason", e.reason);
      break;
    case core::EventType::Blocked:
      o.Set("t", "blocked");
      o.Set("blocked", e.blocked);
      if (!e.reason.empty()) o.Set("reason", e.reason);
      break;
    case core::EventType::Delivery:  // only in Drain(), as runs
      break;
    case core::EventType::Subscribed:
      o.Set("t", "subscribed");
      o.Set("subId", e.sub_id);
      o.Set("epoch", e.epoch);
      o.Set("queue", e.queue);
      o.Set("afterReconnect", e.after_reconnect);
      break;
    case core::EventType::SubFail:
      o.Set("t", "subfail");
      o.Set("subId", e.sub_id);
      o.Set("error", FailureToJs(env, e.error));
      break;
    case core::EventType::Error:
      o.Set("t", "error");
      o.Set("error", FailureToJs(env, e.error));
      if (!e.host.empty()) o.Set("host", e.host);
      break;
    case core::EventType::Done: break;
  }
  return o;
}

/// Runs on the JS thread for each ThreadSafeFunction call: drains everything the I/O thread
/// queued so far and hands it to JS in one call (done ids separately, they are the hot path).
void Drain(Napi::Env env, Napi::Function on_batch, const std::shared_ptr<Bridge>& bridge) {
  if (env == nullptr || !bridge->connection) return;
  core::Connection& connection = *bridge->connection;
  connection.begin_drain();
  Napi::HandleScope scope(env);
  // A bounded batch per call, the rest in the next call: one huge batch (say 50,000 confirms)
  // would hold the event loop for milliseconds, and event-loop delay is what a SIP server feels.
  constexpr size_t kMaxDone = 8192;
  constexpr uint32_t kMaxEvents = 1024;
  Napi::Array events = Napi::Array::New(env);
  uint32_t event_count = 0;
  bool closed = false;
  // Done ids travel as one Uint32Array: one allocation instead of a JS number per publish.
  thread_local std::vector<uint32_t> ids;
  ids.clear();
  uint32_t id;
  while ((closed || ids.size() < kMaxDone) && connection.pop_done(id)) {
    ids.push_back(id);
    if (bridge->close_requested && id == bridge->close_id) closed = true;
  }
  bool more = !closed && ids.size() >= kMaxDone;
  const size_t done_count = ids.size();
  Napi::Value done = env.Null();
  if (done_count != 0) {
    Napi::Uint32Array array = Napi::Uint32Array::New(env, done_count);
    std::memcpy(array.Data(), ids.data(), done_count * sizeof(uint32_t));
    done = array;
  }
  core::Event event;
  // Consecutive deliveries, and consecutive replies, travel as one columnar record each.
  DeliveryRun deliveries(env);
  ReplyRun replies(env);
  uint32_t handed = 0;  // events taken from the queue (a run's events count one by one)
  auto close_runs = [&] {
    if (!deliveries.empty()) events.Set(event_count++, deliveries.finish());
    if (!replies.empty()) events.Set(event_count++, replies.finish());
  };
  // After the close id, the I/O thread is gone: everything left is drained now.
  while ((closed || handed < kMaxEvents) && connection.pop_event(event)) {
    ++handed;
    if (event.type == core::EventType::Delivery) {
      if (!replies.empty()) close_runs();
      deliveries.add(event);
    } else if (event.type == core::EventType::Reply) {
      if (!deliveries.empty()) close_runs();
      replies.add(event);
    } else {
      close_runs();
      events.Set(event_count++, EventToJs(env, event));
    }
  }
  const bool capped = handed >= kMaxEvents;
  close_runs();
  more = more || (!closed && capped);
  if (closed) {
    // The I/O thread has finished; join it and let the process exit when JS is done too.
    connection.shutdown();
    RemoveCleanupHook(env, bridge.get());
    if (bridge->tsfn_live) {
      bridge->tsfn_live = false;
      bridge->tsfn.Release();
    }
  } else if (more) {
    // JS drains the rest with setImmediate (the `more` argument): timers and sockets, a SIP
    // server's included, get their turn between batches. Until then the I/O thread need not
    // schedule another call (claim_drain), though one that slips in is harmless.
    connection.claim_drain();
  }
  if (done_count == 0 && event_count == 0 && !more) return;
  on_batch.Call({done, event_count ? static_cast<Napi::Value>(events) : env.Null(), Napi::Boolean::New(env, more)});
}

}  // namespace

Napi::Function ConnectionWrap::Define(Napi::Env env) {
  return DefineClass(env, "Connection",
                     {
                         InstanceMethod<&ConnectionWrap::Start>("start"),
                         InstanceMethod<&ConnectionWrap::Publish>("publish"),
                         InstanceMethod<&ConnectionWrap::Query>("query"),
                         InstanceMethod<&ConnectionWrap::QuerySync>("querySync"),
                         InstanceMethod<&ConnectionWrap::Subscribe>("subscribe"),
                         InstanceMethod<&ConnectionWrap::Unsubscribe>("unsubscribe"),
                         InstanceMethod<&ConnectionWrap::SettleMany>("settleMany"),
                         InstanceMethod<&ConnectionWrap::Close>("close"),
                         InstanceMethod<&ConnectionWrap::DrainNow>("drain"),
                     });
}

ConnectionWrap::ConnectionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConnectionWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "kazoo: Connection(options, onBatch) expects an object and a function")
        .ThrowAsJavaScriptException();
    return;
  }
  core::ConnectionOptions options;
  if (!ReadConnectionOptions(env, info[0].As<Napi::Object>(), &options)) return;
  on_batch_ = Napi::Persistent(info[1].As<Napi::Function>());
  // No C++ exception may cross into N-API (it would abort the process): resource exhaustion
  // (no eventfd, no memory) becomes a JS error with code CONNECT_FAILED.
  try {
    bridge_ = std::make_shared<Bridge>();
    bridge_->self = bridge_;
    Bridge* raw = bridge_.get();
    bridge_->connection = std::make_unique<core::Connection>(std::move(options), [raw] {
      // I/O thread: schedule one drain; never touch JS here.
      std::shared_ptr<Bridge> keep = raw->self.lock();
      if (!keep || !raw->tsfn_live) return;
      raw->tsfn.NonBlockingCall([keep](Napi::Env env, Napi::Function on_batch) { Drain(env, on_batch, keep); });
    });
  } catch (const std::exception& error) {
    bridge_.reset();
    ThrowCoreError(env, error);
  }
}

ConnectionWrap::~ConnectionWrap() {
  if (!bridge_) return;
  // Garbage-collected without close(): stop the I/O thread before its owner goes away.
  if (bridge_->connection) bridge_->connection->abort();
  RemoveCleanupHook(Env(), bridge_.get());
  if (bridge_->tsfn_live) {
    bridge_->tsfn_live = false;
    bridge_->tsfn.Release();
  }
}

Napi::Value ConnectionWrap::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!bridge_ || bridge_->connection->running() || bridge_->close_requested) return env.Undefined();
  bridge_->tsfn = Napi::ThreadSafeFunction::New(env, on_batch_.Value(), "kazoo-amqp-events", 0, 1);
  bridge_->tsfn_live = true;
  napi_add_env_cleanup_hook(env, CleanupHook, bridge_.get());
  bridge_->cleanup_hook = true;
  try {
    bridge_->connection->start();
  } catch (const std::exception& error) {  // std::system_error: no thread could be created
    RemoveCleanupHook(env, bridge_.get());
    bridge_->tsfn_live = false;
    bridge_->tsfn.Release();
    ThrowCoreError(env, error);
  }
  return env.Undefined();
}

Napi::Value ConnectionWrap::Publish(const Napi::CallbackInfo& info) {
  core::Command command;
  command.type = core::CommandType::Publish;
  if (!ReadPublishArgs(info, &command)) return info.Env().Undefined();
  // false: the queue to the I/O thread is full; lib/ rejects with PUBLISH_BUFFER_FULL.
  return Napi::Boolean::New(info.Env(), bridge_->connection->try_post(std::move(command)));
  return info.Env().Undefined();
}

Napi::Value ConnectionWrap::Query(const Napi::CallbackInfo& info) {
  core::Command command;
  command.type = core::CommandType::Query;
  if (!ReadPublishArgs(info, &command)) return info.Env().Undefined();
  if (!info[5].IsNumber()) {
    Napi::TypeError::New(info.Env(), "kazoo: query timeoutMs must be a number").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  command.timeout_ms = info[5].As<Napi::Number>().Uint32Value();
  command.queued_at = std::chrono::steady_clock::now();
  // false: the queue to the I/O thread is full; lib/ rejects with PUBLISH_BUFFER_FULL.
  return Napi::Boolean::New(info.Env(), bridge_->connection->try_post(std::move(command)));
  return info.Env().Undefined();
}

Napi::Value ConnectionWrap::QuerySync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  core::Command command;
  command.type = core::CommandType::Query;
  if (!ReadPublishArgs(info, &command)) return env.Undefined();
  if (!info[5].IsNumber()) {
    Napi::TypeError::New(env, "kazoo: querySync timeoutMs must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!bridge_ || !bridge_->connection->running() || bridge_->close_requested) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("t", "fail");
    o.Set("id", command.id);
    o.Set("error", FailureToJs(env, core::Failure{core::ErrorCode::NotConnected,
                                                  "kazoo: not connected: the connection is not running"}));
    return o;
  }
  command.timeout_ms = info[5].As<Napi::Number>().Uint32Value();
  command.queued_at = std::chrono::steady_clock::now();
  const uint32_t id = command.id;
  const auto started = command.queued_at;
  // The I/O thread times the query out itself; the margin only guards against an I/O thread
  // that stopped answering, so a blocked JS thread always comes back.
  const auto deadline = command.queued_at + std::chrono::milliseconds(command.timeout_ms) + std::chrono::seconds(2);
  core::Connection& connection = *bridge_->connection;
  // Registered before the post: the reply can never slip into the JS event queue first.
  connection.begin_sync(id);
  connection.post(std::move(command));
  core::Event event;
  if (!connection.wait_sync(deadline, &event)) {
    event.type = core::EventType::Timeout;
    event.id = id;
    event.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  }
  return EventToJs(env, event);
}

Napi::Value ConnectionWrap::Subscribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsObject()) {
    Napi::TypeError::New(env, "kazoo: subscribe(id, subId, subscription) expects numbers and an object")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  core::Command command;
  command.type = core::CommandType::Subscribe;
  command.id = info[0].As<Napi::Number>().Uint32Value();
  command.sub_id = info[1].As<Napi::Number>().Uint32Value();
  command.subscription = std::make_unique<core::Subscription>();
  if (!ReadSubscription(env, info[2].As<Napi::Object>(), command.subscription.get())) return env.Undefined();
  bridge_->connection->post(std::move(command));
  return env.Undefined();
}

Napi::Value ConnectionWrap::Unsubscribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "kazoo: unsubscribe(id, subId) expects numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  core::Command command;
  command.type = core::CommandType::Unsubscribe;
  command.id = info[0].As<Napi::Number>().Uint32Value();
  command.sub_id = info[1].As<Napi::Number>().Uint32Value();
  bridge_->connection->post(std::move(command));
  return env.Undefined();
}

Napi::Value ConnectionWrap::SettleMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, "kazoo: settleMany(settles, count) expects a Float64Array and a number")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Float64Array data = info[0].As<Napi::Float64Array>();
  // Four numbers per settle: subscription id, epoch, delivery tag, flags (1 ack, 2 requeue).
  const size_t count = std::min<size_t>(info[1].As<Napi::Number>().Uint32Value(), data.ElementLength() / 4);
  if (count == 0 || !bridge_) return env.Undefined();
  core::Command command;
  command.type = core::CommandType::Settle;
  command.settles = std::make_unique<std::vector<core::SettleItem>>(count);
  const double* in = data.Data();
  for (size_t i = 0; i < count; ++i, in += 4) {
    core::SettleItem& item = (*command.settles)[i];
    item.sub_id = static_cast<uint32_t>(in[0]);
    item.epoch = static_cast<uint32_t>(in[1]);
    item.delivery_tag = static_cast<uint64_t>(in[2]);
    const auto flags = static_cast<uint32_t>(in[3]);
    item.ack = (flags & 1) != 0;
    item.requeue = (flags & 2) != 0;
  }
  bridge_->connection->post(std::move(command));
  return env.Undefined();
}

Napi::Value ConnectionWrap::DrainNow(const Napi::CallbackInfo& info) {
  if (bridge_ && bridge_->connection) Drain(info.Env(), on_batch_.Value(), bridge_);
  return info.Env().Undefined();
}

Napi::Value ConnectionWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
  if (!bridge_ || bridge_->close_requested) return env.Undefined();
  bridge_->close_requested = true;
  bridge_->close_id = id;
  if (!bridge_->connection->running()) {
    // Never started: nothing to stop; report done on the next tick through JS.
    return Napi::Boolean::New(env, false);
  }
  bridge_->connection->request_close(id);
  return Napi::Boolean::New(env, true);
}

}  // namespace kazoo::addon
