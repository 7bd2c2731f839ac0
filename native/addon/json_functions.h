// kz.json / kz.json.count / reserialize for JS: thin wrappers over native/core/json_path and
// json_text. They run synchronously on the JS thread (pure CPU, no connection involved).
#pragma once

#include <napi.h>

namespace kazoo::addon {

/// Adds `json`, `jsonCount` and `reserialize` (typings/native.d.ts) to the module's exports.
void InitJsonFunctions(Napi::Env env, Napi::Object exports);

}  // namespace kazoo::addon
