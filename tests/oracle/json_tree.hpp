// A JSON document as a plain tree, for generating inputs and reading answers in the comparison
// with flagd's Go engine. Numbers keep their text ("-0", "1e308", "12345678901234567890" are
// written as generated), objects keep their member order and duplicate keys: both engines must
// see exactly the bytes the generator meant.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flagd::oracle {

struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;                // a number's text, or a string's value
  std::vector<std::string> keys;   // an object's member names, parallel to items
  std::vector<Json> items;         // an array's elements, or an object's member values

  static Json null() { return {}; }
  static Json of(bool b);
  static Json number(std::string text);
  static Json number(double value);
  static Json string(std::string value);
  static Json array(std::vector<Json> elements = {});
  static Json object();

  bool is_null() const noexcept { return kind == Kind::Null; }
  bool is_number() const noexcept { return kind == Kind::Number; }
  bool is_string() const noexcept { return kind == Kind::String; }
  bool is_array() const noexcept { return kind == Kind::Array; }
  bool is_object() const noexcept { return kind == Kind::Object; }

  // Appends a member (a duplicate key is kept: that is an input worth testing too).
  Json& add(std::string key, Json value);
  // The last member of that name, as flagd's Go decoder picks it; null when absent.
  const Json* find(std::string_view key) const;
  Json* find(std::string_view key);
  // Removes every member of that name.
  void erase(std::string_view key);
  Json& push(Json value);

  double to_double() const;  // a number's value (strtod of its text)
};

// Compact JSON text; strings escaped as JSON requires, other bytes (UTF-8) written as they are.
std::string dump(const Json& value);
void dump_to(std::string& out, const Json& value);
// Strict JSON text to a tree; nullopt and `error` (with the byte offset) when it is not JSON.
std::optional<Json> parse_json(std::string_view text, std::string* error = nullptr);

// Equal as answers are compared: numbers by value (1 == 1.0 == 1e0, -0 == 0), objects as maps
// (member order does not matter), arrays in order, everything else exactly.
bool same_value(const Json& a, const Json& b);

}  // namespace flagd::oracle
