// Delivery and reply events to JS (see event_js.h).
//
// Why not Napi::Object::Set("name", ...): each such call creates the key string and looks it up
// in V8's string table, eleven times per delivery, and every text field became a new JS string
// although the routing key, exchange, category and name repeat from one delivery to the next.
// On the consume path that was a good part of the JS thread's time per message. So the keys are
// made once per environment (internalized: read back from an object's own property names) and
// the short text fields reuse the JS string of the previous delivery when their bytes are the
// same. They are held in one JS array behind a napi_ref (Node-API 8 references only objects).
#include "addon/event_js.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace kazoo::addon {
namespace {

enum Key {
  kT,
  kSubId,
  kEpoch,
  kTag,
  kRoutingKey,
  kExchange,
  kRedelivered,
  kPayload,
  kRaw,
  kCategory,
  kName,
  kWorkerKey,
  kId,
  kElapsedMs
};
constexpr const char* kKeyNames[EventBuilder::kKeyCount] = {
    "t",       "subId", "epoch",    "tag",  "routingKey", "exchange", "redelivered",
    "payload", "raw",   "category", "name", "workerKey",  "id",       "elapsedMs"};
// The text fields whose last JS string is kept.
enum Text { kRoutingKeyText, kExchangeText, kCategoryText, kNameText, kWorkerKeyText };
// Layout of the holder array.
constexpr uint32_t kDeliverySlot = EventBuilder::kKeyCount;
constexpr uint32_t kReplySlot = kDeliverySlot + 1;
constexpr uint32_t kFirstTextSlot = kReplySlot + 1;

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

napi_value Text(napi_env env, const std::string& s) {
  napi_value value = nullptr;
  // Plain ASCII reads the same as Latin-1, which V8 copies without decoding.
  if (IsAscii(s)) napi_create_string_latin1(env, s.data(), s.size(), &value);
  else napi_create_string_utf8(env, s.data(), s.size(), &value);
  return value;
}

}  // namespace

/// Per environment, so per JS thread (the main thread and each worker have their own).
struct Cache {
  napi_env env = nullptr;
  napi_ref holder = nullptr;
  std::string last[EventBuilder::kTextCount];  // bytes of the texts in the holder's text slots
  bool has_last[EventBuilder::kTextCount] = {};
};

namespace {

thread_local Cache* current = nullptr;

void DeleteCache(void* arg) {
  auto* cache = static_cast<Cache*>(arg);
  if (cache->holder != nullptr) napi_delete_reference(cache->env, cache->holder);
  if (current == cache) current = nullptr;
  delete cache;
}

Cache* CacheFor(napi_env env) {
  if (current != nullptr && current->env == env) return current;
  auto* cache = new Cache;
  cache->env = env;
  napi_value holder, object, names, undefined;
  napi_create_array_with_length(env, kFirstTextSlot + EventBuilder::kTextCount, &holder);
  napi_create_object(env, &object);
  napi_get_undefined(env, &undefined);
  for (const char* name : kKeyNames) napi_set_named_property(env, object, name, undefined);
  // The object's own names are the internalized strings, which V8 finds without a lookup.
  napi_get_property_names(env, object, &names);
  for (uint32_t i = 0; i < EventBuilder::kKeyCount; ++i) {
    napi_value key;
    napi_get_element(env, names, i, &key);
    napi_set_element(env, holder, i, key);
  }
  napi_value delivery;
  napi_create_string_latin1(env, "delivery", NAPI_AUTO_LENGTH, &delivery);
  napi_set_element(env, holder, kDeliverySlot, delivery);
  napi_value reply;
  napi_create_string_latin1(env, "reply", NAPI_AUTO_LENGTH, &reply);
  napi_set_element(env, holder, kReplySlot, reply);
  napi_create_reference(env, holder, 1, &cache->holder);
  napi_add_env_cleanup_hook(env, DeleteCache, cache);
  current = cache;
  return cache;
}

}  // namespace

napi_value EventBuilder::Repeated(size_t text, const std::string& bytes) {
  if (cache_->has_last[text] && cache_->last[text] == bytes) {
    if (last_[text] == nullptr)
      napi_get_element(env_, holder_, kFirstTextSlot + static_cast<uint32_t>(text), &last_[text]);
    return last_[text];
  }
  napi_value value = Text(env_, bytes);
  napi_set_element(env_, holder_, kFirstTextSlot + static_cast<uint32_t>(text), value);
  cache_->last[text] = bytes;
  cache_->has_last[text] = true;
  last_[text] = value;
  return value;
}

void EventBuilder::Prepare() {
  if (cache_ != nullptr) return;
  cache_ = CacheFor(env_);
  napi_get_reference_value(env_, cache_->holder, &holder_);
  for (uint32_t i = 0; i < kKeyCount; ++i) napi_get_element(env_, holder_, i, &keys_[i]);
  napi_get_element(env_, holder_, kDeliverySlot, &delivery_);
  napi_get_element(env_, holder_, kReplySlot, &reply_);
}

Napi::Value EventBuilder::BuildReply(const core::Event& e) {
  Prepare();
  napi_value o, value;
  napi_create_object(env_, &o);
  auto set = [&](Key key, napi_value v) { napi_set_property(env_, o, keys_[key], v); };
  set(kT, reply_);
  napi_create_uint32(env_, e.id, &value);
  set(kId, value);
  set(kPayload, Text(env_, e.payload));
  set(kRoutingKey, Text(env_, e.routing_key));
  napi_create_double(env_, e.elapsed_ms, &value);
  set(kElapsedMs, value);
  return Napi::Value(env_, o);
}

Napi::Value EventBuilder::Build(const core::Event& e) {
  Prepare();
  napi_value o, value;
  napi_create_object(env_, &o);
  auto set = [&](Key key, napi_value v) { napi_set_property(env_, o, keys_[key], v); };
  set(kT, delivery_);
  napi_create_uint32(env_, e.sub_id, &value);
  set(kSubId, value);
  napi_create_uint32(env_, e.epoch, &value);
  set(kEpoch, value);
  napi_create_double(env_, static_cast<double>(e.delivery_tag), &value);
  set(kTag, value);
  set(kRoutingKey, Repeated(kRoutingKeyText, e.routing_key));
  set(kExchange, Repeated(kExchangeText, e.exchange));
  napi_get_boolean(env_, e.redelivered, &value);
  set(kRedelivered, value);
  if (e.has_payload) {
    set(kPayload, Text(env_, e.payload));
  } else {
    napi_get_null(env_, &value);
    set(kPayload, value);
    napi_create_string_utf8(env_, e.raw.data(), e.raw.size(), &value);
    set(kRaw, value);
  }
  set(kCategory, Repeated(kCategoryText, e.category));
  set(kName, Repeated(kNameText, e.name));
  set(kWorkerKey, Repeated(kWorkerKeyText, e.worker_key));
  return Napi::Value(env_, o);
}

}  // namespace kazoo::addon
