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

/// Result of preparing a body for basic.publish.
struct PublishBody {
  std::string body;    // json-c spaced serialization
  std::string msg_id;  // the Msg-ID the body carries (caller's or generated)
};

/// Parses `payload` (json-c lenient), appends App-Name, App-Version, Node, Msg-ID and then
/// Server-ID, each only when the top-level key is absent, and serializes. Returns false with
/// `err` set (code INVALID_JSON, position) when the payload is not a JSON object.
bool build_publish_body(std::string_view payload, const PayloadIdentity& identity,
                        std::string_view server_id, PublishBody* out, Failure* err);

/// A delivery turned into the module's $kzE / $kzR text.
struct DeliveryView {
  bool valid = false;      // false: body is not a JSON object (payload empty)
  std::string payload;     // augmented, re-serialized
  std::string msg_id;      // top-level Msg-ID, stringified ('' when absent)
  std::string category;    // value of the event key field ('' when absent/null)
  std::string name;        // value of the event subkey field
  std::string worker_key;  // consistent-worker key value ('' when absent/null)
};

struct DeliveryRules {
  std::string_view zone;
  int server_id = 1;
  int64_t received = 0;  // Unix seconds
  std::string_view event_key, event_subkey, worker_key_field;
};

/// Spec 11.2: adds/replaces AMQP-Broker-Zone and AMQP-Received, rewrites a non-empty Server-ID
/// to consumer://<server-id>/<original> and moves it last, removes an empty one.
DeliveryView augment_delivery(std::string_view body, const DeliveryRules& rules);

/// A new random UUID v4 in lowercase (libuuid), as the module generates Msg-IDs.
std::string new_msg_id();

/// "kamailio@<host>-<S>-targeted-<i>": the Server-ID injected for channel index i.
std::string targeted_server_id(std::string_view node, int server_id, int channel_index);

}  // namespace kazoo::core
