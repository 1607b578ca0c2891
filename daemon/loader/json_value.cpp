#include "json_value.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace flagd {

bool repeats_a_key(std::span<const JsonMember> object, StringViewTable<bool>& scratch) {
  constexpr std::size_t kPairwise = 16;
  if (object.size() <= kPairwise) {
    for (std::size_t i = 1; i < object.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (object[j].key == object[i].key) return true;
    return false;
  }
  scratch.clear(object.size());
  for (const JsonMember& m : object)
    if (!scratch.insert(m.key, true).second) return true;
  return false;
}

const JsonValue* JsonValue::find(std::string_view key) const noexcept {
  for (const auto& m : members())
    if (m.key == key) return &m.value;
  return nullptr;
}

std::string_view kind_name(JsonValue::Kind kind) noexcept {
  switch (kind) {
    case JsonValue::Kind::Null: return "null";
    case JsonValue::Kind::Bool: return "a boolean";
    case JsonValue::Kind::Number: return "a number";
    case JsonValue::Kind::String: return "a string";
    case JsonValue::Kind::Array: return "an array";
    case JsonValue::Kind::Object: return "an object";
  }
  return "a value";
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_json_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
}

namespace {

void append(std::string& out, const JsonValue& v, const JsonReplacement* replace) {
  if (replace != nullptr) {
    if (const JsonValue* replacement = (*replace)(v)) {
      append(out, *replacement, nullptr);
      return;
    }
  }
  switch (v.kind()) {
    case JsonValue::Kind::Null: out += "null"; break;
    case JsonValue::Kind::Bool: out += v.boolean() ? "true" : "false"; break;
    case JsonValue::Kind::Number: append_json_number(out, v.number()); break;
    case JsonValue::Kind::String: append_json_string(out, v.text()); break;
    case JsonValue::Kind::Array:
      out += '[';
      for (std::size_t i = 0; i < v.items().size(); ++i) {
        if (i) out += ',';
        append(out, v.items()[i], replace);
      }
      out += ']';
      break;
    case JsonValue::Kind::Object:
      out += '{';
      for (std::size_t i = 0; i < v.members().size(); ++i) {
        if (i) out += ',';
        append_json_string(out, v.members()[i].key);
        out += ':';
        append(out, v.members()[i].value, replace);
      }
      out += '}';
      break;
  }
}
}  // namespace

std::string to_json(const JsonValue& value) {
  std::string out;
  append(out, value, nullptr);
  return out;
}

std::string to_json(const JsonValue& value, const JsonReplacement& replace) {
  std::string out;
  append(out, value, &replace);
  return out;
}

}  // namespace flagd
