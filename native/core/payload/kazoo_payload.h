// The kazoo module's payload rules (spec 8.1-8.3 and 11.2), on json-c so the bytes match.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/messages.h"

namespace kazoo::core {

/// Who this node is: the values injected into every published payload.
struct PayloadIdentity {
  std::string app_name;
  std::string app_version;
  std::string node;  // "kamailio@<node_hostname>"
};

/// The injected members rendered once per connection (` "App-Name": "kamailio"` ...): the fast
/// route appends these instead of escaping the same values for every publish.
struct IdentityFields {
  std::string app_name, app_version, node;
  explicit IdentityFields(const PayloadIdentity& identity);
};

/// ` "Server-ID": "<escaped id>"`, rendered once per publish channel.
std::string server_id_field(std::string_view server_id);

/// Result of preparing a body for basic.publish.
struct PublishBody {
  std::string body;    // json-c spaced serialization
  std::string msg_id;  // the Msg-ID the body carries (caller's or generated)
};

/// Which implementation rewrites JSON: the single-pass fast route (core/payload/fast_json.h) when it
/// accepts the input, else json-c (Auto); Fast and Reference force one, for differential tests.
enum class JsonRoute { Auto, Fast, Reference };

/// Parses `payload` (json-c lenient), appends App-Name, App-Version, Node, Msg-ID and then
/// Server-ID, each only when the top-level key is absent, and serializes. Returns false with
/// `err` set (code INVALID_JSON, position) when the payload is not a JSON object, or (route
/// Fast only) with err->code ErrorCode::Declined when the fast route does not take the input.
/// `fixed_msg_id`, when not empty, replaces the generated Msg-ID (tests).
/// `fields` / `server_id_member` are the pre-rendered forms of identity / server_id (pass them
/// on the hot path; when null they are rendered here).
bool build_publish_body(std::string_view payload, const PayloadIdentity& identity, std::string_view server_id,
                        PublishBody* out, Failure* err, JsonRoute route = JsonRoute::Auto,
                        std::string_view fixed_msg_id = {}, const IdentityFields* fields = nullptr,
                        const std::string* server_id_member = nullptr);

/// A delivery turned into the module's $kzE / $kzR text.
struct DeliveryView {
  bool valid = false;      // false: body is not a JSON object (payload empty)
  std::string payload;     // augmented, re-serialized
  std::string msg_id;      // top-level Msg-ID, stringified ('' when absent)
  std::string category;    // value of the event key field ('' when absent/null)
  std::string name;        // value of the event subkey field
  std::string worker_key;  // consistent-worker key value ('' when absent/null)
  bool declined = false;   // route Fast only: the fast route did not take the input
};

struct DeliveryRules {
  std::string_view zone;
  int server_id = 1;
  int64_t received = 0;  // Unix seconds
  std::string_view event_key, event_subkey, worker_key_field;
};

/// Spec 11.2: adds/replaces AMQP-Broker-Zone and AMQP-Received, rewrites a non-empty Server-ID
/// to consumer://<server-id>/<original> and moves it last, removes an empty one.
DeliveryView augment_delivery(std::string_view body, const DeliveryRules& rules, JsonRoute route = JsonRoute::Auto);

/// A new random UUID v4 in lowercase, the format of the module's libuuid Msg-IDs (random bytes
/// from batched getrandom(); libuuid only formats them).
std::string new_msg_id();

/// "kamailio@<host>-<S>-targeted-<i>": the Server-ID injected for channel index i.
std::string targeted_server_id(std::string_view node, int server_id, int channel_index);

}  // namespace kazoo::core
