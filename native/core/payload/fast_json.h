// Single-pass rewriting of the common case of kazoo payloads, byte-identical to the json-c route
// (parse into a tree, add fields, serialize) but without building the tree: that route cost
// ~20k instructions per publish (callgrind), most of the I/O thread's time and CPU the broker
// needed on a 2-core machine. Anything outside the plain subset (lenient syntax, \u escapes,
// duplicate keys, keys with escapes, huge integers, deep nesting, trailing text) is declined and
// the caller takes the json-c route, which stays the reference (differential unit test).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kazoo::core {

struct IdentityFields;
struct PublishBody;
struct DeliveryView;
struct DeliveryRules;

/// build_publish_body's fast route. Returns false (output unspecified) to decline.
/// `server_id_member` is server_id_field(server id); `msg_id_if_absent` (a UUID) is injected
/// when the payload has no Msg-ID.
bool fast_publish_body(std::string_view payload, const IdentityFields& identity, std::string_view server_id_member,
                       std::string_view msg_id_if_absent, PublishBody* out);

/// augment_delivery's fast route. Returns false (view unspecified) to decline.
bool fast_augment_delivery(std::string_view body, const DeliveryRules& rules, DeliveryView* view);

}  // namespace kazoo::core
