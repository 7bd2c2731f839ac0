// Deliveries and query replies to JS as columns (see event_runs.h).
#include "addon/event_runs.h"

#include <cstring>

namespace kazoo::addon {
namespace {
// Distinct texts searched before a text is added again: a run rarely has more (one routing key,
// exchange, category and name per kind of event); past that a repeat just costs an entry.
constexpr size_t kTextSearch = 32;

bool IsAscii(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  uint64_t high = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    high |= word;
  }
  for (; i < n; ++i) high |= p[i];
  return (high & 0x8080808080808080ull) == 0;
}

/// An array of `values`.
napi_value JsArray(napi_env env, const std::vector<napi_value>& values) {
  napi_value array;
  napi_create_array_with_length(env, values.size(), &array);
  for (uint32_t i = 0; i < values.size(); ++i) napi_set_element(env, array, i, values[i]);
  return array;
}

/// A typed array (Float64Array for double, Uint32Array for uint32_t) holding a copy of `values`.
template <typename T>
Napi::TypedArrayOf<T> TypedCopy(Napi::Env env, const std::vector<T>& values) {
  Napi::TypedArrayOf<T> array = Napi::TypedArrayOf<T>::New(env, values.size());
  if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(T));
  return array;
}

}  // namespace

napi_value JsText(napi_env env, const std::string& s) {
  napi_value value = nullptr;
  // Plain ASCII reads the same as Latin-1, which V8 copies without decoding.
  if (IsAscii(s)) napi_create_string_latin1(env, s.data(), s.size(), &value);
  else napi_create_string_utf8(env, s.data(), s.size(), &value);
  return value;
}

uint32_t DeliveryRun::text_index(const std::string& bytes) {
  const size_t n = texts_.size();
  const size_t from = n > kTextSearch ? n - kTextSearch : 0;
  for (size_t i = n; i-- > from;)
    if (texts_[i] == bytes) return static_cast<uint32_t>(i);
  texts_.push_back(bytes);
  text_values_.push_back(JsText(env_, bytes));
  return static_cast<uint32_t>(n);
}

void DeliveryRun::add(const core::Event& e) {
  numbers_.push_back(e.sub_id);
  numbers_.push_back(e.epoch);
  numbers_.push_back(static_cast<double>(e.delivery_tag));
  numbers_.push_back(e.redelivered ? 1 : 0);
  numbers_.push_back(e.has_payload ? 1 : 0);
  indexes_.push_back(text_index(e.routing_key));
  indexes_.push_back(text_index(e.exchange));
  indexes_.push_back(text_index(e.category));
  indexes_.push_back(text_index(e.name));
  indexes_.push_back(text_index(e.worker_key));
  payloads_.push_back(e.has_payload ? JsText(env_, e.payload) : JsText(env_, e.raw));
  ++count_;
}

Napi::Value DeliveryRun::finish() {
  Napi::Env env(env_);
  Napi::Object record = Napi::Object::New(env);
  record.Set("t", "deliveries");
  record.Set("n", static_cast<double>(count_));
  record.Set("numbers", TypedCopy(env, numbers_));
  record.Set("indexes", TypedCopy(env, indexes_));
  record.Set("payloads", Napi::Value(env, JsArray(env_, payloads_)));
  record.Set("texts", Napi::Value(env, JsArray(env_, text_values_)));
  count_ = 0;
  numbers_.clear();
  indexes_.clear();
  payloads_.clear();
  texts_.clear();
  text_values_.clear();
  return record;
}

void ReplyRun::add(const core::Event& e) {
  ids_.push_back(e.id);
  elapsed_.push_back(e.elapsed_ms);
  payloads_.push_back(JsText(env_, e.payload));
  routing_keys_.push_back(JsText(env_, e.routing_key));
}

Napi::Value ReplyRun::finish() {
  Napi::Env env(env_);
  Napi::Object record = Napi::Object::New(env);
  record.Set("t", "replies");
  record.Set("ids", TypedCopy(env, ids_));
  record.Set("elapsedMs", TypedCopy(env, elapsed_));
  record.Set("payloads", Napi::Value(env, JsArray(env_, payloads_)));
  record.Set("routingKeys", Napi::Value(env, JsArray(env_, routing_keys_)));
  ids_.clear();
  elapsed_.clear();
  payloads_.clear();
  routing_keys_.clear();
  return record;
}

}  // namespace kazoo::addon
