// A parsed JSON document, as the loader walks it: values are small views (strings point into the
// parser's buffer, children into one arena), so a file of 100,000 flags costs no allocation per
// value. Each value and member key carries its token number, its place in a pre-order walk of
// the text; a diagnostic turns it into a line and column, and only then is the text scanned.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "string_view_table.hpp"

namespace flagd {

struct JsonMember;

class JsonValue {
 public:
  enum class Kind : std::uint8_t { Null, Bool, Number, String, Array, Object };

  Kind kind() const noexcept { return kind_; }
  bool boolean() const noexcept { return boolean_; }
  double number() const noexcept { return number_; }
  // A string's text; empty for the other kinds.
  std::string_view text() const noexcept {
    return kind_ == Kind::String ? std::string_view(static_cast<const char*>(data_), size_) : std::string_view();
  }
  // An array's elements; empty for the other kinds.
  std::span<const JsonValue> items() const noexcept {
    return kind_ == Kind::Array ? std::span(static_cast<const JsonValue*>(data_), size_) : std::span<const JsonValue>();
  }
  // An object's members in source order, repeated keys kept; empty for the other kinds.
  std::span<const JsonMember> members() const noexcept;
  // The first member named `key`, or null.
  const JsonValue* find(std::string_view key) const noexcept;
  std::uint32_t token() const noexcept { return token_; }

  static JsonValue null(std::uint32_t token) noexcept { return JsonValue(Kind::Null, token); }
  static JsonValue of_bool(bool b, std::uint32_t token) noexcept {
    JsonValue v(Kind::Bool, token);
    v.boolean_ = b;
    return v;
  }
  static JsonValue of_number(double n, std::uint32_t token) noexcept {
    JsonValue v(Kind::Number, token);
    v.number_ = n;
    return v;
  }
  static JsonValue of_string(std::string_view s, std::uint32_t token) noexcept {
    return JsonValue(Kind::String, token, s.data(), s.size());
  }
  static JsonValue of_array(std::span<const JsonValue> items, std::uint32_t token) noexcept {
    return JsonValue(Kind::Array, token, items.data(), items.size());
  }
  static JsonValue of_object(std::span<const JsonMember> members, std::uint32_t token) noexcept;

  JsonValue() noexcept = default;

 private:
  JsonValue(Kind kind, std::uint32_t token, const void* data = nullptr, std::size_t size = 0) noexcept
      : kind_(kind), size_(static_cast<std::uint32_t>(size)), token_(token), data_(data) {}

  Kind kind_ = Kind::Null;
  bool boolean_ = false;
  std::uint32_t size_ = 0;  // bytes of text, elements or members
  std::uint32_t token_ = 0;
  double number_ = 0;
  const void* data_ = nullptr;  // text, JsonValue[] or JsonMember[]
};

struct JsonMember {
  std::string_view key;
  std::uint32_t key_token = 0;
  JsonValue value;
};

inline std::span<const JsonMember> JsonValue::members() const noexcept {
  return kind_ == Kind::Object ? std::span(static_cast<const JsonMember*>(data_), size_) : std::span<const JsonMember>();
}

inline JsonValue JsonValue::of_object(std::span<const JsonMember> members, std::uint32_t token) noexcept {
  return JsonValue(Kind::Object, token, members.data(), members.size());
}

// Where values built from a document's own live (copies with members left out or replaced,
// merges): each list and value stays where it was placed as long as the arena, so views of them
// stay valid while more are added.
class JsonArena {
 public:
  std::vector<JsonValue>& items(std::size_t capacity) { return reserved(arrays_.emplace_back(), capacity); }
  std::vector<JsonMember>& members(std::size_t capacity) { return reserved(objects_.emplace_back(), capacity); }
  const JsonValue& keep(const JsonValue& v) { return values_.emplace_back(v); }

 private:
  template <class List>
  static List& reserved(List& list, std::size_t capacity) {
    list.reserve(capacity);
    return list;
  }
  std::deque<std::vector<JsonValue>> arrays_;  // deques: an element, once placed, never moves
  std::deque<std::vector<JsonMember>> objects_;
  std::deque<JsonValue> values_;
};

// Whether an object's members repeat a key. Small objects compare their keys pairwise; large
// ones (the flag map) go through `scratch`, whose memory serves every large object after.
bool repeats_a_key(std::span<const JsonMember> object, StringViewTable<bool>& scratch);

std::string_view kind_name(JsonValue::Kind kind) noexcept;  // "null", "a boolean", "a number", ...

// Compact JSON text of `value` (object members in source order).
std::string to_json(const JsonValue& value);
// The same, with each value for which `replace` gives another written as that one (as it is,
// without replacing inside it).
using JsonReplacement = std::function<const JsonValue*(const JsonValue&)>;
std::string to_json(const JsonValue& value, const JsonReplacement& replace);
void append_json_string(std::string& out, std::string_view text);
// The shortest text that reads back as `value`; null for infinities and NaN, which JSON lacks.
void append_json_number(std::string& out, double value);

}  // namespace flagd
