// JS exports json, jsonCount and reserialize: conversion around the core's JSON functions (see json_functions.h).
#include "addon/json_functions.h"

#include <optional>
#include <string>

#include "core/payload/json_path.h"
#include "core/payload/json_text.h"

namespace kazoo::addon {

namespace {

const char* type_name(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_object: return value.IsArray() ? "array" : "object";
    case napi_function: return "function";
    case napi_bigint: return "bigint";
    default: return "unknown";
  }
}

// lib/ validates first; this re-check only keeps a wrong call from reaching C++ as garbage.
bool read_string(const Napi::CallbackInfo& info, size_t index, const char* param, std::string* out) {
  Napi::Value value = info[index];
  if (!value.IsString()) {
    Napi::TypeError::New(info.Env(), std::string("kazoo: ") + param + " must be a string, got " + type_name(value))
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = value.As<Napi::String>().Utf8Value();
  return true;
}

// json_escape_char is one byte in the module; an empty string turns escaping off.
bool read_escape_char(const Napi::CallbackInfo& info, size_t index, char* out) {
  std::string text;
  if (!read_string(info, index, "escapeChar", &text)) return false;
  *out = text.empty() ? '\0' : text[0];
  return true;
}

Napi::Value Json(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string payload, path;
  char escape_char = '\0';
  if (!read_string(info, 0, "payload", &payload) || !read_string(info, 1, "path", &path) ||
      !read_escape_char(info, 2, &escape_char)) {
    return env.Undefined();
  }
  std::optional<std::string> value = core::json_path_lookup(payload, path, escape_char);
  if (!value) return env.Null();
  return Napi::String::New(env, *value);
}

Napi::Value JsonCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string payload, path;
  char escape_char = '\0';
  if (!read_string(info, 0, "payload", &payload) || !read_string(info, 1, "path", &path) ||
      !read_escape_char(info, 2, &escape_char)) {
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(core::json_path_count(payload, path, escape_char)));
}

Napi::Value Reserialize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string payload;
  if (!read_string(info, 0, "payload", &payload)) return env.Undefined();

  core::JsonParseError parse_error;
  core::JsonPtr root(core::parse_json(payload, &parse_error));
  if (!root) {
    // json-c counts bytes of UTF-8; a JS caller slices its string in UTF-16 units.
    const size_t position = core::utf16_offset(payload, parse_error.position);
    Napi::Error error = Napi::Error::New(env, "kazoo: payload is not valid JSON (" + parse_error.reason +
                                                  " at offset " + std::to_string(position) + ")");
    error.Value().Set("code", Napi::String::New(env, "INVALID_JSON"));
    error.Value().Set("position", Napi::Number::New(env, static_cast<double>(position)));
    error.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // A second argument `true` asks for json-c's own serializer: the reference the unit tests
  // compare serialize_json against (typings: reserialize(payload, reference?)).
#ifdef KAZOO_TESTING
  const bool reference = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
#else
  // The production addon has no test hooks: the reference serializer is in kazoo_amqp_testing.node.
  const bool reference = false;
#endif
  return Napi::String::New(env,
                           reference ? core::serialize_json_reference(root.get()) : core::serialize_json(root.get()));
}

}  // namespace

void InitJsonFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("json", Napi::Function::New(env, Json, "json"));
  exports.Set("jsonCount", Napi::Function::New(env, JsonCount, "jsonCount"));
  exports.Set("reserialize", Napi::Function::New(env, Reserialize, "reserialize"));
}

}  // namespace kazoo::addon
