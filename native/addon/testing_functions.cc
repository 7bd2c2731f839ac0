// Test hooks of the test build (kazoo_amqp_testing.node) only: forced-route payload rules, error-code list (see
// testing_functions.h).
#include "addon/testing_functions.h"

#include <string>

#include "core/error_code.h"
#include "core/payload/kazoo_payload.h"

#ifdef KAZOO_TESTING
namespace kazoo::addon {
namespace {

core::JsonRoute RouteOf(const Napi::Value& v) {
  std::string route = v.IsString() ? v.As<Napi::String>().Utf8Value() : "auto";
  if (route == "fast") return core::JsonRoute::Fast;
  if (route == "reference") return core::JsonRoute::Reference;
  return core::JsonRoute::Auto;
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : std::string();
}

/// publishBody(payload, route, msgIdIfAbsent, serverId) -> { body, msgId } | { error, declined }
Napi::Value PublishBody(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  core::PayloadIdentity identity{"kamailio", "9.9.9", "kamailio@test.local"};
  core::PublishBody body;
  core::Failure failure;
  std::string msg_id = StringArg(info, 2);
  if (msg_id.empty()) msg_id = "00000000-0000-4000-8000-000000000000";
  Napi::Object result = Napi::Object::New(env);
  if (core::build_publish_body(StringArg(info, 0), identity, StringArg(info, 3), &body, &failure, RouteOf(info[1]),
                               msg_id)) {
    result.Set("body", body.body);
    result.Set("msgId", body.msg_id);
  } else {
    result.Set("error", core::error_code_name(failure.code));
    result.Set("declined", failure.code == core::ErrorCode::Declined);
  }
  return result;
}

/// deliveryView(body, route, eventKey, eventSubkey, workerKeyField) -> view fields
Napi::Value DeliveryView(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string event_key = StringArg(info, 2), event_subkey = StringArg(info, 3), worker = StringArg(info, 4);
  core::DeliveryRules rules;
  rules.zone = "local";
  rules.server_id = 1;
  rules.received = 1700000000;
  rules.event_key = event_key;
  rules.event_subkey = event_subkey;
  rules.worker_key_field = worker;
  core::DeliveryView view = core::augment_delivery(StringArg(info, 0), rules, RouteOf(info[1]));
  Napi::Object result = Napi::Object::New(env);
  result.Set("valid", view.valid);
  result.Set("declined", view.declined);
  result.Set("payload", view.payload);
  result.Set("msgId", view.msg_id);
  result.Set("category", view.category);
  result.Set("name", view.name);
  result.Set("workerKey", view.worker_key);
  return result;
}

Napi::Value ErrorCodes(const Napi::CallbackInfo& info) {
  int count = 0;
  const char* const* names = core::error_code_names(&count);
  Napi::Array result = Napi::Array::New(info.Env(), static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) result.Set(static_cast<uint32_t>(i), names[i]);
  return result;
}

}  // namespace

void InitTestingFunctions(Napi::Env env, Napi::Object exports) {
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("publishBody", Napi::Function::New(env, PublishBody, "publishBody"));
  testing.Set("deliveryView", Napi::Function::New(env, DeliveryView, "deliveryView"));
  testing.Set("errorCodes", Napi::Function::New(env, ErrorCodes, "errorCodes"));
  exports.Set("testing", testing);
}

}  // namespace kazoo::addon
#else
namespace kazoo::addon {
// The production addon carries no test hooks (see CMakeLists.txt: kazoo_amqp_testing).
void InitTestingFunctions(Napi::Env, Napi::Object) {}
}  // namespace kazoo::addon
#endif
