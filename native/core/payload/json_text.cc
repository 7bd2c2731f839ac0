// json-c parsing and serialization helpers shared by the payload rules (see json_text.h).
#include "core/payload/json_text.h"

#include <climits>
#include <cstdint>
#include <cstdio>
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

std::string serialize_json_reference(json_object* obj) {
  size_t len = 0;
  const char* text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_SPACED, &len);
  return text ? std::string(text, len) : std::string();
}

namespace {

void append_escaped(std::string& out, const char* s, size_t len) {
  static const char kHex[] = "0123456789abcdef";
  size_t run = 0;
  for (size_t i = 0; i < len; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!kJsonEscape.needs[c]) continue;
    out.append(s + run, i - run);
    run = i + 1;
    switch (c) {
      case '\b': out.append("\\b", 2); break;
      case '\n': out.append("\\n", 2); break;
      case '\r': out.append("\\r", 2); break;
      case '\t': out.append("\\t", 2); break;
      case '\f': out.append("\\f", 2); break;
      case '"': out.append("\\\"", 2); break;
      case '\\': out.append("\\\\", 2); break;
      case '/': out.append("\\/", 2); break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(u, 6);
      }
    }
  }
  out.append(s + run, len - run);
}

void append_value(std::string& out, json_object* obj) {
  if (obj == nullptr) {
    out.append("null", 4);
    return;
  }
  switch (json_object_get_type(obj)) {
    case json_type_object: {
      out.push_back('{');
      bool first = true;
      json_object_object_foreach(obj, key, value) {
        if (!first) out.push_back(',');
        first = false;
        out.append(" \"", 2);
        append_escaped(out, key, std::strlen(key));
        out.append("\": ", 3);
        append_value(out, value);
      }
      out.append(" }", 2);
      return;
    }
    case json_type_array: {
      out.push_back('[');
      const size_t n = json_object_array_length(obj);
      for (size_t i = 0; i < n; ++i) {
        if (i != 0) out.push_back(',');
        out.push_back(' ');
        append_value(out, json_object_array_get_idx(obj, i));
      }
      out.append(" ]", 2);
      return;
    }
    case json_type_string:
      out.push_back('"');
      append_escaped(out, json_object_get_string(obj), static_cast<size_t>(json_object_get_string_len(obj)));
      out.push_back('"');
      return;
    case json_type_boolean:
      if (json_object_get_boolean(obj)) out.append("true", 4);
      else out.append("false", 5);
      return;
    case json_type_int: {
      char digits[24];
      int64_t v = json_object_get_int64(obj);
      int n;
      // json-c 0.14+ keeps integers above INT64_MAX as uint64; get_int64 saturates for those.
      if (v == INT64_MAX && json_object_get_uint64(obj) > static_cast<uint64_t>(INT64_MAX))
        n = std::snprintf(digits, sizeof digits, "%llu", static_cast<unsigned long long>(json_object_get_uint64(obj)));
      else n = std::snprintf(digits, sizeof digits, "%lld", static_cast<long long>(v));
      out.append(digits, static_cast<size_t>(n));
      return;
    }
    default: {
      // Doubles (original text kept by json-c) and anything else: json-c's own rendering.
      size_t len = 0;
      const char* text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_SPACED, &len);
      if (text) out.append(text, len);
      return;
    }
  }
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view s) { append_escaped(out, s.data(), s.size()); }

std::string serialize_json(json_object* obj) {
  std::string out;
  out.reserve(256);
  append_value(out, obj);
  return out;
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
