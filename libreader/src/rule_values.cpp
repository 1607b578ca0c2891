// Values as flagd's Go engine coerces and encodes them: the comparisons' numbers, typing's
// ToNumber and ToString, truthiness, Go's == of interface values, and the JSON text of values
// (encoding them, naming variants after them, reading values and members out of it).
#include "rule_eval_parts.hpp"

#include <cmath>
#include <cstring>

#include "flagd/go_json.hpp"
#include "rule_json.hpp"

namespace flagd::detail {

namespace {

// Go's unicode.IsSpace, of the code point UTF-8 `s` starts with; `size` receives its length.
bool go_space(std::string_view s, std::size_t& size) noexcept {
  size = go::utf8_sequence(s);
  if (size == 0) {
    size = 1;
    return false;
  }
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  if (size == 1) {
    const char c = s[0];
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
  }
  std::uint32_t cp = 0;
  if (size == 2) cp = (b(0) & 0x1Fu) << 6 | (b(1) & 0x3Fu);
  if (size == 3) cp = (b(0) & 0x0Fu) << 12 | (b(1) & 0x3Fu) << 6 | (b(2) & 0x3Fu);
  if (size == 4) return false;  // no white space above U+FFFF
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

}  // namespace

// strings.TrimSpace.
std::string_view trim_space(std::string_view s) noexcept {
  std::size_t n;
  while (!s.empty() && go_space(s, n)) s.remove_prefix(n);
  // From the end: the last code point starts at the last byte that is not a continuation byte.
  while (!s.empty()) {
    std::size_t start = s.size() - 1;
    while (start > 0 && s.size() - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    const std::string_view last = s.substr(start);
    if (!go_space(last, n) || n != last.size()) break;
    s.remove_suffix(n);
  }
  return s;
}

// javascript.ToNumber, which flagd's comparisons use: null 0, booleans 0/1, a blank string 0,
// another string parsed as it is (" 1" is not a number, an out-of-range one NaN), arrays and
// objects NaN.
double js_number(const RuleValue& v) noexcept {
  switch (v.kind) {
    case Kind::Null: return 0;
    case Kind::Bool: return v.boolean ? 1 : 0;
    case Kind::Number: return v.number;
    case Kind::String: {
      if (trim_space(v.view()).empty()) return 0;
      double d = 0;
      return go::parse_float(v.view(), d) == go::ParseStatus::Ok ? d : std::nan("");
    }
    default: return std::nan("");
  }
}

bool loose_equal(const RuleValue& a, const RuleValue& b) noexcept {
  if (a.kind == Kind::Null || b.kind == Kind::Null) return a.kind == b.kind;
  if (a.kind == Kind::String && b.kind == Kind::String) return a.view() == b.view();
  return js_number(a) == js_number(b);
}

bool strict_equal(const RuleValue& a, const RuleValue& b) noexcept {
  return a.kind == b.kind && a.go_int == b.go_int && loose_equal(a, b);
}

// a < b as flagd's engine decides it: two strings byte-wise, anything else as numbers (NaN: false).
// <=, > and >= are built from it and loose equality, so null <= 0 is false.
bool less(const RuleValue& a, const RuleValue& b) noexcept {
  if (a.kind == Kind::String && b.kind == Kind::String) return a.view() < b.view();
  return js_number(a) < js_number(b);
}

bool less_or_equal(const RuleValue& a, const RuleValue& b) noexcept { return less(a, b) || loose_equal(a, b); }

bool truthy(const RuleValue& v) noexcept {
  switch (v.kind) {
    case Kind::Null: return false;
    case Kind::Bool: return v.boolean;
    case Kind::Number: return v.number != 0;  // NaN is true, as in flagd's engine
    case Kind::String: return v.length != 0;
    case Kind::Array: return v.length != 0;
    case Kind::Object: return v.boolean;      // an object with at least one member
  }
  return false;
}

bool RuleEvaluator::number_text(double d, std::size_t (*format)(double, char*), RuleValue& out) noexcept {
  char buf[go::kNumberTextBytes];
  const std::size_t mark = text_used_;
  if (!put_text({buf, format(d, buf)})) return false;
  out = text_since(mark);
  return true;
}

// typing.ToString: strings as they are, numbers as FormatFloat 'f' prints them, null "";
// anything else makes flagd's engine fail.
bool RuleEvaluator::go_string(const RuleValue& v, RuleValue& out) noexcept {
  switch (v.kind) {
    case Kind::String: out = v; return true;
    case Kind::Null: out = string_value({}); return true;
    case Kind::Number: return number_text(v.number, go::format_fixed, out);
    default: return engine_error();
  }
}

// typing.ToNumber, which arithmetic uses: a number, or a string as ParseFloat reads it, errors
// ignored (0 for no number, +-Inf past the range); anything else makes flagd's engine fail.
bool RuleEvaluator::go_number(const RuleValue& v, double& out) noexcept {
  if (v.kind == Kind::Number) {
    out = v.number;
    return true;
  }
  if (v.kind == Kind::String) {
    if (!charge_text(v)) return false;
    go::parse_float(v.view(), out);
    return true;
  }
  return engine_error();
}

// Appends `v`'s JSON text as flagd's engine encodes it (a non-finite number as NaN, +Inf or -Inf,
// which naming a variant then refuses).
bool RuleEvaluator::encode(const RuleValue& v, std::uint32_t depth) noexcept {
  if (depth > kRuleEvalDepth) return limit_reached();
  switch (v.kind) {
    case Kind::Null: return put_text("null");
    case Kind::Bool: return put_text(v.boolean ? "true" : "false");
    case Kind::Number: {
      char buf[go::kNumberTextBytes];
      return put_text({buf, go::format_json(v.number, buf)});
    }
    case Kind::String:
      return put_text("\"") && go::escape_json(v.view(), [&](std::string_view piece) { return put_text(piece); }) &&
             put_text("\"");
    case Kind::Array:
      if (!put_text("[")) return false;
      for (std::uint32_t i = 0; i < v.length; ++i)
        if ((i != 0 && !put_text(",")) || !encode(element(v, i), depth + 1)) return false;
      return put_text("]");
    case Kind::Object: {
      // Its text may lie in the scratch area just before: copied from a copy of its own.
      if (v.length > kRuleTextScratch - text_used_) return limit_reached();
      if (!charge_bytes(v.length)) return false;
      std::memmove(text_ + text_used_, v.text, v.length);
      text_used_ += v.length;
      return true;
    }
  }
  return true;
}

// The variant name flagd derives from a result: its JSON encoding with every double quote
// removed, so "a" names a, [1,"a",[true,null]] names [1,a,[true,null]] and {"k":1} names {k:1};
// characters JSON escapes stay escaped (a<b names a\u003cb, a"b names a\b). A non-finite number
// has no encoding: flagd's engine fails (PARSE_ERROR).
bool RuleEvaluator::variant_name(const RuleValue& v, RuleValue& out) noexcept {
  switch (v.kind) {
    case Kind::Bool: out = string_value(v.boolean ? "true" : "false"); return true;
    case Kind::Number:
      if (!std::isfinite(v.number)) return engine_error();
      return number_text(v.number, go::format_json, out);
    case Kind::String:
      if (go::escapes_to_itself(v.view())) {
        out = v;
        return true;
      }
      break;
    default: break;
  }
  const std::size_t mark = text_used_;
  if (!encode(v, 0)) return false;
  // Quotes go (\" keeps its backslash); a letter outside a string is a non-finite number (NaN,
  // +Inf, -Inf): no encoding.
  std::size_t kept = mark;
  bool in_string = false;
  for (std::size_t i = mark; i < text_used_; ++i) {
    const char c = text_[i];
    if (in_string && c == '\\') {
      text_[kept++] = c;
      if (++i < text_used_ && text_[i] != '"') text_[kept++] = text_[i];
      continue;
    }
    if (c == '"') {
      in_string = !in_string;
      continue;
    }
    if (!in_string && (c == 'N' || c == 'I')) return engine_error();
    text_[kept++] = c;
  }
  text_used_ = kept;
  out = text_since(mark);
  return true;
}

// The value of the JSON text `text` (rule_json.hpp): strings decoded, arrays in value slots,
// objects as their own text.
bool RuleEvaluator::json_value(std::string_view text, std::uint32_t depth, RuleValue& out) noexcept {
  if (depth > kRuleEvalDepth) return limit_reached();
  if (text.empty()) return malformed();
  switch (text[0]) {
    case '"': {
      if (!charge_bytes(text.size())) return false;
      const std::string_view inner = text.substr(1, text.size() >= 2 ? text.size() - 2 : 0);
      if (text.size() >= 2 && text.back() == '"' && inner.find('\\') == std::string_view::npos) {
        out = string_value(inner);
        return true;
      }
      const std::size_t mark = text_used_;
      bool limited = false;
      if (!json::decode_string(text, [&](std::string_view piece) { return put_text(piece) || (limited = true, false); }))
        return limited ? false : malformed();
      out = text_since(mark);
      return true;
    }
    case '{':
      if (!charge_bytes(text.size())) return false;
      out = object_value(text);
      return true;
    case '[': {
      std::uint32_t count = 0;
      if (!json::elements(text, [&](std::string_view) { return ++count, true; })) return malformed();
      if (count > kRuleValueScratch - values_used_) return limit_reached();
      if (!charge(count)) return false;
      const RuleValue array = array_value(values_used_, count);
      values_used_ += count;
      std::uint32_t i = 0;
      bool ok = true;
      json::elements(text, [&](std::string_view item) {
        RuleValue v;
        ok = json_value(item, depth + 1, v);
        if (ok) values_[array.begin + i++] = v;
        return ok;
      });
      if (!ok) return false;
      out = array;
      return true;
    }
    case 't':
    case 'f':
      if (text != "true" && text != "false") return malformed();
      out = bool_value(text == "true");
      return true;
    case 'n':
      if (text != "null") return malformed();
      out = null_value();
      return true;
    default: {
      double d;
      if (go::parse_float(text, d) == go::ParseStatus::Syntax) return malformed();
      out = number_value(d);
      return true;
    }
  }
}

// The member `key` of an object value; null if it has none.
bool RuleEvaluator::member(const RuleValue& object, std::string_view key, RuleValue& out) noexcept {
  out = null_value();
  if (!charge_bytes(object.length)) return false;
  std::string_view found;
  bool hit = false;
  if (!json::members(object.view(), [&](std::string_view k, std::string_view value) {
        if (!json::string_is(k, key)) return true;
        found = value;
        hit = true;
        return false;
      }))
    return malformed();
  return !hit || json_value(found, 0, out);
}

// Go's == between two values of an interface type: the same kind and value; two lists or two
// objects cannot be compared (flagd's engine fails).
bool RuleEvaluator::go_equal(const RuleValue& a, const RuleValue& b, bool& equal) noexcept {
  equal = false;
  if (a.kind != b.kind) return true;
  switch (a.kind) {
    case Kind::Array:
    case Kind::Object: return engine_error();
    case Kind::Null: equal = true; return true;
    case Kind::Bool: equal = a.boolean == b.boolean; return true;
    case Kind::Number: equal = a.number == b.number; return true;
    case Kind::String:
      if (a.length == b.length && !charge_text(a)) return false;
      equal = a.view() == b.view();
      return true;
  }
  return true;
}

}  // namespace flagd::detail
