// Conversion of JS option and argument objects into core value structs (see convert.h).
#include "addon/convert.h"

#include <string>
#include <vector>

namespace kazoo::addon {
namespace {

bool Fail(Napi::Env env, const std::string& what) {
  Napi::TypeError::New(env, "kazoo: native " + what).ThrowAsJavaScriptException();
  return false;
}

bool GetString(Napi::Env env, Napi::Object o, const char* key, std::string* out) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) return Fail(env, std::string(key) + " must be a string");
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

bool GetInt(Napi::Env env, Napi::Object o, const char* key, int* out) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) return Fail(env, std::string(key) + " must be a number");
  *out = v.As<Napi::Number>().Int32Value();
  return true;
}

bool GetBool(Napi::Env env, Napi::Object o, const char* key, bool* out) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) return Fail(env, std::string(key) + " must be a boolean");
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

bool GetStringArray(Napi::Env env, Napi::Object o, const char* key, std::vector<std::string>* out) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) return Fail(env, std::string(key) + " must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value item = a.Get(i);
    if (!item.IsString()) return Fail(env, std::string(key) + " must be an array of strings");
    out->push_back(item.As<Napi::String>().Utf8Value());
  }
  return true;
}

}  // namespace

bool ReadConnectionOptions(Napi::Env env, Napi::Object o, core::ConnectionOptions* out) {
  std::string late;
  bool ok = GetString(env, o, "host", &out->host) && GetInt(env, o, "port", &out->port) &&
            GetString(env, o, "vhost", &out->vhost) && GetString(env, o, "user", &out->user) &&
            GetString(env, o, "password", &out->password) && GetBool(env, o, "tls", &out->tls) &&
            GetString(env, o, "caCert", &out->ca_cert) && GetString(env, o, "cert", &out->cert) &&
            GetString(env, o, "key", &out->key) && GetBool(env, o, "verifyPeer", &out->verify_peer) &&
            GetBool(env, o, "verifyHostname", &out->verify_hostname) && GetInt(env, o, "serverId", &out->server_id) &&
            GetString(env, o, "zone", &out->zone) && GetBool(env, o, "primary", &out->primary) &&
            GetInt(env, o, "heartbeatSec", &out->heartbeat_sec) &&
            GetInt(env, o, "connectTimeoutMs", &out->connect_timeout_ms) &&
            GetInt(env, o, "maxChannels", &out->max_channels) &&
            GetString(env, o, "nodeHostname", &out->node_hostname) && GetString(env, o, "appName", &out->app_name) &&
            GetString(env, o, "appVersion", &out->app_version) && GetBool(env, o, "confirms", &out->confirms) &&
            GetString(env, o, "eventKey", &out->event_key) && GetString(env, o, "eventSubkey", &out->event_subkey) &&
            GetInt(env, o, "reconnectMinMs", &out->reconnect_min_ms) &&
            GetInt(env, o, "reconnectMaxMs", &out->reconnect_max_ms) && GetString(env, o, "lateReplies", &late);
  ok = ok && GetInt(env, o, "bufferCount", &out->buffer_count) &&
       GetInt(env, o, "publishTimeoutMs", &out->publish_timeout_ms) &&
       GetInt(env, o, "consumerReadWindowMs", &out->consumer_read_window_ms);
  if (!ok) return false;
  Napi::Value buffer_bytes = o.Get("bufferBytes");
  if (!buffer_bytes.IsNumber()) return Fail(env, "bufferBytes must be a number");
  out->buffer_bytes = buffer_bytes.As<Napi::Number>().Int64Value();
  if (out->buffer_count < 0 || out->buffer_bytes < 0 || out->publish_timeout_ms < 1)
    return Fail(env, "publish buffer bounds out of range");
  if (out->consumer_read_window_ms < 0 || out->consumer_read_window_ms > 100)
    return Fail(env, "consumerReadWindowMs out of range");
  // A NUL would silently cut these short inside C APIs (getaddrinfo, SASL, OpenSSL).
  for (const std::string* text :
       {&out->host, &out->vhost, &out->user, &out->password, &out->ca_cert, &out->cert, &out->key, &out->node_hostname})
    if (text->find('\0') != std::string::npos) return Fail(env, "connection options must not contain NUL characters");
  if (out->max_channels < 1 || out->max_channels > 65000) return Fail(env, "maxChannels out of range");
  if (out->reconnect_min_ms < 1 || out->reconnect_max_ms < out->reconnect_min_ms)
    return Fail(env, "reconnect bounds out of range");
  if (out->connect_timeout_ms < 1) return Fail(env, "connectTimeoutMs out of range");
  out->deliver_late_replies = late != "drop";
  std::string role;
  if (!GetString(env, o, "role", &role)) return false;
  if (role != "producer" && role != "consumer") return Fail(env, "role must be producer or consumer");
  out->consumer_role = role == "consumer";
  return true;
}

namespace {

/// A JS string as UTF-8 in one N-API call (the hot path of every publish): written into a
/// per-thread scratch buffer and copied once, instead of asking V8 for the UTF-8 length first and
/// then writing into a zero-filled std::string. False (no exception) when `value` is not a string.
bool ReadUtf8(napi_env env, napi_value value, std::string* out) {
  thread_local std::vector<char> scratch(16 * 1024);
  size_t written = 0;
  if (napi_get_value_string_utf8(env, value, scratch.data(), scratch.size(), &written) != napi_ok) return false;
  // V8 stops before a character that would not fit whole (at most 4 bytes): with 4 bytes to
  // spare nothing was cut off.
  if (written + 4 < scratch.size()) {
    out->assign(scratch.data(), written);
    return true;
  }
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) return false;
  out->resize(length);
  return napi_get_value_string_utf8(env, value, out->data(), length + 1, &written) == napi_ok;
}

}  // namespace

bool ReadPublishArgs(const Napi::CallbackInfo& info, core::Command* out) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || napi_get_value_uint32(env, info[0], &out->id) != napi_ok ||
      !ReadUtf8(env, info[1], &out->exchange) || !ReadUtf8(env, info[2], &out->routing_key) ||
      !ReadUtf8(env, info[3], &out->payload))
    return Fail(env, "publish(id, exchange, routingKey, payload, headers) argument types");
  if (info[4].IsArray()) {
    Napi::Array flat = info[4].As<Napi::Array>();
    uint32_t n = flat.Length();
    if (n % 2 != 0) return Fail(env, "headers must be a flat [key, value, ...] array");
    for (uint32_t i = 0; i < n; i += 2) {
      Napi::Value k = flat.Get(i), v = flat.Get(i + 1);
      if (!k.IsString() || !v.IsString()) return Fail(env, "headers must hold strings");
      out->headers.emplace_back(k.As<Napi::String>().Utf8Value(), v.As<Napi::String>().Utf8Value());
    }
  } else if (!info[4].IsNull() && !info[4].IsUndefined()) {
    return Fail(env, "headers must be an array or null");
  }
  return true;
}

bool ReadSubscription(Napi::Env env, Napi::Object o, core::Subscription* out) {
  bool ok =
      GetString(env, o, "exchange", &out->exchange) && GetString(env, o, "exchangeType", &out->exchange_type) &&
      GetBool(env, o, "exchangePassive", &out->exchange_passive) &&
      GetBool(env, o, "exchangeDurable", &out->exchange_durable) &&
      GetBool(env, o, "exchangeAutoDelete", &out->exchange_auto_delete) &&
      GetBool(env, o, "exchangeInternal", &out->exchange_internal) && GetString(env, o, "queue", &out->queue) &&
      GetBool(env, o, "queuePassive", &out->queue_passive) && GetBool(env, o, "queueDurable", &out->queue_durable) &&
      GetBool(env, o, "queueExclusive", &out->queue_exclusive) &&
      GetBool(env, o, "queueAutoDelete", &out->queue_auto_delete) && GetStringArray(env, o, "routing", &out->routing) &&
      GetBool(env, o, "noAck", &out->no_ack) && GetInt(env, o, "prefetch", &out->prefetch) &&
      GetString(env, o, "eventKey", &out->event_key) && GetString(env, o, "eventSubkey", &out->event_subkey) &&
      GetString(env, o, "consistentWorkerKey", &out->consistent_worker_key);
  if (!ok) return false;
  if (out->prefetch < 1 || out->prefetch > 65535) return Fail(env, "prefetch out of range");
  Napi::Value args = o.Get("queueArguments");
  if (!args.IsObject()) return Fail(env, "queueArguments must be an object");
  Napi::Object table = args.As<Napi::Object>();
  Napi::Array keys = table.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    core::Subscription::Argument a;
    a.key = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = table.Get(keys.Get(i));
    if (v.IsNumber()) {
      a.is_int = true;
      a.integer = v.As<Napi::Number>().Int64Value();
    } else if (v.IsString()) {
      a.text = v.As<Napi::String>().Utf8Value();
    } else {
      return Fail(env, "queueArguments values must be strings or integers");
    }
    out->queue_arguments.push_back(std::move(a));
  }
  Napi::Value bindings = o.Get("exchangeBindings");
  if (!bindings.IsArray()) return Fail(env, "exchangeBindings must be an array");
  Napi::Array list = bindings.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    if (!list.Get(i).IsObject()) return Fail(env, "exchangeBindings entries must be objects");
    Napi::Object b = list.Get(i).As<Napi::Object>();
    core::ExchangeBinding binding;
    if (!(GetString(env, b, "source", &binding.source) && GetString(env, b, "type", &binding.type) &&
          GetBool(env, b, "passive", &binding.passive) && GetBool(env, b, "durable", &binding.durable) &&
          GetBool(env, b, "autoDelete", &binding.auto_delete) && GetBool(env, b, "internal", &binding.internal) &&
          GetStringArray(env, b, "routing", &binding.routing)))
      return false;
    out->exchange_bindings.push_back(std::move(binding));
  }
  return true;
}

}  // namespace kazoo::addon
