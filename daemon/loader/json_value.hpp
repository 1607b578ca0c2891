// A parsed JSON document that remembers where each value and key stood in its source text, so
// that every load error can name a line and column. Built once per load; never on a hot path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flagd {

struct JsonMember;

struct JsonValue {
  enum class Kind : std::uint8_t { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string text;                 // string value
  std::vector<JsonValue> items;     // array elements
  std::vector<JsonMember> members;  // object members, in source order, duplicates kept
  std::uint32_t offset = 0;         // byte offset of the value in the source

  const JsonValue* find(std::string_view key) const noexcept;  // first member named `key`
};

struct JsonMember {
  std::string key;
  std::uint32_t key_offset = 0;
  JsonValue value;
};

std::string_view kind_name(JsonValue::Kind kind) noexcept;  // "null", "boolean", "number", ...

// Compact JSON text of `value` (object members in source order).
std::string to_json(const JsonValue& value);
void append_json_string(std::string& out, std::string_view text);
// The shortest text that reads back as `value`; null for infinities and NaN, which JSON lacks.
void append_json_number(std::string& out, double value);

}  // namespace flagd
