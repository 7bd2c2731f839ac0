// Delivery events as the plain JS objects lib/ reads (typings/native.d.ts, `t: 'delivery'`).
#pragma once

#include <napi.h>

#include <cstddef>

#include "core/messages.h"

namespace kazoo::addon {

/// Builds the JS objects of the deliveries of one Drain() call, on the JS thread. Lives inside
/// that call's handle scope: it keeps napi_values of the property keys and of the last texts.
class DeliveryBuilder {
 public:
  explicit DeliveryBuilder(napi_env env) : env_(env) {}
  DeliveryBuilder(const DeliveryBuilder&) = delete;
  DeliveryBuilder& operator=(const DeliveryBuilder&) = delete;

  /// The JS object of delivery `e`.
  Napi::Value Build(const core::Event& e);

  static constexpr size_t kKeyCount = 12;
  static constexpr size_t kTextCount = 5;

 private:
  napi_value Repeated(size_t text, const std::string& bytes);

  napi_env env_;
  struct Cache* cache_ = nullptr;  // per environment, found on the first Build()
  napi_value holder_ = nullptr;    // the cache's JS array: keys, "delivery", last texts
  napi_value keys_[kKeyCount] = {};
  napi_value delivery_ = nullptr;
  napi_value last_[kTextCount] = {};
};

}  // namespace kazoo::addon
