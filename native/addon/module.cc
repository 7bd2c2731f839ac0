// Module entry: the only place the addon's exports are assembled.
#include <napi.h>

#include "addon/connection_wrap.h"
#include "addon/json_functions.h"
#include "addon/testing_functions.h"

namespace kazoo::addon {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Connection", ConnectionWrap::Define(env));
  InitJsonFunctions(env, exports);
  InitTestingFunctions(env, exports);
  return exports;
}

}  // namespace kazoo::addon

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return kazoo::addon::Init(env, exports); }

NODE_API_MODULE(kazoo_amqp, InitModule)
