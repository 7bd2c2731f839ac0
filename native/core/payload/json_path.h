// The kazoo module's JSON path lookups: kazoo_json / {kz.json} and {kz.json.count}
// (docs/module-behaviour.md#json-paths).
//
// Path grammar, as the module applies it: split on '.', then in each segment turn every
// `escape_char` into '.', then read `name` or `name[index]` (index converted like C atoi, text
// after the first ']' ignored, `name[]` = no index). An index on a non-array is ignored; a
// negative or out-of-range index, a key looked up in a non-object, and JSON null are "not found".
//
// Where the module crashes or reads stale memory we return "not found" instead: a leading dot,
// consecutive dots, an empty path, a segment starting with '['. An unterminated '[' is "not
// found" too, by choice (the module quietly reads `a[2` as `a[2]`). Segments of any length work
// (the module overflows past 249 bytes); an index beyond int range is "not found" where the
// module's atoi would wrap it.
#pragma once

#include <json-c/json.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kazoo::core {

/// The value at `path` inside `root`, borrowed from `root` (nullptr when not found or JSON null).
json_object* json_path_find(json_object* root, std::string_view path, char escape_char);

/// kazoo_json: the value at `path` in the JSON text `payload`, rendered as the module does
/// (string raw content, numbers as json-c prints them, doubles with their original text,
/// true/false, objects and arrays in spaced serialization); nullopt for JSON null, a missing
/// value, a malformed path or a payload that is not valid JSON.
std::optional<std::string> json_path_lookup(std::string_view payload, std::string_view path, char escape_char);

/// {kz.json.count}: the length of the array at `path`, 0 when missing, not an array or invalid.
int64_t json_path_count(std::string_view payload, std::string_view path, char escape_char);

/// How json_path_lookup renders one value (nullptr renders as nullopt).
std::optional<std::string> render_json_value(json_object* value);

}  // namespace kazoo::core
