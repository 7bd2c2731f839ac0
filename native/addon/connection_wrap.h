// JS class `Connection` (typings/native.d.ts): turns JS calls into core::Command values and
// core::Event batches into JS arrays. No protocol logic lives here.
#pragma once

#include <napi.h>

#include <memory>

#include "core/connection.h"

namespace kazoo::addon {

/// State shared between the wrapper, the ThreadSafeFunction calls queued for it and the
/// environment cleanup hook, so that whichever ends last still sees valid memory.
struct Bridge {
  std::unique_ptr<core::Connection> connection;
  Napi::ThreadSafeFunction tsfn;
  bool tsfn_live = false;
  bool cleanup_hook = false;
  uint32_t close_id = 0;
  bool close_requested = false;
  std::weak_ptr<Bridge> self;
};

class ConnectionWrap : public Napi::ObjectWrap<ConnectionWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ConnectionWrap(const Napi::CallbackInfo& info);
  ~ConnectionWrap() override;

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Publish(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  /// Blocks the JS thread until the query's reply, timeout or failure (KEMI `kazoo_query`).
  Napi::Value QuerySync(const Napi::CallbackInfo& info);
  Napi::Value Subscribe(const Napi::CallbackInfo& info);
  Napi::Value Unsubscribe(const Napi::CallbackInfo& info);
  /// The settles of one JS turn as one command (lib/client/settles.ts).
  Napi::Value SettleMany(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  /// Drains now, on the JS thread: JS calls it (from setImmediate) when a batch said `more`.
  Napi::Value DrainNow(const Napi::CallbackInfo& info);

  std::shared_ptr<Bridge> bridge_;
  Napi::FunctionReference on_batch_;
};

}  // namespace kazoo::addon
