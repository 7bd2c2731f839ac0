// kazoo_json / {kz.json.count}: values at a dotted path rendered as the module does (see json_path.h).
#include "core/payload/json_path.h"

#include "core/payload/json_text.h"

namespace kazoo::core {

namespace {

// One path segment after escaping: `name`, optionally with an index (`name[index]`).
struct Segment {
  std::string name;
  bool has_index = false;
  int64_t index = 0;
};

bool is_c_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// C atoi as the module applies it to the index text (whitespace, sign, digits, then stop), but
// without its undefined overflow: anything outside int range can never be a valid index, so it
// comes back as -1 and the lookup reports "not found".
int64_t index_from_text(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && is_c_space(text[i])) ++i;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    ++i;
  }
  int64_t value = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    value = value * 10 + (text[i] - '0');
    if (value > INT32_MAX) return -1;
  }
  return negative ? -value : value;
}

// Splits `raw` (one dot-free piece of the path) into name and index. Returns false for a segment
// that starts with '[' (the module would reuse a stale name) and for a '[' with no ']' after it
// (the module's sscanf reads `a[2` as `a[2]` and `a[` as `a`; we call it malformed on purpose).
bool parse_segment(std::string_view raw, char escape_char, Segment* out) {
  out->name.assign(raw.data(), raw.size());
  out->has_index = false;
  if (escape_char != '\0' && escape_char != '.') {
    for (char& c : out->name) {
      if (c == escape_char) c = '.';
    }
  }
  const size_t open = out->name.find('[');
  if (open == std::string::npos) return true;
  if (open == 0) return false;
  const size_t close = out->name.find(']', open + 1);
  if (close == std::string::npos) return false;
  const std::string_view index_text = std::string_view(out->name).substr(open + 1, close - open - 1);
  out->has_index = !index_text.empty();  // `a[]` means "no index"
  out->index = out->has_index ? index_from_text(index_text) : 0;
  out->name.resize(open);
  return true;
}

}  // namespace

json_object* json_path_find(json_object* root, std::string_view path, char escape_char) {
  // The module crashes on these (token count mismatch); only one trailing dot is harmless.
  if (path.empty() || path.front() == '.') return nullptr;
  if (path.find("..") != std::string_view::npos) return nullptr;

  json_object* current = root;
  Segment segment;
  size_t start = 0;
  while (start < path.size() && current != nullptr) {
    size_t dot = path.find('.', start);
    if (dot == std::string_view::npos) dot = path.size();
    if (!parse_segment(path.substr(start, dot - start), escape_char, &segment)) return nullptr;
    start = dot + 1;

    // json-c keys are C strings, so a name with a NUL can never match one.
    if (segment.name.find('\0') != std::string::npos) return nullptr;
    json_object* next = nullptr;
    // Fails (next stays nullptr) when current is not an object; a JSON null value is nullptr too.
    json_object_object_get_ex(current, segment.name.c_str(), &next);
    current = next;

    if (current != nullptr && segment.has_index && json_object_is_type(current, json_type_array)) {
      const int64_t index = segment.index;
      const size_t length = json_object_array_length(current);
      current = index >= 0 && static_cast<size_t>(index) < length
                    ? json_object_array_get_idx(current, static_cast<size_t>(index))
                    : nullptr;
    }
    // An index on anything but an array is ignored: the value itself is kept.
  }
  return current;
}

std::optional<std::string> render_json_value(json_object* value) {
  if (value == nullptr) return std::nullopt;
  if (json_object_is_type(value, json_type_string)) {
    // Raw content with its full length: the module's strlen would stop at a decoded \u0000.
    return std::string(json_object_get_string(value), static_cast<size_t>(json_object_get_string_len(value)));
  }
  // json_object_get_string on a non-string is its spaced serialization; for parsed doubles
  // json-c keeps the original text (12.50, 1e3).
  return serialize_json(value);
}

std::optional<std::string> json_path_lookup(std::string_view payload, std::string_view path, char escape_char) {
  JsonPtr root(parse_json(payload, nullptr));
  if (!root) return std::nullopt;
  return render_json_value(json_path_find(root.get(), path, escape_char));
}

int64_t json_path_count(std::string_view payload, std::string_view path, char escape_char) {
  JsonPtr root(parse_json(payload, nullptr));
  if (!root) return 0;
  json_object* value = json_path_find(root.get(), path, escape_char);
  if (value == nullptr || !json_object_is_type(value, json_type_array)) return 0;
  return static_cast<int64_t>(json_object_array_length(value));
}

}  // namespace kazoo::core
