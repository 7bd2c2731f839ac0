#include "core/json_text.h"

#include <climits>
#include <cstring>
#include <utility>

namespace kazoo::core {

namespace {

struct TokenerFree {
  void operator()(json_tokener* tok) const noexcept { json_tokener_free(tok); }
};
using TokenerPtr = std::unique_ptr<json_tokener, TokenerFree>;

json_object* fail(JsonParseError* err, std::string reason, size_t position) {
  if (err) {
    err->reason = std::move(reason);
    err->position = position;
  }
  return nullptr;
}

}  // namespace

json_object* parse_json(std::string_view text, JsonParseError* err) {
  // json-c takes an int length, and the second feed below adds one byte.
  if (text.size() >= static_cast<size_t>(INT_MAX)) {
    return fail(err, json_tokener_error_desc(json_tokener_error_size), 0);
  }
  if (const void* nul = std::memchr(text.data(), '\0', text.size())) {
    return fail(err, "unexpected NUL byte", static_cast<const char*>(nul) - text.data());
  }

  // json_tokener_new() gives the default depth (32) and flags (lenient), like json_tokener_parse.
  // One tokener per thread, reset per document: allocating one per publish showed in profiles.
  thread_local TokenerPtr tok(json_tokener_new());
  if (!tok) return fail(err, "out of memory", 0);
  json_tokener_reset(tok.get());

  const char* data = text.data() != nullptr ? text.data() : "";
  json_object* obj = json_tokener_parse_ex(tok.get(), data, static_cast<int>(text.size()));
  json_tokener_error jerr = json_tokener_get_error(tok.get());
  size_t position = json_tokener_get_parse_end(tok.get());

  // The module parses a NUL-terminated copy with length -1, so json-c sees the terminator: it is
  // what ends a bare top-level number or literal. Feeding that one byte to the same tokener
  // reproduces it without copying the payload.
  if (obj == nullptr && jerr == json_tokener_continue) {
    obj = json_tokener_parse_ex(tok.get(), "", 1);
    jerr = json_tokener_get_error(tok.get());
    position = text.size() + json_tokener_get_parse_end(tok.get());
  }

  if (jerr != json_tokener_success) {
    if (obj) json_object_put(obj);
    return fail(err, json_tokener_error_desc(jerr), position);
  }
  // A bare `null` document parses to nullptr; every module path treats that as invalid JSON.
  if (obj == nullptr) return fail(err, "document is JSON null", position);
  // Trailing text after the first complete value is deliberately left unread (module behaviour).
  return obj;
}

std::string serialize_json(json_object* obj) {
  size_t len = 0;
  const char* text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_SPACED, &len);
  return text ? std::string(text, len) : std::string();
}

size_t utf16_offset(std::string_view utf8, size_t byte_offset) {
  if (byte_offset > utf8.size()) byte_offset = utf8.size();
  size_t units = 0;
  for (size_t i = 0; i < byte_offset; ++i) {
    const auto b = static_cast<unsigned char>(utf8[i]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: counted with its lead byte
    units += b >= 0xF0 ? 2 : 1;        // 4-byte sequences are surrogate pairs in UTF-16
  }
  return units;
}

}  // namespace kazoo::core
