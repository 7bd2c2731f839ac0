// JSON text in and out, exactly as the kazoo module does it: json-c's lenient tokener on the way
// in, json-c's SPACED serializer on the way out (docs/module-behaviour.md#json-rules). Every payload the module
// publishes or hands to a script went through these two steps, so byte compatibility rests on them.
#pragma once

#include <json-c/json.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace kazoo::core {

struct JsonParseError {
  /// json_tokener_error_desc() text, e.g. "unexpected end of data".
  std::string reason;
  /// Byte offset into the parsed text where the tokener stopped (see utf16_offset for JS).
  size_t position = 0;
};

/// Releases a json-c tree (json_object_put) when the holder goes away.
struct JsonPut {
  void operator()(json_object* obj) const noexcept { json_object_put(obj); }
};

/// Owning holder for a json-c tree: std::unique_ptr semantics (get, release, reset, move only).
struct JsonPtr : std::unique_ptr<json_object, JsonPut> {
  using std::unique_ptr<json_object, JsonPut>::unique_ptr;
};

/// Parses `text` with json-c's default (non-strict) tokener, as json_tokener_parse() does on a
/// NUL-terminated copy: single quotes, comments, trailing commas, NaN/Infinity, any-case literals
/// and trailing garbage after the first complete value are all accepted; nesting deeper than 32
/// is rejected. An embedded NUL is an error (the module would silently truncate there), and so is
/// a document that is just `null` (json-c returns no object for it; the module calls that invalid).
/// Returns nullptr and fills *err (when given) on failure; the caller owns the result.
json_object* parse_json(std::string_view text, JsonParseError* err);

/// json-c SPACED serialization with slash escaping (`{ "a": "http:\/\/x" }`), the only format the
/// module ever emits. `obj == nullptr` serializes as `null`. Written here rather than calling
/// json_object_to_json_string_ext, which profiled at a third of the publish path (it appends
/// escaped strings a few bytes at a time); doubles still go through json-c to keep their text.
std::string serialize_json(json_object* obj);

/// The bytes json-c escapes in strings: control characters, '"', '\\' and '/'. One table lookup
/// per byte, shared by the serializer and the fast route's scans (where they end a plain run).
struct JsonEscapeTable {
  bool needs[256] = {};
  constexpr JsonEscapeTable() {
    for (int c = 0; c < 0x20; ++c) needs[c] = true;
    needs[static_cast<unsigned char>('"')] = true;
    needs[static_cast<unsigned char>('\\')] = true;
    needs[static_cast<unsigned char>('/')] = true;
  }
};
inline constexpr JsonEscapeTable kJsonEscape;

/// Appends `s` escaped as json-c escapes strings (control characters, '"', '\\', '/').
void append_json_escaped(std::string& out, std::string_view s);

/// json-c's own serializer, the reference serialize_json must match byte for byte (the
/// differential unit test compares the two).
std::string serialize_json_reference(json_object* obj);

/// The UTF-16 code-unit index of `byte_offset` within valid UTF-8 `utf8`: what a JS caller needs
/// to slice the original string at a JsonParseError position.
size_t utf16_offset(std::string_view utf8, size_t byte_offset);

}  // namespace kazoo::core
