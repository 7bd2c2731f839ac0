// The module's payload rules: fields injected into publishes, deliveries augmented (see kazoo_payload.h).
#include "core/payload/kazoo_payload.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <sys/random.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>

#include "core/payload/fast_json.h"
#include "core/payload/json_text.h"

namespace kazoo::core {
namespace {

struct JsonGuard {
  json_object* obj;
  ~JsonGuard() {
    if (obj) json_object_put(obj);
  }
};

bool has_key(json_object* obj, const char* key) { return json_object_object_get_ex(obj, key, nullptr); }

void add_string_if_absent(json_object* obj, const char* key, std::string_view value) {
  if (has_key(obj, key)) return;
  json_object_object_add(obj, key, json_object_new_string_len(value.data(), static_cast<int>(value.size())));
}

/// json-c's own stringification (what the module reads with json_object_get_string); '' for null.
std::string field_text(json_object* obj, std::string_view key) {
  if (key.empty()) return {};
  json_object* value = nullptr;
  std::string k(key);
  if (!json_object_object_get_ex(obj, k.c_str(), &value) || value == nullptr) return {};
  if (json_object_is_type(value, json_type_string))
    return std::string(json_object_get_string(value), static_cast<size_t>(json_object_get_string_len(value)));
  const char* text = json_object_get_string(value);
  return text ? std::string(text) : std::string();
}

}  // namespace

bool build_publish_body(std::string_view payload, const PayloadIdentity& identity, std::string_view server_id,
                        PublishBody* out, Failure* err, JsonRoute route, std::string_view fixed_msg_id,
                        const IdentityFields* fields, const std::string* server_id_member) {
  // One Msg-ID per publish, whichever route builds the body (used only when the payload has none).
  const std::string generated = fixed_msg_id.empty() ? new_msg_id() : std::string(fixed_msg_id);
  if (route != JsonRoute::Reference) {
    std::optional<IdentityFields> own_fields;
    if (fields == nullptr) fields = &own_fields.emplace(identity);
    std::string own_member;
    if (server_id_member == nullptr) {
      own_member = server_id_field(server_id);
      server_id_member = &own_member;
    }
    if (fast_publish_body(payload, *fields, *server_id_member, generated, out)) return true;
    if (route == JsonRoute::Fast) {
      err->code = ErrorCode::Declined;
      err->message = "fast route declined";
      return false;
    }
  }
  JsonParseError parse_error;
  JsonGuard root{parse_json(payload, &parse_error)};
  if (root.obj == nullptr) {
    // Offsets are reported in UTF-16 units so that payload.slice(position) works in JS.
    size_t position = utf16_offset(payload, parse_error.position);
    err->code = ErrorCode::InvalidJson;
    err->message =
        "kazoo: payload is not valid JSON (" + parse_error.reason + " at offset " + std::to_string(position) + ")";
    err->position = static_cast<int64_t>(position);
    return false;
  }
  if (!json_object_is_type(root.obj, json_type_object)) {
    err->code = ErrorCode::InvalidJson;
    err->message = "kazoo: payload must be a JSON object";
    err->position = 0;
    return false;
  }
  add_string_if_absent(root.obj, "App-Name", identity.app_name);
  add_string_if_absent(root.obj, "App-Version", identity.app_version);
  add_string_if_absent(root.obj, "Node", identity.node);
  json_object* existing_id = nullptr;
  if (json_object_object_get_ex(root.obj, "Msg-ID", &existing_id)) {
    const char* text = existing_id ? json_object_get_string(existing_id) : nullptr;
    // A string's own length: a NUL inside must be seen (and refused), not cut the id short.
    if (text != nullptr && json_object_is_type(existing_id, json_type_string))
      out->msg_id.assign(text, static_cast<size_t>(json_object_get_string_len(existing_id)));
    else out->msg_id = text ? text : "";
  } else {
    out->msg_id = generated;
    json_object_object_add(root.obj, "Msg-ID", json_object_new_string(out->msg_id.c_str()));
  }
  add_string_if_absent(root.obj, "Server-ID", server_id);
  out->body = serialize_json(root.obj);
  return true;
}

DeliveryView augment_delivery(std::string_view body, const DeliveryRules& rules, JsonRoute route) {
  if (route != JsonRoute::Reference) {
    DeliveryView fast;
    if (fast_augment_delivery(body, rules, &fast)) return fast;
    if (route == JsonRoute::Fast) {
      DeliveryView declined;
      declined.declined = true;
      return declined;
    }
  }
  DeliveryView view;
  JsonParseError parse_error;
  JsonGuard root{parse_json(body, &parse_error)};
  if (root.obj == nullptr || !json_object_is_type(root.obj, json_type_object)) return view;
  view.valid = true;
  // json-c replaces an existing key's value in place, so a replaced key keeps its position.
  json_object_object_add(root.obj, "AMQP-Broker-Zone",
                         json_object_new_string_len(rules.zone.data(), static_cast<int>(rules.zone.size())));
  json_object_object_add(root.obj, "AMQP-Received", json_object_new_int64(rules.received));
  json_object* server_id = nullptr;
  if (json_object_object_get_ex(root.obj, "Server-ID", &server_id)) {
    const char* original = server_id ? json_object_get_string(server_id) : nullptr;
    if (original != nullptr && *original != '\0') {
      // No fixed buffer here (the module's 100-byte one overflows on long Server-IDs).
      std::string rewritten = "consumer://" + std::to_string(rules.server_id) + "/" + original;
      json_object_object_del(root.obj, "Server-ID");
      json_object_object_add(root.obj, "Server-ID", json_object_new_string(rewritten.c_str()));
    } else {
      json_object_object_del(root.obj, "Server-ID");
    }
  }
  view.msg_id = field_text(root.obj, "Msg-ID");
  view.category = field_text(root.obj, rules.event_key);
  view.name = field_text(root.obj, rules.event_subkey);
  view.worker_key = field_text(root.obj, rules.worker_key_field);
  view.payload = serialize_json(root.obj);
  return view;
}

namespace {
/// Fills [out, out + size) from /dev/urandom; when the kernel offers no randomness at all, from a
/// time/pid/thread-seeded PRNG as libuuid does then (ids stay unique, only not unpredictable).
void fill_fallback(unsigned char* out, size_t size) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  size_t filled = 0;
  while (fd >= 0 && filled < size) {
    ssize_t n = read(fd, out + filled, size - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    filled += static_cast<size_t>(n);
  }
  if (fd >= 0) close(fd);
  if (filled == size) return;
  thread_local std::mt19937_64 prng(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                                    (static_cast<uint64_t>(getpid()) << 32) ^ reinterpret_cast<uintptr_t>(&filled));
  for (; filled < size; ++filled) out[filled] = static_cast<unsigned char>(prng() >> 56);
}
}  // namespace

std::string new_msg_id() {
  // Same format as the module's uuid_generate_random (v4, lowercase), but the random bytes come
  // from the kernel CSPRNG in batches: libuuid re-seeds random(3) on every call, which profiled
  // at ~9% of the publish path. One getrandom() serves 256 ids. Called on I/O threads only.
  thread_local unsigned char pool[4096];
  thread_local size_t used = sizeof pool;
  if (used + 16 > sizeof pool) {
    size_t filled = 0;
    while (filled < sizeof pool) {
      ssize_t n = getrandom(pool + filled, sizeof pool - filled, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // No getrandom() (a pre-3.17 kernel or a seccomp filter): /dev/urandom, the source
        // libuuid itself would use. libuuid's uuid_generate_random is not called here because
        // its archive cannot be linked into a shared object (thread-local state compiled
        // without -fPIC), and the npm package's prebuilt binary links libuuid statically.
        fill_fallback(pool + filled, sizeof pool - filled);
        break;
      }
      filled += static_cast<size_t>(n);
    }
    used = 0;
  }
  uuid_t uuid;
  std::memcpy(uuid, pool + used, 16);
  used += 16;
  uuid[6] = static_cast<unsigned char>((uuid[6] & 0x0F) | 0x40);  // version 4
  uuid[8] = static_cast<unsigned char>((uuid[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char text[37];
  uuid_unparse_lower(uuid, text);
  return std::string(text, 36);
}

IdentityFields::IdentityFields(const PayloadIdentity& identity) {
  auto field = [](const char* key, const std::string& value) {
    std::string out = std::string(" \"") + key + "\": \"";
    append_json_escaped(out, value);
    out.push_back('"');
    return out;
  };
  app_name = field("App-Name", identity.app_name);
  app_version = field("App-Version", identity.app_version);
  node = field("Node", identity.node);
}

std::string server_id_field(std::string_view server_id) {
  std::string out = " \"Server-ID\": \"";
  append_json_escaped(out, server_id);
  out.push_back('"');
  return out;
}

std::string targeted_server_id(std::string_view node, int server_id, int channel_index) {
  std::string id;
  id.reserve(node.size() + 32);
  id.append(node).append("-<").append(std::to_string(server_id)).append(">-targeted-");
  id.append(std::to_string(channel_index));
  return id;
}

}  // namespace kazoo::core
