// The hot events (deliveries and query replies) as the plain JS objects lib/ reads
// (typings/native.d.ts, `t: 'delivery'` and `t: 'reply'`).
#pragma once

#include <napi.h>

#include <cstddef>

#include "core/messages.h"

namespace kazoo::addon {

/// Builds the JS objects of the deliveries and replies of one Drain() call, on the JS thread. Lives inside
/// that call's handle scope: it keeps napi_values of the property keys and of the last texts.
class EventBuilder {
 public:
  explicit EventBuilder(napi_env env) : env_(env) {}
  EventBuilder(const EventBuilder&) = delete;
  EventBuilder& operator=(const EventBuilder&) = delete;

  /// The JS object of delivery `e`.
  Napi::Value Build(const core::Event& e);
  /// The JS object of query reply `e`.
  Napi::Value BuildReply(const core::Event& e);

  static constexpr size_t kKeyCount = 14;
  static constexpr size_t kTextCount = 5;

 private:
  napi_value Repeated(size_t text, const std::string& bytes);

  napi_env env_;
  struct Cache* cache_ = nullptr;  // per environment, found on the first Build()
  void Prepare();

  napi_value holder_ = nullptr;  // the cache's JS array: keys, "delivery", "reply", last texts
  napi_value keys_[kKeyCount] = {};
  napi_value delivery_ = nullptr;
  napi_value reply_ = nullptr;
  napi_value last_[kTextCount] = {};
};

}  // namespace kazoo::addon
