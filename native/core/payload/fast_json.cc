// The single-pass JSON rewrite of the hot paths, byte-identical to json-c's output (see fast_json.h).
#include "core/payload/fast_json.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include "core/payload/json_text.h"
#include "core/payload/kazoo_payload.h"

namespace kazoo::core {
namespace {

constexpr int kMaxDepth = 32;     // json-c rejects deeper documents: let it say so
constexpr size_t kMaxKeys = 256;  // duplicate detection is quadratic; big objects take json-c

enum class Kind { None, String, Number, Literal, Null, Object, Array };

// A run of plain string content ends at a byte json-c escapes (kJsonEscape): the closing quote,
// an escape, a '/' (json-c writes it as "\/") or a raw control character.

/// An int64 as json-c prints it ("%lld"), without printf's format parsing.
size_t format_int64(long long v, char* out) {
  char digits[24];
  size_t n = 0;
  unsigned long long u = v < 0 ? 0ull - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
  do {
    digits[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  size_t len = 0;
  if (v < 0) out[len++] = '-';
  while (n != 0) out[len++] = digits[--n];
  return len;
}

/// A top-level member as the visitor sees it.
struct Member {
  std::string_view key;
  Kind kind = Kind::None;
  std::string_view raw;  // string content between the quotes, escapes undecoded
};

/// Decodes the simple escapes the fast route accepts (no \u, which it declines).
std::string decode(std::string_view raw) {
  // Most field values (categories, names, ids) have no escapes: one copy.
  if (raw.find('\\') == std::string_view::npos) return std::string(raw);
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\' || i + 1 == raw.size()) {
      out.push_back(c);
      continue;
    }
    switch (raw[++i]) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      default: out.push_back(raw[i]); break;  // \" \\ \/
    }
  }
  return out;
}

/// The rewriter's output: bytes written through a pointer into room reserved once per document
/// (appending to a std::string piece by piece cost about a fifth of a delivery's rewrite). The
/// room is a bound, not a guess: every input byte becomes at most two output bytes (`/` → `\/`,
/// `:` → `": `, `,` → `, `, `}` → ` }`), so 2 × input + 16 covers any document the rewriter
/// accepts. finish() gives the string back its real length.
class Output {
 public:
  Output(std::string& text, size_t input_size) : text_(text), base_(text.size()) {
    text_.resize(base_ + 2 * input_size + 16);
    begin_ = text_.data();
    p_ = begin_ + base_;
  }
  void put(char c) { *p_++ = c; }
  void put(const char* bytes, size_t n) {
    std::memcpy(p_, bytes, n);
    p_ += n;
  }
  template <size_t N>
  void put_literal(const char (&literal)[N]) {
    put(literal, N - 1);
  }
  size_t size() const { return static_cast<size_t>(p_ - begin_); }
  void truncate(size_t size) { p_ = begin_ + size; }
  void finish() { text_.resize(size()); }

 private:
  std::string& text_;
  size_t base_;
  char* begin_;
  char* p_;
};

/// Reads strict JSON and writes json-c's spaced format in one pass; declines (ok() == false) on
/// anything where json-c's lenient parser could read it differently.
class Rewriter {
 public:
  Rewriter(std::string_view in, std::string* out)
      : p_(in.data()), end_(in.data() + in.size()), out_(*out, in.size()), keys_(key_stack()) {
    keys_.clear();
  }

  /// Rewrites the top-level object without its closing " }"; `visit(member)` is called after
  /// each top-level member was written and returns false to drop it again. `kept` counts the
  /// members kept (the caller appends its own after them).
  template <typename Visit>
  bool top_object(Visit&& visit, size_t* kept) {
    skip_ws();
    if (p_ == end_ || *p_ != '{') return false;
    ++p_;
    out_.put('{');
    const bool ok = members(1, visit, kept) && at_end();
    out_.finish();
    return ok;
  }

 private:
  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool at_end() {
    skip_ws();
    return p_ == end_;  // trailing text: json-c ignores it, but let json-c decide
  }

  /// One stack of keys for every open object (an object's keys start at its base index), kept
  /// per thread so that rewriting a payload allocates nothing for duplicate detection.
  static std::vector<std::string_view>& key_stack() {
    thread_local std::vector<std::string_view> stack;
    return stack;
  }

  /// `"key": ` for a key without escapes that the object (keys from `base`) has not had yet.
  bool key(std::string_view* key, size_t base) {
    skip_ws();
    if (p_ == end_ || *p_ != '"') return false;
    const char* start = ++p_;
    bool has_slash = false;
    while (p_ != end_ && *p_ != '"') {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (kJsonEscape.needs[c]) {
        if (c != '/') return false;  // an escape or a control character
        has_slash = true;
      }
      ++p_;
    }
    if (p_ == end_) return false;
    *key = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    if (keys_.size() - base >= kMaxKeys) return false;
    for (size_t i = base; i < keys_.size(); ++i)
      if (keys_[i] == *key) return false;  // duplicate keys: json-c keeps the first position, last value
    keys_.push_back(*key);
    skip_ws();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    out_.put_literal(" \"");
    if (has_slash) {
      // '/' is the only byte of an accepted key that json-c escapes.
      for (char c : *key) {
        if (c == '/') out_.put_literal("\\/");
        else out_.put(c);
      }
    } else {
      out_.put(key->data(), key->size());
    }
    out_.put_literal("\": ");
    return true;
  }

  bool value(int depth, Kind* kind, std::string_view* raw) {
    skip_ws();
    if (p_ == end_) return false;
    switch (*p_) {
      case '"': *kind = Kind::String; return string(raw);
      case '{': *kind = Kind::Object; return object(depth + 1);
      case '[': *kind = Kind::Array; return array(depth + 1);
      case 't': *kind = Kind::Literal; return literal("true");
      case 'f': *kind = Kind::Literal; return literal("false");
      case 'n': *kind = Kind::Null; return literal("null");
      default: *kind = Kind::Number; return number();
    }
  }

  bool object(int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;
    out_.put('{');
    size_t kept;
    if (!members(
            depth, [](const Member&) { return true; }, &kept))
      return false;
    out_.put_literal(" }");
    return true;
  }

  /// The members of an object whose '{' was just read and written, up to and including its '}'
  /// (not written: callers close it). Shared by nested objects and the top-level one.
  template <typename Visit>
  bool members(int depth, Visit&& visit, size_t* kept) {
    const size_t keys_base = keys_.size();
    *kept = 0;
    skip_ws();
    for (bool empty = true;; empty = false) {
      if (empty && p_ != end_ && *p_ == '}') break;
      const size_t begin = out_.size();
      if (*kept != 0) out_.put(',');
      Member m;
      if (!key(&m.key, keys_base) || !value(depth, &m.kind, &m.raw)) return false;
      if (visit(m)) ++*kept;
      else out_.truncate(begin);
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == '}') break;
      if (*p_ != ',') return false;
      ++p_;
      skip_ws();
      if (p_ == end_ || *p_ == '}') return false;  // trailing comma: lenient syntax, json-c's call
    }
    ++p_;  // the '}'
    keys_.resize(keys_base);
    return true;
  }

  bool array(int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;
    out_.put('[');
    skip_ws();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      out_.put_literal(" ]");
      return true;
    }
    for (bool first = true;; first = false) {
      if (first) out_.put(' ');
      else out_.put_literal(", ");
      std::string_view raw;
      Kind kind;
      if (!value(depth, &kind, &raw)) return false;
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == ']') {
        ++p_;
        out_.put_literal(" ]");
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      skip_ws();
      if (p_ == end_ || *p_ == ']') return false;
    }
  }

  bool string(std::string_view* raw) {
    const char* start = ++p_;
    out_.put('"');
    const char* run = p_;
    while (p_ != end_) {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (!kJsonEscape.needs[c]) {
        ++p_;
        continue;
      }
      if (c == '"') {
        out_.put(run, static_cast<size_t>(p_ - run));
        *raw = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        out_.put('"');
        return true;
      }
      if (c < 0x20) return false;  // raw control characters: json-c's lenient reading decides
      if (c == '\\') {
        out_.put(run, static_cast<size_t>(p_ - run));
        if (++p_ == end_) return false;
        switch (*p_) {
          case '"': out_.put_literal("\\\""); break;
          case '\\': out_.put_literal("\\\\"); break;
          case '/': out_.put_literal("\\/"); break;
          case 'b': out_.put_literal("\\b"); break;
          case 'f': out_.put_literal("\\f"); break;
          case 'n': out_.put_literal("\\n"); break;
          case 'r': out_.put_literal("\\r"); break;
          case 't': out_.put_literal("\\t"); break;
          default: return false;  // \u (decoding, surrogates, NUL) and the unknown: json-c
        }
        run = ++p_;
        continue;
      }
      if (c == '/') {
        out_.put(run, static_cast<size_t>(p_ - run));
        out_.put_literal("\\/");
        run = ++p_;
        continue;
      }
      ++p_;
    }
    return false;
  }

  bool literal(const char* word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    // "trueX" or "nullable" would be lenient territory.
    if (p_ != end_ && ((*p_ >= 'a' && *p_ <= 'z') || (*p_ >= 'A' && *p_ <= 'Z') || (*p_ >= '0' && *p_ <= '9')))
      return false;
    out_.put(word, n);
    return true;
  }

  /// Strict JSON numbers only. Integers are re-printed as json-c prints an int64; doubles keep
  /// their source text, as json-c does for parsed doubles.
  bool number() {
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    const char* digits = p_;
    if (*p_ == '0') {
      ++p_;
      if (p_ != end_ && *p_ >= '0' && *p_ <= '9') return false;  // leading zeros: lenient
    } else {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    size_t int_digits = static_cast<size_t>(p_ - digits);
    bool is_double = false;
    if (p_ != end_ && *p_ == '.') {
      is_double = true;
      ++p_;
      const char* frac = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == frac) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      is_double = true;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* exp = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == exp || p_ - exp > 2) return false;  // huge exponents: json-c's overflow rules
    }
    if (p_ != end_ && ((*p_ >= 'a' && *p_ <= 'z') || (*p_ >= 'A' && *p_ <= 'Z') || *p_ == '.')) return false;
    if (is_double) {
      if (p_ - start > 40) return false;
      out_.put(start, static_cast<size_t>(p_ - start));
      return true;
    }
    if (int_digits > 18) return false;  // near int64/uint64 limits json-c saturates: let it
    long long v = 0;
    for (const char* d = digits; d != p_; ++d) v = v * 10 + (*d - '0');
    if (*start == '-') v = -v;
    char text[24];
    out_.put(text, format_int64(v, text));
    return true;
  }

  const char* p_;
  const char* end_;
  Output out_;
  std::vector<std::string_view>& keys_;
};

void append_field(std::string& out, size_t* kept, std::string_view key, std::string_view value) {
  if (*kept != 0) out.push_back(',');
  out.append(" \"");
  append_json_escaped(out, key);
  out.append("\": \"");
  append_json_escaped(out, value);
  out.push_back('"');
  ++*kept;
}

}  // namespace

bool fast_publish_body(std::string_view payload, const IdentityFields& identity, std::string_view server_id_member,
                       std::string_view msg_id_if_absent, PublishBody* out) {
  std::string& body = out->body;
  body.clear();
  body.reserve(payload.size() + identity.node.size() * 2 + server_id_member.size() + 128);
  bool has_app_name = false, has_app_version = false, has_node = false, has_msg_id = false, has_server_id = false;
  bool declined = false;
  std::string_view msg_id_raw;
  size_t kept = 0;
  Rewriter rewriter(payload, &body);
  bool ok = rewriter.top_object(
      [&](const Member& m) {
        if (m.key == "App-Name") has_app_name = true;
        else if (m.key == "App-Version") has_app_version = true;
        else if (m.key == "Node") has_node = true;
        else if (m.key == "Server-ID") has_server_id = true;
        else if (m.key == "Msg-ID") {
          has_msg_id = true;
          // The Msg-ID correlates queries; a non-string one is stringified by json-c's rules.
          if (m.kind != Kind::String) declined = true;
          msg_id_raw = m.raw;
        }
        return true;
      },
      &kept);
  if (!ok || declined) return false;
  // Members rendered once per connection; each is preceded by ',' unless it is the first.
  auto member = [&](const std::string& rendered) {
    if (kept++ != 0) body.push_back(',');
    body.append(rendered);
  };
  if (!has_app_name) member(identity.app_name);
  if (!has_app_version) member(identity.app_version);
  if (!has_node) member(identity.node);
  if (has_msg_id) {
    out->msg_id = decode(msg_id_raw);
  } else {
    out->msg_id.assign(msg_id_if_absent.data(), msg_id_if_absent.size());
    if (kept++ != 0) body.push_back(',');
    body.append(" \"Msg-ID\": \"");
    body.append(msg_id_if_absent);  // a UUID: nothing to escape
    body.push_back('"');
  }
  if (!has_server_id) {
    if (kept++ != 0) body.push_back(',');
    body.append(server_id_member);
  }
  body.append(" }");
  return true;
}

bool fast_augment_delivery(std::string_view body, const DeliveryRules& rules, DeliveryView* view) {
  std::string& text = view->payload;
  text.clear();
  text.reserve(body.size() + 96);
  bool declined = false;
  bool has_server_id = false;
  std::string server_id;
  size_t kept = 0;
  // A field's value as json-c's get_string gives it: strings decoded, null as ''. Other kinds
  // would need json-c's stringification: declined.
  auto field = [&](const Member& m, std::string* into) {
    if (m.kind == Kind::String) *into = decode(m.raw);
    else if (m.kind == Kind::Null) into->clear();
    else declined = true;
  };
  Rewriter rewriter(body, &text);
  bool ok = rewriter.top_object(
      [&](const Member& m) {
        if (m.key == "AMQP-Broker-Zone" || m.key == "AMQP-Received") {
          declined = true;  // replaced in place by json-c: rare, take that route
          return true;
        }
        if (m.key == rules.event_key) field(m, &view->category);
        if (m.key == rules.event_subkey) field(m, &view->name);
        if (!rules.worker_key_field.empty() && m.key == rules.worker_key_field) field(m, &view->worker_key);
        if (m.key == "Msg-ID") field(m, &view->msg_id);
        if (m.key == "Server-ID") {
          // Moved last (rewritten) or dropped (empty): not written here.
          if (m.kind != Kind::String) declined = true;
          else {
            has_server_id = true;
            server_id = decode(m.raw);
          }
          return false;
        }
        return true;
      },
      &kept);
  if (!ok || declined) return false;
  append_field(text, &kept, "AMQP-Broker-Zone", rules.zone);
  if (kept != 0) text.push_back(',');
  text.append(" \"AMQP-Received\": ");
  text.append(std::to_string(rules.received));
  if (has_server_id && !server_id.empty()) {
    std::string rewritten = "consumer://" + std::to_string(rules.server_id) + "/" + server_id;
    text.append(", \"Server-ID\": \"");
    append_json_escaped(text, rewritten);
    text.push_back('"');
  }
  text.append(" }");
  view->valid = true;
  return true;
}

}  // namespace kazoo::core
