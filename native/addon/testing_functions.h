// `testing` export: the payload rules with a forced JSON route and fixed identity, so unit tests
// can compare the fast route with the json-c reference byte for byte. Not part of the public API.
#pragma once

#include <napi.h>

namespace kazoo::addon {

void InitTestingFunctions(Napi::Env env, Napi::Object exports);

}  // namespace kazoo::addon
