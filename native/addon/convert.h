// JS values -> core value structs. lib/ validated everything already; these checks only keep
// a wrong call from crashing the process (a TypeError is thrown and false returned).
#pragma once

#include <napi.h>

#include "core/messages.h"

namespace kazoo::addon {

bool ReadConnectionOptions(Napi::Env env, Napi::Object from, core::ConnectionOptions* out);
/// (id, exchange, routingKey, payload, headers[]|null) into a Publish/Query command.
bool ReadPublishArgs(const Napi::CallbackInfo& info, core::Command* out);
bool ReadSubscription(Napi::Env env, Napi::Object from, core::Subscription* out);

}  // namespace kazoo::addon
