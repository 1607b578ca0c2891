#include "rule_eval.hpp"

#include <time.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include "flagd/go_json.hpp"
#include "flagd/go_number.hpp"
#include "flagd/key_hash.hpp"
#include "flagd/murmur3.hpp"
#include "flagd/rule_operators.hpp"
#include "flagd/semver.hpp"
#include "rule_json.hpp"

namespace flagd::detail {

using layout::RuleNode;
using layout::RuleOp;
using Kind = RuleValue::Kind;

struct RuleEvaluator::Scope {
  enum class Type : std::uint8_t { Context, Element, Reduce };
  Type type = Type::Context;
  const RuleValue* current = nullptr;
  const RuleValue* accumulator = nullptr;
  std::string_view value_type;  // Reduce: "bool", "number" or "string", as flagd's engine names it
  // The scope the iterating operator runs in. flagd's engine rewrites some bodies before it
  // applies them (solveVars): each `var` (any path but "" and ".x") that the data resolves
  // becomes that value, which is then evaluated again as the body's operand. `substitutes`: the
  // operator is filter, none or some, whose body is rewritten against the parent's data first;
  // `rewrites_element`: all or some, whose body is rewritten against each element. A rewrite
  // reaches every body nested inside.
  const Scope* parent = nullptr;
  bool substitutes = false;
  bool rewrites_element = false;

  // The same data without the rewriting around it: what a var's operand is evaluated against.
  Scope detached() const noexcept { return Scope{type, current, accumulator, value_type, nullptr, false, false}; }
};

namespace {

RuleValue null_value() noexcept { return RuleValue{}; }
RuleValue bool_value(bool b) noexcept {
  RuleValue v;
  v.kind = Kind::Bool;
  v.boolean = b;
  return v;
}
RuleValue number_value(double d) noexcept {
  RuleValue v;
  v.kind = Kind::Number;
  v.number = d;
  return v;
}
RuleValue string_value(std::string_view s) noexcept {
  RuleValue v;
  v.kind = Kind::String;
  v.text = s.data();
  v.length = static_cast<std::uint32_t>(s.size());
  return v;
}
RuleValue array_value(std::uint32_t begin, std::uint32_t length) noexcept {
  RuleValue v;
  v.kind = Kind::Array;
  v.begin = begin;
  v.length = length;
  return v;
}
RuleValue object_value(std::string_view json) noexcept {
  RuleValue v;
  v.kind = Kind::Object;
  v.text = json.data();
  v.length = static_cast<std::uint32_t>(json.size());
  v.boolean = json != "{}";
  return v;
}

// $flagd.timestamp: whole seconds. clock_gettime goes through the vDSO: no system call.
double unix_seconds() noexcept {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec);
}

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
  return a.kind == b.kind && loose_equal(a, b);
}

// a < b as flagd's engine decides it: two strings byte-wise, anything else as numbers (NaN: false).
// <=, > and >= are built from it and loose equality, so null <= 0 is false.
bool less(const RuleValue& a, const RuleValue& b) noexcept {
  if (a.kind == Kind::String && b.kind == Kind::String) return a.view() < b.view();
  return js_number(a) < js_number(b);
}
bool less_or_equal(const RuleValue& a, const RuleValue& b) noexcept { return less(a, b) || loose_equal(a, b); }

// A constant node (an array node is not one: its elements are evaluated).
bool constant_op(RuleOp op) noexcept { return op <= RuleOp::String || op == RuleOp::Object; }

}  // namespace

// --- find_text --------------------------------------------------------------------------------

namespace {

// The critical factorization of `needle` (size >= 1): the start of its right half, and in
// `period` the right half's period. Of the maximal suffixes under the two byte orders, the
// shorter always is a critical factorization. Each pass makes fewer than 2 * size comparisons.
std::size_t critical_factorization(const unsigned char* needle, std::size_t size, std::size_t& period,
                                   std::uint64_t& comparisons) noexcept {
  if (size < 3) {
    period = 1;
    return size - 1;
  }
  // `reversed`: the maximal suffix under the reversed byte order. Indices start at SIZE_MAX
  // ("before the needle") and wrap to 0 on the first + k.
  const auto maximal_suffix = [&](bool reversed, std::size_t& p) {
    std::size_t max_suffix = SIZE_MAX, j = 0, k = 1;
    p = 1;
    while (j + k < size) {
      const unsigned char a = needle[j + k], b = needle[max_suffix + k];
      ++comparisons;
      if (reversed ? b < a : a < b) {
        j += k;
        k = 1;
        p = j - max_suffix;
      } else if (a == b) {
        if (k != p) {
          ++k;
        } else {
          j += p;
          k = 1;
        }
      } else {
        max_suffix = j++;
        k = p = 1;
      }
    }
    return max_suffix;
  };
  std::size_t p_forward, p_reversed;
  const std::size_t forward = maximal_suffix(false, p_forward);
  const std::size_t reversed = maximal_suffix(true, p_reversed);
  if (reversed + 1 < forward + 1) {
    period = p_forward;
    return forward + 1;
  }
  period = p_reversed;
  return reversed + 1;
}

}  // namespace

std::size_t find_text(std::string_view haystack_view, std::string_view needle_view, std::uint64_t& comparisons) noexcept {
  comparisons = 0;
  const auto* haystack = reinterpret_cast<const unsigned char*>(haystack_view.data());
  const auto* needle = reinterpret_cast<const unsigned char*>(needle_view.data());
  const std::size_t n = haystack_view.size(), m = needle_view.size();
  if (m == 0) return 0;
  if (m > n) return std::string_view::npos;
  const auto same = [&](std::size_t i, std::size_t j) {
    ++comparisons;
    return needle[i] == haystack[i + j];
  };
  std::size_t period;
  const std::size_t suffix = critical_factorization(needle, m, period, comparisons);
  bool periodic = period <= m - suffix;
  for (std::size_t i = 0; periodic && i < suffix; ++i) {
    ++comparisons;
    periodic = needle[i] == needle[i + period];
  }
  if (periodic) {
    // The left half repeats in the right: after a match of the right half, the bytes one period
    // on are known to match (`memory`), which keeps the search linear.
    std::size_t memory = 0;
    for (std::size_t j = 0; j <= n - m;) {
      std::size_t i = std::max(suffix, memory);
      while (i < m && same(i, j)) ++i;
      if (i < m) {
        j += i - suffix + 1;
        memory = 0;
        continue;
      }
      i = suffix - 1;  // SIZE_MAX when the right half is the whole needle
      while (memory < i + 1 && same(i, j)) --i;
      if (i + 1 < memory + 1) return j;
      j += period;
      memory = m - period;
    }
  } else {
    const std::size_t shift = std::max(suffix, m - suffix) + 1;
    for (std::size_t j = 0; j <= n - m;) {
      std::size_t i = suffix;
      while (i < m && same(i, j)) ++i;
      if (i < m) {
        j += i - suffix + 1;
        continue;
      }
      i = suffix - 1;
      while (i != SIZE_MAX && same(i, j)) --i;
      if (i == SIZE_MAX) return j;
      j += shift;
    }
  }
  return std::string_view::npos;
}

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

// --- nodes, operands and scratch -----------------------------------------------------------------

bool RuleEvaluator::node(std::uint32_t index, RuleNode& out) noexcept {
  if ((index & kDynamic) == 0) {
    if (nodes_.read(index, out)) return true;
    return malformed();  // torn or broken: the caller's read section decides which
  }
  const std::uint32_t i = index & ~kDynamic;
  if (i >= dynamic_used_) return malformed();
  out = dynamic_[i];
  if (out.argc != 0) {
    if (out.first <= i || out.first >= dynamic_used_ || out.argc > dynamic_used_ - out.first) return malformed();
    out.first |= kDynamic;
  }
  return true;
}

bool RuleEvaluator::arg(const RuleNode& n, std::uint32_t i, const Scope& scope, std::uint32_t depth,
                        RuleValue& out) noexcept {
  if (i >= n.argc) {
    out = null_value();
    return true;
  }
  return eval(n.first + i, scope, depth + 1, out);
}

// Evaluates every operand of `n` into consecutive value slots reserved first (operands may push
// values of their own, after the reserved ones). `first` receives the first slot's index.
bool RuleEvaluator::operands(const RuleNode& n, const Scope& scope, std::uint32_t depth, std::uint32_t& first) noexcept {
  if (n.argc > kRuleValueScratch - values_used_) return limit_reached();
  first = values_used_;
  values_used_ += n.argc;
  for (std::uint32_t i = 0; i < n.argc; ++i)
    if (!arg(n, i, scope, depth, values_[first + i])) return false;
  return true;
}

// The operands as flagd's engine hands them to an operator that evaluates them first: each
// operand of an array; for a single operand (a Spread node), the elements of the array it
// evaluates to, or that one value.
bool RuleEvaluator::values(const RuleNode& n, const Scope& scope, std::uint32_t depth, Args& args) noexcept {
  args = Args{};
  if (n.argc == 1) {
    RuleNode first;
    if (!node(n.first, first)) return false;
    if (first.op == RuleOp::Spread) {
      RuleValue v;
      if (first.argc != 1) return malformed();
      if (!eval(first.first, scope, depth + 2, v)) return false;
      if (v.kind == Kind::Array) {
        args.first = v.begin;
        args.count = v.length;
      } else {
        args.single = true;
        args.value = v;
      }
      return true;
    }
  }
  args.count = n.argc;
  return operands(n, scope, depth, args.first);
}

bool RuleEvaluator::push(const RuleValue& v) noexcept {
  if (values_used_ >= kRuleValueScratch) return limit_reached();
  values_[values_used_++] = v;
  return true;
}

bool RuleEvaluator::put_text(std::string_view more) noexcept {
  if (more.size() > kRuleTextScratch - text_used_) return limit_reached();
  if (!charge_bytes(more.size())) return false;
  if (!more.empty()) std::memcpy(text_ + text_used_, more.data(), more.size());
  text_used_ += more.size();
  return true;
}

RuleValue RuleEvaluator::text_since(std::size_t mark) const noexcept {
  return string_value({text_ + mark, text_used_ - mark});
}

// Copies an image string into the scratch area: everything the rule compares is private memory.
bool RuleEvaluator::image_text(std::uint64_t packed, RuleValue& out) noexcept {
  const layout::StringRef ref = layout::unpack_string_ref(packed);
  if ((ref.offset & kDynamic) != 0) {  // a node compiled at evaluation: its text is in the scratch
    const std::uint32_t at = ref.offset & ~kDynamic;
    if (at > text_used_ || ref.length > text_used_ - at) return malformed();
    if (!charge_bytes(ref.length)) return false;
    out = string_value({text_ + at, ref.length});
    return true;
  }
  if (!slot_.holds_words(ref.offset, layout::round_up8(ref.length))) return malformed();
  if (ref.length > kRuleTextScratch - text_used_) return limit_reached();
  if (!charge_bytes(ref.length)) return false;
  char* at = text_ + text_used_;
  shared::copy_out_bytes(at, slot_.image + ref.offset, ref.length);
  text_used_ += ref.length;
  out = string_value({at, ref.length});
  return true;
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

bool RuleEvaluator::flag_key(RuleValue& out) noexcept {
  if (!flag_key_loaded_) {
    const layout::StringRef ref = flag_key_ref_;
    if (ref.length > sizeof flag_key_text_ || !slot_.holds_words(ref.offset, layout::round_up8(ref.length)))
      return malformed();  // no loaded key is longer; only torn bytes say so
    shared::copy_out_bytes(flag_key_text_, slot_.image + ref.offset, ref.length);
    flag_key_ = string_value({flag_key_text_, ref.length});
    flag_key_loaded_ = true;
  }
  out = flag_key_;
  return true;
}

std::string_view RuleEvaluator::targeting_key() const noexcept { return detail::targeting_key(context_); }

// --- JSON text of values --------------------------------------------------------------------------

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

// flagd's engine evaluates a value again as a rule in a few places (an `if` branch, set's value,
// missing's keys, a body rewritten into a value): an object of one member is then an operation,
// compiled here into nodes of the rule's own kinds and evaluated as the rule's are. An operator
// the engine does not know fails (PARSE_ERROR).
bool RuleEvaluator::apply_object(const RuleValue& v, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  const RuleValue object = v;
  out = object;
  if (object.kind != Kind::Object || !object.boolean) return true;
  if (depth > kRuleEvalDepth) return limit_reached();
  if (!charge_bytes(object.length)) return false;
  std::uint32_t count = 0;
  std::string_view key, operand;
  if (!json::members(object.view(), [&](std::string_view k, std::string_view value) {
        key = k;
        operand = value;
        return ++count < 2;
      }))
    return malformed();
  if (count != 1) return true;
  const std::uint32_t mark = dynamic_used_;
  std::uint32_t at;
  const bool ok = dynamic_nodes(1, at) && dynamic_operation(key, operand, at, depth) &&
                  eval(at | kDynamic, scope, depth + 1, out);
  dynamic_used_ = mark;  // values never refer to nodes
  return ok;
}

// An operator that takes its operand list as written (if, and, or, map, ...) given one var instead
// (RuleOp::Spread): inside a rewritten body, flagd's engine may have replaced the var with a list,
// which the operator then takes as its written operands; otherwise it fails. The list, already
// rewritten, is compiled as such an operation and evaluated against the data alone.
bool RuleEvaluator::rewritten_operands(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  RuleNode spread, var;
  if (!node(n.first, spread) || spread.argc != 1 || !node(spread.first, var)) return malformed();
  bool substituted;
  RuleValue list;
  if (!substituted_var(var, scope, depth, substituted, list)) return false;
  if (!substituted || list.kind != Kind::Array) return engine_error();
  const OperatorName* known = nullptr;
  for (const auto& o : kOperatorNames)
    if (o.op == n.op && known == nullptr) known = &o;
  const std::size_t mark = text_used_;
  if (!encode(list, 0)) return false;
  const std::uint32_t dynamic_mark = dynamic_used_;
  std::uint32_t at;
  const bool ok = dynamic_nodes(1, at) && dynamic_operation(known, {text_ + mark, text_used_ - mark}, at, depth) &&
                  eval(at | kDynamic, scope.detached(), depth + 1, out);
  dynamic_used_ = dynamic_mark;
  return ok;
}

bool RuleEvaluator::dynamic_nodes(std::uint32_t count, std::uint32_t& first) noexcept {
  if (count > kDynamicNodes - dynamic_used_) return limit_reached();
  if (!charge(count)) return false;
  first = dynamic_used_;
  for (std::uint32_t i = 0; i < count; ++i) dynamic_[first + i] = RuleNode{};
  dynamic_used_ += count;
  return true;
}

// A string node's text, `text` lying in the scratch (it is part of a value's JSON text there).
bool RuleEvaluator::dynamic_text(std::string_view text, std::uint64_t& packed) noexcept {
  if (text.data() < text_ || text.data() + text.size() > text_ + text_used_) return malformed();
  packed = layout::pack_string_ref(
      layout::StringRef{static_cast<std::uint32_t>(text.data() - text_) | kDynamic, static_cast<std::uint32_t>(text.size())});
  return true;
}

// Node `at` for the JSON value `json`, as the loader compiles it (rule_compiler.cpp): `data` for
// a literal list an iterating operator takes as written.
bool RuleEvaluator::dynamic_value(std::string_view json_text, std::uint32_t at, bool data, std::uint32_t depth) noexcept {
  if (depth > kRuleEvalDepth) return limit_reached();
  if (json_text.empty()) return malformed();
  RuleNode n{};
  switch (json_text[0]) {
    case '"': {
      RuleValue s;
      if (!json_value(json_text, depth, s)) return false;
      n.op = RuleOp::String;
      if (!dynamic_text(s.view(), n.a)) return false;
      break;
    }
    case '[': {
      std::uint32_t count = 0;
      if (!json::elements(json_text, [&](std::string_view) { return ++count, true; })) return malformed();
      std::uint32_t first;
      if (!dynamic_nodes(count, first)) return false;
      std::uint32_t k = 0;
      bool ok = true;
      json::elements(json_text, [&](std::string_view item) {
        ok = dynamic_value(item, first + k++, data, depth + 1);
        return ok;
      });
      if (!ok) return false;
      n.op = RuleOp::Array;
      n.argc = static_cast<std::uint16_t>(count);
      n.first = first;
      break;
    }
    case '{': {
      std::uint32_t count = 0;
      std::string_view key, operand;
      if (!json::members(json_text, [&](std::string_view k, std::string_view value) {
            key = k;
            operand = value;
            return ++count, true;
          }))
        return malformed();
      if (!data && count == 1) return dynamic_operation(key, operand, at, depth);
      n.op = RuleOp::Object;
      n.b = count != 0;
      if (!dynamic_text(json_text, n.a)) return false;
      break;
    }
    default: {
      RuleValue v;
      if (!json_value(json_text, depth, v)) return false;
      n.op = v.kind == Kind::Bool ? RuleOp::Bool : v.kind == Kind::Number ? RuleOp::Number : RuleOp::Null;
      n.a = v.kind == Kind::Bool ? (v.boolean ? 1 : 0) : std::bit_cast<std::uint64_t>(v.number);
      break;
    }
  }
  dynamic_[at] = n;
  return true;
}

// The operation {name: operand}: its operator and operands as flagd's engine takes them
// (rule_operators.hpp); an operator it does not know fails when reached.
bool RuleEvaluator::dynamic_operation(std::string_view name_token, std::string_view operand, std::uint32_t at,
                                      std::uint32_t depth) noexcept {
  const OperatorName* known = nullptr;
  for (const auto& o : kOperatorNames)
    if (json::string_is(name_token, o.name)) known = &o;
  return dynamic_operation(known, operand, at, depth);
}

bool RuleEvaluator::dynamic_operation(const OperatorName* known, std::string_view operand, std::uint32_t at,
                                      std::uint32_t depth) noexcept {
  RuleNode n{};
  n.op = RuleOp::Invalid;
  const bool listed = !operand.empty() && operand[0] == '[';
  if (known != nullptr && known->form == OperandForm::Var) {
    // A var reads its operand at evaluation (VarOf), paths included: the same reading.
    std::uint32_t child;
    if (!dynamic_nodes(1, child) || !dynamic_value(operand, child, false, depth + 1)) return false;
    n.op = RuleOp::VarOf;
    n.argc = 1;
    n.first = child;
  } else if (known != nullptr && listed) {
    std::uint32_t count = 0;
    if (!json::elements(operand, [&](std::string_view) { return ++count, true; })) return malformed();
    std::uint32_t first;
    if (!dynamic_nodes(count, first)) return false;
    std::uint32_t k = 0;
    bool ok = true;
    json::elements(operand, [&](std::string_view item) {
      const bool literal_list = iterates(known->op) && k == 0 && item[0] == '[';
      ok = dynamic_value(item, first + k++, literal_list, depth + 1);
      return ok;
    });
    if (!ok) return false;
    n.op = known->op;
    n.argc = static_cast<std::uint16_t>(count);
    n.first = first;
  } else if (known != nullptr && known->form == OperandForm::Values) {
    std::uint32_t spread;
    if (!dynamic_nodes(2, spread) || !dynamic_value(operand, spread + 1, false, depth + 1)) return false;
    dynamic_[spread].op = RuleOp::Spread;
    dynamic_[spread].argc = 1;
    dynamic_[spread].first = spread + 1;
    n.op = known->op;
    n.argc = 1;
    n.first = spread;
  }
  dynamic_[at] = n;
  return true;
}

// parseValues of a value already evaluated: objects applied again, arrays element by element.
bool RuleEvaluator::reparse(const RuleValue& v, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  if (depth > kRuleEvalDepth) return limit_reached();
  if (v.kind == Kind::Object) return apply_object(v, scope, depth, out);
  out = v;
  if (v.kind != Kind::Array) return true;
  bool changes = false;
  for (std::uint32_t i = 0; i < v.length && !changes; ++i) {
    const Kind k = element(v, i).kind;
    changes = k == Kind::Object || k == Kind::Array;
  }
  if (!changes) return true;
  if (v.length > kRuleValueScratch - values_used_) return limit_reached();
  const RuleValue copy = array_value(values_used_, v.length);
  values_used_ += v.length;
  for (std::uint32_t i = 0; i < v.length; ++i) {
    RuleValue e;
    if (!reparse(element(v, i), scope, depth + 1, e)) return false;
    values_[copy.begin + i] = e;
  }
  out = copy;
  return true;
}

// --- variables ---------------------------------------------------------------------------------

namespace {
// flagd's engine rewrites the bodies of filter, none and some before iterating (rule_eval.hpp,
// Scope): every var but those of "" and of a path starting with "." (kept for the element).
bool substitutable(std::string_view path) noexcept { return !path.empty() && path[0] != '.'; }

// The first segment of a path and what follows its dot.
std::string_view first_segment(std::string_view path, std::string_view& rest) noexcept {
  const std::size_t dot = path.find('.');
  rest = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  return path.substr(0, dot);
}

// A list index as flagd's engine reads a path segment: int(ParseFloat(segment)), errors ignored.
std::int64_t segment_index(std::string_view segment) noexcept {
  double d;
  go::parse_float(segment, d);
  return go::to_int(d);
}
}  // namespace

// `var path` in the scope: a rewrite's value (evaluated again, as flagd's engine evaluates the
// rewritten body), else the scope's own data.
bool RuleEvaluator::lookup(std::string_view path, std::uint32_t hash, const Scope& scope, std::uint32_t depth,
                          RuleValue& out) noexcept {
  if (substitutable(path)) {
    if (!substitution(path, hash, scope, kNoNode, depth, out)) return false;
    if (out.kind != Kind::Null) return reparse(out, scope.detached(), depth, out);
  }
  return data_lookup(path, hash, scope, out);
}

// The data a rewrite level of `scope` reads (Scope): 0, the parent's (filter, none, some);
// 1, the element's (all, some), which runs after.
bool RuleEvaluator::rewrite_level(const Scope& scope, int level, Scope& data) noexcept {
  if (level == 0 && scope.substitutes) {
    data = scope.parent->detached();
    return true;
  }
  if (level == 1 && scope.rewrites_element) {
    data = scope.detached();
    return true;
  }
  return false;
}

// What the rewrites around `scope` make of `var path` (Scope): the outermost that resolves it
// (its default `fallback`, if any, evaluated against the data that rewrite reads) wins, as it
// runs first; each rewrite inside it then rewrites the value it put in. Null if none resolves it.
bool RuleEvaluator::substitution(std::string_view path, std::uint32_t hash, const Scope& scope, std::uint32_t fallback,
                                 std::uint32_t depth, RuleValue& out) noexcept {
  out = null_value();
  if (scope.parent == nullptr) return true;
  if (!substitution(path, hash, *scope.parent, fallback, depth, out)) return false;
  for (int level = 0; level < 2; ++level) {
    Scope data;
    if (!rewrite_level(scope, level, data)) continue;
    if (out.kind != Kind::Null) {
      if (!solve_vars(out, data, depth, out)) return false;
      continue;
    }
    if (!data_lookup(path, hash, data, out)) return false;
    if (out.kind == Kind::Null && fallback != kNoNode && !eval(fallback, data, depth + 1, out)) return false;
  }
  return true;
}

// The value `v` as the rewrites around `scope` leave it (a literal of the rule's, or a list taken
// as written): each rewrite, outermost first, rewrites the vars in it.
bool RuleEvaluator::rewritten_value(const RuleValue& v, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  out = v;
  if (scope.parent == nullptr) return true;
  if (!rewritten_value(v, *scope.parent, depth, out)) return false;
  for (int level = 0; level < 2; ++level) {
    Scope data;
    if (rewrite_level(scope, level, data) && !solve_vars(out, data, depth, out)) return false;
  }
  return true;
}

// flagd's engine's solveVars on a value (data a rewrite put in, or a literal of the rule): an
// object with a "var" member becomes what that var reads in `data`, if anything ("" and ".x"
// aside); otherwise its members, and a list's elements, are rewritten in turn.
bool RuleEvaluator::solve_vars(const RuleValue& v, const Scope& data, std::uint32_t depth, RuleValue& out) noexcept {
  if (depth > kRuleEvalDepth) return limit_reached();
  const RuleValue value = v;
  out = value;
  if (value.kind == Kind::Array) {
    if (value.length > kRuleValueScratch - values_used_) return limit_reached();
    const RuleValue copy = array_value(values_used_, value.length);
    values_used_ += value.length;
    for (std::uint32_t i = 0; i < value.length; ++i) {
      RuleValue e;
      if (!solve_vars(element(value, i), data, depth + 1, e)) return false;
      values_[copy.begin + i] = e;
    }
    out = copy;
    return true;
  }
  if (value.kind != Kind::Object || !value.boolean) return true;
  if (!charge_bytes(value.length)) return false;
  std::string_view var_operand;
  bool has_var = false;
  if (!json::members(value.view(), [&](std::string_view k, std::string_view member_value) {
        if (json::string_is(k, "var")) {
          has_var = true;
          var_operand = member_value;
        }
        return true;
      }))
    return malformed();
  if (has_var) {
    RuleValue operand, resolved;
    if (!json_value(var_operand, depth, operand)) return false;
    const bool kept = operand.kind == Kind::String && !substitutable(operand.view());
    if (!kept) {
      if (!reparse(operand, data, depth + 1, operand) || !get_var(operand, data, depth, resolved)) return false;
      if (resolved.kind != Kind::Null) {
        out = resolved;
        return true;
      }
    }
  }
  // The other members, rewritten: each value first (reading them may use the scratch), then the
  // object's text in one piece after them. Keys are kept as written, in their order.
  std::uint32_t count = 0;
  json::members(value.view(), [&](std::string_view, std::string_view) { return ++count, true; });
  if (2 * count > kRuleValueScratch - values_used_) return limit_reached();
  const std::uint32_t first = values_used_;
  values_used_ += 2 * count;
  std::uint32_t i = 0;
  bool ok = true;
  json::members(value.view(), [&](std::string_view k, std::string_view member_value) {
    RuleValue m;
    ok = json_value(member_value, depth + 1, m) && (json::string_is(k, "var") || solve_vars(m, data, depth + 1, m));
    values_[first + 2 * i] = string_value(k);  // the key's token, quotes included
    values_[first + 2 * i + 1] = m;
    ++i;
    return ok;
  });
  if (!ok) return false;
  const std::size_t mark = text_used_;
  if (!put_text("{")) return false;
  for (std::uint32_t k = 0; k < count; ++k)
    if ((k != 0 && !put_text(",")) || !put_text(values_[first + 2 * k].view()) || !put_text(":") ||
        !encode(values_[first + 2 * k + 1], depth + 1))
      return false;
  if (!put_text("}")) return false;
  out = object_value({text_ + mark, text_used_ - mark});
  return true;
}

bool RuleEvaluator::rewritten(const Scope& scope) noexcept {
  for (const Scope* s = &scope; s != nullptr; s = s->parent)
    if (s->substitutes || s->rewrites_element) return true;
  return false;
}

// The scope's whole data: the context (with $flagd), the element, or reduce's
// {"current", "accumulator", "valueType"}.
bool RuleEvaluator::scope_data(const Scope& scope, RuleValue& out) noexcept {
  out = null_value();
  switch (scope.type) {
    case Scope::Type::Context: return context_object({}, 0, out);
    case Scope::Type::Element:
      if (scope.current != nullptr) out = *scope.current;
      return true;
    case Scope::Type::Reduce: {
      const std::size_t mark = text_used_;
      const RuleValue none;
      if (!put_text("{\"accumulator\":") || !encode(scope.accumulator ? *scope.accumulator : none, 0) ||
          !put_text(",\"current\":") || !encode(scope.current ? *scope.current : none, 0) ||
          !put_text(",\"valueType\":") || !encode(string_value(scope.value_type), 0) || !put_text("}"))
        return false;
      out = object_value({text_ + mark, text_used_ - mark});
      return true;
    }
  }
  return true;
}

// `var path` against the scope's own data (path without empty segments).
bool RuleEvaluator::data_lookup(std::string_view path, std::uint32_t hash, const Scope& scope, RuleValue& out) noexcept {
  out = null_value();
  if (path.empty()) return scope_data(scope, out);
  switch (scope.type) {
    case Scope::Type::Context: return context_lookup(path, hash, out);
    case Scope::Type::Element: return scope.current == nullptr || walk(*scope.current, path, out);
    case Scope::Type::Reduce: {
      std::string_view rest;
      const std::string_view name = first_segment(path, rest);
      RuleValue v;
      if (name == "current" && scope.current) v = *scope.current;
      if (name == "accumulator" && scope.accumulator) v = *scope.accumulator;
      if (name == "valueType") v = string_value(scope.value_type);
      if (rest.empty()) {
        out = v;
        return true;
      }
      return walk(v, rest, out);
    }
  }
  return true;
}

// Down `path` (no empty segments) from `value`: an object's member, a list's element (the
// segment read as a number), nothing below anything else.
bool RuleEvaluator::walk(RuleValue value, std::string_view path, RuleValue& out) noexcept {
  out = null_value();
  for (std::uint32_t guard = 0; guard <= kRuleEvalDepth * 64 && !path.empty(); ++guard) {
    std::string_view rest;
    const std::string_view segment = first_segment(path, rest);
    if (!charge_bytes(segment.size()) || !charge(1)) return false;
    RuleValue next;
    if (value.kind == Kind::Object) {
      if (!member(value, segment, next)) return false;
    } else if (value.kind == Kind::Array) {
      const std::int64_t i = segment_index(segment);
      if (i >= 0 && i < value.length) next = element(value, static_cast<std::uint32_t>(i));
    }
    if (next.kind == Kind::Null) return true;
    value = next;
    path = rest;
  }
  if (path.empty()) out = value;
  return true;
}

// A path in the context, which holds nested objects as dotted keys ("user.tier") and lists as
// lists of scalars. $flagd is flagd's own object, whatever the context has.
bool RuleEvaluator::context_lookup(std::string_view path, std::uint32_t hash, RuleValue& out) noexcept {
  out = null_value();
  if (path == "$flagd") return flagd_object(out);
  if (path.substr(0, 7) == "$flagd.") {
    std::string_view rest;
    const std::string_view name = first_segment(path.substr(7), rest);
    RuleValue v;
    if (name == "flagKey" && !flag_key(v)) return false;
    if (name == "timestamp") {
      if (timestamp_ < 0) timestamp_ = unix_seconds();
      v = number_value(timestamp_);
    }
    return rest.empty() ? (out = v, true) : walk(v, rest, out);
  }
  if (context_ == nullptr) return true;
  if (const Context::Attribute* a = context_->find(path, hash)) return attribute_value(*a, out);
  // No attribute of the whole path: a shorter one may be a list, whose element the next segment
  // names ("tags.1", "tags.x" reading as 0); objects in between are dotted keys themselves.
  for (std::size_t dot = path.find('.'); dot != std::string_view::npos; dot = path.find('.', dot + 1)) {
    if (!charge_bytes(dot) || !charge(1)) return false;
    const Context::Attribute* a = context_->find(path.substr(0, dot));
    if (a == nullptr || a->type == Context::Type::Object) continue;
    if (a->type != Context::Type::List) return true;
    const std::size_t end = path.find('.', dot + 1);
    const std::int64_t i = segment_index(path.substr(dot + 1, end == std::string_view::npos ? end : end - dot - 1));
    const auto items = context_->list(*a);
    if (end == std::string_view::npos && i >= 0 && static_cast<std::uint64_t>(i) < items.size())
      out = item_value(items[static_cast<std::size_t>(i)]);
    return true;  // an item is a scalar: nothing below it
  }
  return true;
}

RuleValue RuleEvaluator::item_value(const Context::Item& item) noexcept {
  switch (item.type) {
    case Context::Type::Bool: return bool_value(item.boolean);
    case Context::Type::Number: return number_value(item.number);
    case Context::Type::String: return string_value(item.text);
    default: return null_value();
  }
}

bool RuleEvaluator::attribute_value(const Context::Attribute& a, RuleValue& out) noexcept {
  out = null_value();
  switch (a.type) {
    case Context::Type::Null: return true;
    case Context::Type::Bool: out = bool_value(a.boolean); return true;
    case Context::Type::Number: out = number_value(a.number); return true;
    case Context::Type::String: out = string_value(a.text); return true;
    case Context::Type::Object: return context_object(a.key, 0, out);
    case Context::Type::List: {
      const auto items = context_->list(a);
      const RuleValue array = array_value(values_used_, static_cast<std::uint32_t>(items.size()));
      for (const auto& item : items)
        if (!push(item_value(item))) return false;
      out = array;
      return true;
    }
  }
  return true;
}

// The object the context holds under `prefix` ("" for the whole data, with $flagd), as JSON
// text with its keys sorted: its members are the attributes `prefix`.name that no object
// attribute in between holds. Found by repeated scans (no memory to sort in), each charged.
bool RuleEvaluator::context_object(std::string_view prefix, std::uint32_t depth, RuleValue& out) noexcept {
  if (depth > kRuleEvalDepth) return limit_reached();
  const std::size_t mark = text_used_;
  const auto attributes = context_ != nullptr ? context_->attributes_view() : std::span<const Context::Attribute>{};
  const bool root = prefix.empty();
  // The member name an attribute has in this object, or false.
  const auto member_name = [&](const Context::Attribute& a, std::string_view& name) {
    const std::string_view key = a.key;
    if (root) {
      if (key == "$flagd" || key.substr(0, 7) == "$flagd.") return false;
      name = key;
    } else {
      if (key.size() <= prefix.size() + 1 || key.substr(0, prefix.size()) != prefix || key[prefix.size()] != '.')
        return false;
      name = key.substr(prefix.size() + 1);
    }
    for (std::size_t dot = name.find('.'); dot != std::string_view::npos; dot = name.find('.', dot + 1)) {
      const Context::Attribute* owner = context_->find(key.substr(0, key.size() - name.size() + dot));
      if (owner != nullptr && owner->type == Context::Type::Object) return false;
    }
    return true;
  };
  if (!put_text("{")) return false;
  std::string_view last;
  bool any = false;
  for (std::size_t emitted = 0; emitted <= attributes.size(); ++emitted) {
    if (!charge(attributes.size() + 1)) return false;
    const Context::Attribute* best = nullptr;
    std::string_view best_name;
    bool have = false;
    bool flagd = false;  // the root's $flagd member is next
    if (root && (!any || last < "$flagd")) {
      best_name = "$flagd";
      have = flagd = true;
    }
    for (const auto& a : attributes) {
      std::string_view name;
      if (!member_name(a, name) || (any && !(last < name))) continue;
      if (!have || name < best_name) {
        best = &a;
        best_name = name;
        have = true;
        flagd = false;
      }
    }
    if (!have) break;
    if (any && !put_text(",")) return false;
    if (!encode(string_value(best_name), depth) || !put_text(":")) return false;
    if (flagd) {
      RuleValue f;
      if (!flagd_object(f)) return false;
    } else {
      switch (best->type) {
        case Context::Type::Object: {
          RuleValue nested;
          if (!context_object(best->key, depth + 1, nested)) return false;
          break;
        }
        case Context::Type::List: {
          const auto items = context_->list(*best);
          if (!put_text("[")) return false;
          for (std::size_t i = 0; i < items.size(); ++i)
            if ((i != 0 && !put_text(",")) || !encode(item_value(items[i]), depth)) return false;
          if (!put_text("]")) return false;
          break;
        }
        default: {
          RuleValue v;
          if (!attribute_value(*best, v) || !encode(v, depth)) return false;
          break;
        }
      }
    }
    last = best_name;
    any = true;
  }
  if (!put_text("}")) return false;
  out = object_value({text_ + mark, text_used_ - mark});
  return true;
}

// {"flagKey": ..., "timestamp": ...}, flagd's $flagd.
bool RuleEvaluator::flagd_object(RuleValue& out) noexcept {
  RuleValue key;
  if (!flag_key(key)) return false;
  if (timestamp_ < 0) timestamp_ = unix_seconds();
  const std::size_t mark = text_used_;
  if (!put_text("{\"flagKey\":") || !encode(key, 0) || !put_text(",\"timestamp\":") ||
      !encode(number_value(timestamp_), 0) || !put_text("}"))
    return false;
  out = object_value({text_ + mark, text_used_ - mark});
  return true;
}

// flagd's engine's getVar, given its operand evaluated: null (the data itself if that is a
// scalar element), a path (a string, a number printed as 'f' does), or [path, default]; anything
// else fails. Read against the scope's own data.
bool RuleEvaluator::get_var(const RuleValue& operand, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  (void)depth;
  out = null_value();
  RuleValue path = operand, fallback;
  switch (operand.kind) {
    case Kind::Null:
      if (scope.type == Scope::Type::Element && scope.current != nullptr &&
          (scope.current->kind == Kind::Bool || scope.current->kind == Kind::Number || scope.current->kind == Kind::String))
        out = *scope.current;
      return true;
    case Kind::Number:
      if (!number_text(operand.number, go::format_fixed, path)) return false;
      break;
    case Kind::String: break;
    case Kind::Array:
      if (operand.length == 0) return scope_data(scope, out);
      if (operand.length == 2) fallback = element(operand, 1);
      path = element(operand, 0);
      if (path.kind != Kind::String) return engine_error();
      break;
    default: break;  // a boolean or an object: no path, which the engine finds out only below
  }
  if (scope.type == Scope::Type::Element && (scope.current == nullptr || scope.current->kind == Kind::Null)) {
    out = fallback;  // no data: the default
    return true;
  }
  if (path.kind != Kind::String) return engine_error();
  // Without its empty segments, as flagd's engine walks it ("a..b" is "a.b").
  std::string_view p = path.view();
  if (!charge_text(path)) return false;
  if (p.find("..") != std::string_view::npos || (!p.empty() && (p.front() == '.' || p.back() == '.'))) {
    const std::size_t mark = text_used_;
    for (std::string_view rest = p; !rest.empty();) {
      std::string_view after;
      const std::string_view segment = first_segment(rest, after);
      if (!segment.empty() && ((text_used_ != mark && !put_text(".")) || !put_text(segment))) return false;
      rest = after;
    }
    p = {text_ + mark, text_used_ - mark};
  }
  if (!data_lookup(p, key_hash(p), scope, out)) return false;
  if (out.kind == Kind::Null) out = fallback;
  return true;
}

bool RuleEvaluator::variable(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  // A default that is an operation is evaluated first, as flagd's engine evaluates every operand
  // of var: if it fails, the var fails, found or not.
  RuleValue fallback;
  bool have_fallback = false;
  if (n.argc > 0) {
    RuleNode d;
    if (!node(n.first, d)) return false;
    if (!constant_op(d.op)) {
      if (!arg(n, 0, scope, depth, fallback)) return false;
      have_fallback = true;
    }
  }
  const auto otherwise = [&](RuleValue& v) { return have_fallback ? (v = fallback, true) : arg(n, 0, scope, depth, v); };
  // The common case: an attribute of the context, found by the path's hash and compared with the
  // path where it lies in the image, without copying it.
  if (scope.type == Scope::Type::Context) {
    if (const Context::Attribute* a = find_attribute(slot_, context_, n.a, static_cast<std::uint32_t>(n.b))) {
      if (!attribute_value(*a, out)) return false;
      if (out.kind == Kind::Null && n.argc > 0) return otherwise(out);
      return true;
    }
  }
  RuleValue path;
  if (!image_text(n.a, path)) return false;
  const std::string_view p = path.view();
  const auto hash = static_cast<std::uint32_t>(n.b);
  if (n.argc > 0 && substitutable(p) && rewritten(scope)) {
    // A rewriting body's `var` with a default resolves where the rewrite looks, to the default
    // (evaluated there) if nothing else, so it reads the element only if the default is null.
    if (!substitution(p, hash, scope, n.first, depth, out)) return false;
    if (out.kind != Kind::Null) return reparse(out, scope.detached(), depth, out);
  }
  if (!lookup(p, hash, scope, depth, out)) return false;
  if (out.kind == Kind::Null && n.argc > 0) return otherwise(out);
  return true;
}

// `var` of an operand known only at evaluation, read as flagd's engine reads it, its rewriting
// in filter/none/some bodies included: each rewrite evaluates the operand against the data
// around it and keeps what that finds.
bool RuleEvaluator::var_of(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  if (n.argc != 1) return malformed();
  RuleNode operand;
  if (!node(n.first, operand)) return false;
  bool kept = false;
  if (rewritten(scope) && !kept_from_rewrite(operand, kept)) return false;
  if (!kept && rewritten(scope)) {
    if (!rewritten_var_of(n.first, scope, depth, out)) return false;
    if (out.kind != Kind::Null) return reparse(out, scope.detached(), depth, out);
  }
  const Scope own = scope.detached();
  RuleValue v;
  if (!eval(n.first, own, depth + 1, v)) return false;
  return get_var(v, own, depth, out);
}

// Whether no rewrite touches a VarOf of `operand`: a path written "" or ".x" is the element's.
bool RuleEvaluator::kept_from_rewrite(const RuleNode& operand, bool& kept) noexcept {
  kept = false;
  if (operand.op != RuleOp::String) return true;
  RuleValue written;
  if (!image_text(operand.a, written)) return false;
  kept = !substitutable(written.view());
  return true;
}

bool RuleEvaluator::rewritten_var_of(std::uint32_t operand, const Scope& scope, std::uint32_t depth,
                                     RuleValue& out) noexcept {
  out = null_value();
  if (scope.parent == nullptr) return true;
  if (!rewritten_var_of(operand, *scope.parent, depth, out)) return false;
  for (int level = 0; level < 2; ++level) {
    Scope data;
    if (!rewrite_level(scope, level, data)) continue;
    if (out.kind != Kind::Null) {
      if (!solve_vars(out, data, depth, out)) return false;
      continue;
    }
    RuleValue v;
    if (!eval(operand, data, depth + 1, v) || !get_var(v, data, depth, out)) return false;
  }
  return true;
}

// --- logic and comparison ------------------------------------------------------------------------

bool RuleEvaluator::spread_operand(const RuleNode& n, bool& spread) noexcept {
  spread = false;
  RuleNode first;
  if (n.argc != 1 || !node(n.first, first)) return n.argc != 1;
  spread = first.op == RuleOp::Spread;
  return true;
}

bool RuleEvaluator::op_if(const RuleNode& n, std::uint32_t index, const Scope& scope, std::uint32_t depth,
                          RuleValue& out) noexcept {
  bool spread;
  if (!spread_operand(n, spread)) return false;
  if (spread) return rewritten_operands(n, scope, depth, out);
  // The branch an `if` in tail position returns is in tail position too. flagd's engine
  // evaluates a branch's value again as a rule when it is an object.
  const auto branch = [&](std::uint32_t i) {
    if (index == tail_ && i < n.argc) tail_ = n.first + i;
    if (!arg(n, i, scope, depth, out)) return false;
    return out.kind != Kind::Object || apply_object(out, scope, depth, out);
  };
  std::uint32_t i = 0;
  for (; i + 1 < n.argc; i += 2) {
    RuleValue condition;
    if (!arg(n, i, scope, depth, condition)) return false;
    if (truthy(condition)) return branch(i + 1);
  }
  if (i < n.argc) return branch(i);
  out = null_value();
  return true;
}

bool RuleEvaluator::op_and_or(const RuleNode& n, bool is_and, const Scope& scope, std::uint32_t depth,
                              RuleValue& out) noexcept {
  bool spread;
  if (!spread_operand(n, spread)) return false;
  if (spread) return rewritten_operands(n, scope, depth, out);
  out = null_value();
  for (std::uint32_t i = 0; i < n.argc; ++i) {
    if (!arg(n, i, scope, depth, out)) return false;
    if (truthy(out) != is_and) return true;
  }
  return true;
}

// ! and !!: of the first operand (every operand is evaluated); of a single operand that gives a
// list, of its first element.
bool RuleEvaluator::op_not(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  const RuleValue v = args.single ? args.value : args.count > 0 ? at(args, 0) : array_value(0, 0);
  out = bool_value(truthy(v) == (n.op == RuleOp::NotNot));
  return true;
}

bool RuleEvaluator::op_compare(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  const bool negated = n.op == RuleOp::NotEqual || n.op == RuleOp::StrictNotEqual;
  if (args.single) {  // one value, no list: === and !== compare nothing, the others fail
    if (n.op != RuleOp::StrictEqual && n.op != RuleOp::StrictNotEqual) return engine_error();
    out = bool_value(negated);
    return true;
  }
  if (args.count < 2) {
    // jsonlogic v3.9.1, which flagd runs: a comparison short of an operand is false, and its
    // negations (!=, !==) are true.
    out = bool_value(negated);
    return true;
  }
  const RuleValue& a = at(args, 0);
  const RuleValue& b = at(args, 1);
  const RuleValue* c = args.count == 3 ? &at(args, 2) : nullptr;  // "between"; four or more: two
  // Strings are compared or parsed as numbers: either reads them once.
  if (!charge_text(a) || !charge_text(b) || (c != nullptr && !charge_text(*c))) return false;
  bool result = false;
  switch (n.op) {
    case RuleOp::Equal: result = loose_equal(a, b); break;
    case RuleOp::NotEqual: result = !loose_equal(a, b); break;
    case RuleOp::StrictEqual: result = strict_equal(a, b); break;
    case RuleOp::StrictNotEqual: result = !strict_equal(a, b); break;
    case RuleOp::Less: result = c ? less(a, b) && less(b, *c) : less(a, b); break;
    case RuleOp::LessEqual: result = c ? less_or_equal(a, b) && less_or_equal(b, *c) : less_or_equal(a, b); break;
    case RuleOp::Greater: result = c ? less(*c, b) && less(b, a) : less(b, a); break;
    case RuleOp::GreaterEqual: result = c ? less_or_equal(*c, b) && less_or_equal(b, a) : less_or_equal(b, a); break;
    default: break;
  }
  out = bool_value(result);
  return true;
}

// --- arithmetic ----------------------------------------------------------------------------------

// Operands coerce as typing.ToNumber does (go_number): null, booleans, lists and objects fail.
bool RuleEvaluator::op_arithmetic(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  double x = 0, y = 0;
  if (args.single) {  // + and abs take one value; the others need a list
    if (n.op != RuleOp::Add && n.op != RuleOp::Abs) return engine_error();
    if (!go_number(args.value, x)) return false;
    out = number_value(n.op == RuleOp::Abs ? std::fabs(x) : x);
    return true;
  }
  const std::uint32_t count = args.count;
  switch (n.op) {
    case RuleOp::Abs:
      if (count == 0 || !go_number(at(args, 0), x)) return count == 0 ? engine_error() : false;
      out = number_value(std::fabs(x));
      return true;
    case RuleOp::Modulo:  // of the first two only
      if (count < 2) return engine_error();
      if (!go_number(at(args, 0), x) || !go_number(at(args, 1), y)) return false;
      out = number_value(std::fmod(x, y));
      return true;
    case RuleOp::Max:
    case RuleOp::Min: {
      if (count == 0) {
        out = null_value();
        return true;
      }
      if (!go_number(at(args, 0), x)) return false;
      for (std::uint32_t i = 1; i < count; ++i) {
        if (!go_number(at(args, i), y)) return false;
        if (n.op == RuleOp::Max ? y > x : x > y) x = y;  // NaN never replaces, as in flagd's engine
      }
      out = number_value(x);
      return true;
    }
    default: break;
  }
  // +: a sum from 0 (one operand: itself); *: a product from 1; - and /: chained from the first
  // (- of one negates it); none gives 0 (* 1).
  if (count == 0) {
    out = number_value(n.op == RuleOp::Multiply ? 1 : 0);
    return true;
  }
  if (!go_number(at(args, 0), x)) return false;
  double acc = n.op == RuleOp::Add && count > 1 ? 0 + x : n.op == RuleOp::Multiply ? 1 * x : x;
  for (std::uint32_t i = 1; i < count; ++i) {
    if (!go_number(at(args, i), y)) return false;
    switch (n.op) {
      case RuleOp::Add: acc += y; break;
      case RuleOp::Multiply: acc *= y; break;
      case RuleOp::Subtract: acc -= y; break;
      case RuleOp::Divide: acc /= y; break;
      default: break;
    }
  }
  if (n.op == RuleOp::Subtract && count == 1) acc = -1 * acc;
  out = number_value(acc);
  return true;
}

// --- strings and lists ---------------------------------------------------------------------------

bool RuleEvaluator::op_in(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  if (args.single || args.count == 0) return engine_error();  // flagd's engine needs a list and a needle
  return in_values(at(args, 0), args.count > 1 ? at(args, 1) : null_value(), out);
}

bool RuleEvaluator::in_values(const RuleValue& needle, const RuleValue& haystack, RuleValue& out) noexcept {
  bool found = false;
  if (haystack.kind == Kind::String) {
    if (needle.kind != Kind::String) return engine_error();  // flagd's engine fails here
    // Charged before the search: find_text's comparisons are linear in both strings.
    if (!charge_bytes(std::uint64_t{haystack.length} + needle.length)) return false;
    std::uint64_t comparisons;
    found = find_text(haystack.view(), needle.view(), comparisons) != std::string_view::npos;
  } else if (haystack.kind == Kind::Array) {
    if (!charge(haystack.length)) return false;
    for (std::uint32_t i = 0; i < haystack.length && !found; ++i) {
      const RuleValue& e = element(haystack, i);
      double x, low, high;
      if (e.kind == Kind::Array) {  // [low, high]: a range, both ends included, as numbers
        if (e.length < 2) return engine_error();
        if (!go_number(needle, x) || !go_number(element(e, 0), low)) return false;
        if (!(x >= low)) continue;  // the high end is read only then, as flagd's engine reads it
        if (!go_number(element(e, 1), high)) return false;
        found = high >= x;
      } else if (needle.kind == Kind::Number) {  // elements read as numbers ("a" as 0)
        if (!go_number(e, x)) return false;
        found = x == needle.number;
      } else if (!go_equal(e, needle, found)) {
        return false;
      }
    }
  }
  out = bool_value(found);
  return true;
}

bool RuleEvaluator::op_cat(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  if (args.single) {  // a string is the result; nothing else is taken
    if (args.value.kind != Kind::String) return engine_error();
    out = args.value;
    return true;
  }
  if (args.count == 1) return go_string(at(args, 0), out);
  for (std::uint32_t i = 0; i < args.count; ++i) {  // every operand is checked before any is joined
    const Kind k = at(args, i).kind;
    if (k != Kind::String && k != Kind::Number && k != Kind::Null) return engine_error();
  }
  const std::size_t mark = text_used_;
  for (std::uint32_t i = 0; i < args.count; ++i) {
    const RuleValue& v = at(args, i);
    char buf[go::kNumberTextBytes];
    const std::string_view piece = v.kind == Kind::Number ? std::string_view(buf, go::format_fixed(v.number, buf)) : v.view();
    if (!put_text(piece)) return false;
  }
  // flagd's engine trims a concatenation of two or more (Go's TrimSpace, Unicode's white space).
  out = string_value(trim_space({text_ + mark, text_used_ - mark}));
  return true;
}

namespace {
// A string as Go's []rune sees it: code points, each invalid byte one (U+FFFD, which
// string(runes) writes back as three bytes).
struct Runes {
  std::int64_t count = 0;
  bool invalid = false;
};
Runes count_runes(std::string_view s) noexcept {
  Runes r;
  for (std::size_t i = 0; i < s.size(); ++r.count) {
    const std::size_t n = go::utf8_sequence(s.substr(i));
    r.invalid = r.invalid || n == 0;
    i += n == 0 ? 1 : n;
  }
  return r;
}
// Byte offset of rune `index` (its size if past the end).
std::size_t rune_offset(std::string_view s, std::int64_t index) noexcept {
  std::size_t at = 0;
  for (std::int64_t i = 0; i < index && at < s.size(); ++i) {
    const std::size_t n = go::utf8_sequence(s.substr(at));
    at += n == 0 ? 1 : n;
  }
  return at;
}
}  // namespace

// substr as flagd's engine runs it: code points; a start past either end gives the whole
// string; a negative length that crosses the start fails; with more than three operands, no
// length. Numbers convert to int as Go's amd64 code does.
bool RuleEvaluator::op_substr(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  if (args.single || args.count == 0) return engine_error();
  RuleValue text;
  if (!go_string(at(args, 0), text)) return false;
  if (args.count < 2) return engine_error();
  double start;
  if (!go_number(at(args, 1), start)) return false;
  const std::string_view s = text.view();
  if (!charge_bytes(s.size())) return false;
  const Runes runes = count_runes(s);
  std::int64_t from = go::to_int(start);
  std::int64_t to = runes.count;
  if (from < 0) from += runes.count;
  if (from < 0 || from > runes.count) {
    from = 0;
  } else {
    std::int64_t length = runes.count;
    if (args.count == 3) {
      double l;
      if (!go_number(at(args, 2), l)) return false;
      length = go::to_int(l);
    }
    // Go's int arithmetic wraps; a slice that ends before it starts fails.
    to = length < 0 ? runes.count + length
                    : static_cast<std::int64_t>(static_cast<std::uint64_t>(from) + static_cast<std::uint64_t>(length));
    if (to > runes.count) to = runes.count;
    if (to < from) return engine_error();
  }
  const std::size_t begin = rune_offset(s, from), end = begin + rune_offset(s.substr(begin), to - from);
  if (!runes.invalid) {
    out = string_value(s.substr(begin, end - begin));
    return true;
  }
  const std::size_t mark = text_used_;
  for (std::size_t i = begin; i < end;) {
    const std::size_t k = go::utf8_sequence(s.substr(i, end - i));
    if (!put_text(k == 0 ? std::string_view("\xEF\xBF\xBD") : s.substr(i, k))) return false;
    i += k == 0 ? 1 : k;
  }
  out = text_since(mark);
  return true;
}

bool RuleEvaluator::op_merge(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  const RuleValue array = array_value(values_used_, 0);
  if (args.single) {  // a scalar becomes a list of it; null and objects fail
    if (args.value.kind == Kind::Null || args.value.kind == Kind::Object) return engine_error();
    if (!push(args.value)) return false;
  } else {
    for (std::uint32_t i = 0; i < args.count; ++i) {
      // Lists are flattened one level; anything else, null and objects included, is an element.
      const RuleValue& operand = at(args, i);
      if (operand.kind != Kind::Array) {
        if (!push(operand)) return false;
        continue;
      }
      if (!charge(operand.length)) return false;
      for (std::uint32_t j = 0; j < operand.length; ++j)
        if (!push(element(operand, j))) return false;
    }
  }
  out = array;
  out.length = values_used_ - array.begin;
  return true;
}

// missing and missing_some: each name is read as var reads its operand (a string or number path,
// [path, default], null), against the data itself: flagd's rewriting of filter/none/some bodies
// touches var only. A name that is an object is evaluated again first, as the engine does.
bool RuleEvaluator::op_missing(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  RuleValue names;
  std::int64_t need = 0;
  if (n.op == RuleOp::MissingSome) {
    if (args.single || args.count == 0) return engine_error();
    double m;
    if (!go_number(at(args, 0), m)) return false;
    need = go::to_int(m);
    if (args.count < 2 || at(args, 1).kind != Kind::Array) return engine_error();
    names = at(args, 1);
  } else if (args.single) {
    if (args.value.kind != Kind::String) return engine_error();  // one name, or a list of them
    names = array_value(values_used_, 1);
    if (!push(args.value)) return false;
  } else {
    names = array_value(args.first, args.count);
  }
  // The result's slots are reserved first: lookups may push values of their own.
  if (names.length > kRuleValueScratch - values_used_) return limit_reached();
  if (!charge(names.length)) return false;
  RuleValue missing = array_value(values_used_, 0);
  values_used_ += names.length;
  const Scope own = scope.detached();
  std::int64_t found = 0;
  for (std::uint32_t i = 0; i < names.length; ++i) {
    RuleValue name, value;
    if (!reparse(element(names, i), own, depth, name) || !get_var(name, own, depth, value)) return false;
    if (value.kind == Kind::Null) {  // flagd's engine: null is missing, "" is not
      values_[missing.begin + missing.length++] = element(names, i);
    } else {
      ++found;
    }
  }
  if (n.op == RuleOp::MissingSome && need <= found) missing.length = 0;
  out = missing;
  return true;
}

// set [object, key, value]: a copy of the object with the key set (the value evaluated again);
// fewer than three operands give the first (null if none); anything but an object is itself.
bool RuleEvaluator::op_set(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  if (args.single) return engine_error();
  if (args.count < 3) {
    out = args.count == 0 ? null_value() : at(args, 0);
    return true;
  }
  const RuleValue object = at(args, 0);
  if (object.kind != Kind::Object) {
    out = object;
    return true;
  }
  if (at(args, 1).kind != Kind::String) return engine_error();
  const RuleValue key = at(args, 1);
  RuleValue value;
  if (!reparse(at(args, 2), scope, depth, value)) return false;
  if (!charge_bytes(object.length)) return false;
  const std::size_t mark = text_used_;
  bool placed = false, any = false, ok = true;
  const auto put_member = [&]() {
    placed = true;
    return (!any || put_text(",")) && encode(key, depth) && put_text(":") && encode(value, depth);
  };
  if (!put_text("{")) return false;
  const bool parsed = json::members(object.view(), [&](std::string_view k, std::string_view v) {
    bool decoded;
    const int order = json::compare_string(k, key.view(), decoded);
    if (!decoded) return ok = false;
    if (!placed && order >= 0) {
      if (!put_member()) return ok = false;
      any = true;
    }
    if (order != 0) {
      if (!(!any || put_text(",")) || !put_text(k) || !put_text(":") || !put_text(v)) return ok = false;
      any = true;
    }
    return true;
  });
  if (!ok) return failure_ == RuleOutcome::General ? false : malformed();
  if (!parsed) return malformed();
  if (!placed && !put_member()) return false;
  if (!put_text("}")) return false;
  out = object_value({text_ + mark, text_used_ - mark});
  return true;
}

// contains_all / contains_any / contains_none [list, list]: elements compared as Go's == does
// (two lists or two objects fail); anything but two lists: false (contains_none: true).
bool RuleEvaluator::op_contains(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  const bool none = n.op == RuleOp::ContainsNone;
  out = bool_value(none);
  if (args.single || args.count != 2) return true;
  const RuleValue& search = at(args, 0);
  const RuleValue& wanted = at(args, 1);
  if (search.kind != Kind::Array || wanted.kind != Kind::Array) return true;
  for (std::uint32_t i = 0; i < wanted.length; ++i) {
    if (!charge(search.length + 1)) return false;
    bool found = false;
    for (std::uint32_t j = 0; j < search.length && !found; ++j)
      if (!go_equal(element(search, j), element(wanted, i), found)) return false;
    if (n.op == RuleOp::ContainsAll && !found) {
      out = bool_value(false);
      return true;
    }
    if (n.op != RuleOp::ContainsAll && found) {
      out = bool_value(!none);
      return true;
    }
  }
  out = bool_value(n.op != RuleOp::ContainsAny);
  return true;
}

// --- map, filter, reduce, all, none, some -----------------------------------------------------

namespace {
bool operation(RuleOp op) noexcept { return op > RuleOp::Array; }
}  // namespace

// A literal list as flagd's engine iterates it: its elements as written, not evaluated (the
// compiler keeps them as data: constants, lists, objects).
bool RuleEvaluator::raw_value(std::uint32_t index, std::uint32_t depth, RuleValue& out) noexcept {
  if (depth > kRuleEvalDepth) return limit_reached();
  RuleNode n;
  if (!node(index, n)) return false;
  if (n.op != RuleOp::Array) return constant_op(n.op) ? constant(n, false, out) : malformed();
  if (n.argc > kRuleValueScratch - values_used_) return limit_reached();
  if (!charge(n.argc)) return false;
  RuleValue array = array_value(values_used_, 0);
  values_used_ += n.argc;
  for (std::uint32_t i = 0; i < n.argc; ++i) {
    RuleValue v;
    if (!raw_value(n.first + i, depth + 1, v)) return false;
    values_[array.begin + array.length++] = v;
  }
  out = array;
  return true;
}

// What map/filter/reduce/all/none/some iterate over, as flagd's engine takes it: a literal list
// as written, an operation's value, and nothing (null) for any other literal.
bool RuleEvaluator::subject(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  RuleNode s;
  if (n.argc == 0 || !node(n.first, s)) return malformed();
  switch (s.op) {
    case RuleOp::Null:
    case RuleOp::Bool:
    case RuleOp::Number:
    case RuleOp::String: out = null_value(); return true;
    case RuleOp::Array:  // as written, but for what the rewrites around make of the vars in it
      return raw_value(n.first, depth + 1, out) && (!rewritten(scope) || rewritten_value(out, scope, depth, out));
    case RuleOp::Var:
    case RuleOp::VarOf: {
      // A var a rewrite replaced is its value, taken as written: a list as it is, an object
      // applied, anything else nothing.
      bool substituted;
      if (!substituted_var(s, scope, depth, substituted, out)) return false;
      if (!substituted) return eval(n.first, scope, depth + 1, out);
      if (out.kind == Kind::Object) return apply_object(out, scope.detached(), depth, out);  // its value stands
      if (out.kind != Kind::Array) out = null_value();
      return true;
    }
    default: return eval(n.first, scope, depth + 1, out);
  }
}

// Whether a rewrite (Scope) replaces the lone `var` node `var` in `scope` with a value, and with
// which: the value as the rewrite found it, not evaluated again.
bool RuleEvaluator::substituted_var(const RuleNode& var, const Scope& scope, std::uint32_t depth, bool& substituted,
                                    RuleValue& value) noexcept {
  substituted = false;
  value = null_value();
  if (!rewritten(scope)) return true;
  if (var.op == RuleOp::Var) {
    RuleValue path;
    if (!image_text(var.a, path)) return false;
    if (!substitutable(path.view())) return true;
    if (!substitution(path.view(), static_cast<std::uint32_t>(var.b), scope, var.argc > 0 ? var.first : kNoNode, depth,
                      value))
      return false;
  } else if (var.op == RuleOp::VarOf) {
    RuleNode operand;
    bool kept;
    if (var.argc != 1 || !node(var.first, operand)) return malformed();
    if (!kept_from_rewrite(operand, kept)) return false;
    if (kept) return true;
    if (!rewritten_var_of(var.first, scope, depth, value)) return false;
  } else {
    return true;
  }
  substituted = value.kind != Kind::Null;
  return true;
}

// flagd's engine rewrites a body by reading each var in it (Scope), evaluating the var's operand
// against the data the rewrite reads, before anything of the body runs: an operand that fails
// fails the operator, even if the list is empty or the body would not reach that var. Here the
// body is walked for operands that can fail (a default or a path that is an operation) and each is
// evaluated against `data`. (A var a rewrite further out resolved is not read again by flagd's
// engine; evaluating its operand anyway can only matter if it fails against this data alone.)
bool RuleEvaluator::rewrite_operands(std::uint32_t index, const Scope& data, std::uint32_t depth) noexcept {
  if (depth > kRuleEvalDepth) return limit_reached();
  RuleNode n;
  if (!node(index, n) || !charge(1)) return false;
  const std::size_t text_mark = text_used_;
  const std::uint32_t value_mark = values_used_;
  RuleValue v, found;
  bool ok = true;
  if (n.op == RuleOp::Var) {
    RuleNode fallback;
    if (n.argc > 0 && (!node(n.first, fallback) || (!constant_op(fallback.op) && !eval(n.first, data, depth + 1, v))))
      ok = false;
  } else if (n.op == RuleOp::VarOf) {
    RuleNode operand;
    bool kept = false;
    ok = n.argc == 1 && node(n.first, operand) && kept_from_rewrite(operand, kept) &&
         (kept || (eval(n.first, data, depth + 1, v) && get_var(v, data, depth, found)));
  } else if (n.op == RuleOp::Object) {
    ok = constant(n, false, v) && solve_vars(v, data, depth, found);  // a literal's vars are read too
  } else {
    for (std::uint32_t i = 0; i < n.argc && ok; ++i) ok = rewrite_operands(n.first + i, data, depth + 1);
  }
  text_used_ = text_mark;
  values_used_ = value_mark;
  return ok;
}

bool RuleEvaluator::op_iterate(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  bool spread;
  if (!spread_operand(n, spread)) return false;
  if (spread) return rewritten_operands(n, scope, depth, out);
  const bool quantifier = n.op == RuleOp::All || n.op == RuleOp::None || n.op == RuleOp::Some;
  if (!quantifier && n.argc < 2) {  // map and filter short of a body: [] (nothing evaluated)
    out = array_value(values_used_, 0);
    return true;
  }
  if (n.argc == 0) return engine_error();
  RuleValue input;
  if (!subject(n, scope, depth, input)) return false;
  if (quantifier ? !truthy(input) : input.kind == Kind::Null) {
    // all: false, none: true, some: false; map and filter: [].
    out = quantifier ? bool_value(n.op == RuleOp::None) : array_value(values_used_, 0);
    return true;
  }
  if (input.kind != Kind::Array || n.argc < 2) return engine_error();  // the engine asserts a list, a body
  RuleNode body;
  if (!node(n.first + 1, body)) return false;
  // all, none and some apply their body to each element, and only an operation can be applied.
  if (quantifier && !operation(body.op)) return engine_error();
  const std::uint32_t count = input.length;
  // map and filter reserve their result's slots first: the body may push values of its own.
  RuleValue result = array_value(values_used_, 0);
  if (n.op == RuleOp::Map || n.op == RuleOp::Filter) {
    if (count > kRuleValueScratch - values_used_) return limit_reached();
    values_used_ += count;
  }
  const bool rewrites = n.op == RuleOp::Filter || n.op == RuleOp::None || n.op == RuleOp::Some;
  const bool rewrites_element = n.op == RuleOp::All || n.op == RuleOp::Some;
  if (rewrites && !rewrite_operands(n.first + 1, scope.detached(), depth + 1)) return false;
  std::uint32_t matches = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const RuleValue current = element(input, i);
    const Scope inner{Scope::Type::Element, &current, nullptr, {}, &scope, rewrites, rewrites_element};
    if (rewrites_element && !rewrite_operands(n.first + 1, inner.detached(), depth + 1)) return false;
    bool substituted;
    RuleValue v;
    if (!substituted_var(body, inner, depth, substituted, v)) return false;
    if (substituted) {
      // The body became that value: applied, it must be an object (an operation, or a literal);
      // map and filter evaluate it again as a value.
      if (quantifier && v.kind != Kind::Object) return engine_error();
      if (!reparse(v, inner.detached(), depth, v)) return false;
    } else if (!arg(n, 1, inner, depth, v)) {
      return false;
    }
    const bool t = truthy(v);
    matches += t ? 1 : 0;
    if (n.op == RuleOp::Map) values_[result.begin + result.length++] = v;
    if (n.op == RuleOp::Filter && t) values_[result.begin + result.length++] = current;
    if (n.op == RuleOp::All && !t) break;
    if ((n.op == RuleOp::Some || n.op == RuleOp::None) && t) break;
  }
  switch (n.op) {
    case RuleOp::Map:
    case RuleOp::Filter: out = result; return true;
    case RuleOp::All: out = bool_value(matches == count); return true;
    case RuleOp::Some: out = bool_value(matches != 0); return true;
    default: out = bool_value(matches == 0); return true;  // None
  }
}

// reduce [list, body, initial]: fewer than three operands give 0; the initial value must be a
// boolean, a number or a string, and fixes the accumulator's type; a null subject gives 0; null
// elements are skipped; the body sees {"current", "accumulator", "valueType"} only.
bool RuleEvaluator::op_reduce(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  bool spread;
  if (!spread_operand(n, spread)) return false;
  if (spread) return rewritten_operands(n, scope, depth, out);
  if (n.argc < 3) {
    out = number_value(0);
    return true;
  }
  RuleValue accumulator;
  if (!arg(n, 2, scope, depth, accumulator)) return false;
  std::string_view type;
  switch (accumulator.kind) {
    case Kind::Bool: type = "bool"; break;
    case Kind::Number: type = "number"; break;
    case Kind::String: type = "string"; break;
    default: return engine_error();
  }
  RuleValue input;
  if (!subject(n, scope, depth, input)) return false;
  if (input.kind == Kind::Null) {
    out = number_value(0);
    return true;
  }
  if (input.kind != Kind::Array) return engine_error();
  RuleNode body;
  if (!node(n.first + 1, body)) return false;
  for (std::uint32_t i = 0; i < input.length; ++i) {
    const RuleValue current = element(input, i);
    if (current.kind == Kind::Null) continue;  // skipped
    const Scope inner{Scope::Type::Reduce, &current, &accumulator, type, &scope, false, false};
    if (!operation(body.op)) return engine_error();  // only an operation can be applied
    bool substituted;
    RuleValue next;
    if (!substituted_var(body, inner, depth, substituted, next)) return false;
    if (substituted) {
      if (next.kind != Kind::Object) return engine_error();
      if (!apply_object(next, inner.detached(), depth, next)) return false;
    } else if (!arg(n, 1, inner, depth, next)) {
      return false;
    }
    // The accumulator keeps the initial value's type, coerced as the engine does.
    double d;
    switch (accumulator.kind) {
      case Kind::Bool: accumulator = bool_value(truthy(next)); break;
      case Kind::Number:
        if (!go_number(next, d)) return false;
        accumulator = number_value(d);
        break;
      default:
        if (!go_string(next, accumulator)) return false;
        break;
    }
  }
  out = accumulator;
  return true;
}

// --- flagd's operators ---------------------------------------------------------------------------

bool RuleEvaluator::op_affix(const RuleNode& n, bool prefix, const Scope& scope, std::uint32_t depth,
                             RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;  // every operand first, as flagd's engine
  out = null_value();
  if (args.single || args.count != 2) return true;
  return affix_values(prefix, at(args, 0), at(args, 1), out);
}

bool RuleEvaluator::affix_values(bool prefix, const RuleValue& a, const RuleValue& b, RuleValue& out) noexcept {
  out = null_value();
  if (a.kind != Kind::String || b.kind != Kind::String) return true;
  const std::string_view s = a.view(), affix = b.view();
  if (affix.size() <= s.size() && !charge_bytes(affix.size())) return false;
  out = bool_value(affix.size() <= s.size() &&
                   (prefix ? s.substr(0, affix.size()) == affix : s.substr(s.size() - affix.size()) == affix));
  return true;
}

// A fused attribute test. When the attribute is a string (the case it exists for) the constants
// are compared where they lie in the image; anything else takes the operator's general path with
// both operands materialized, so the result is the same as the unfused rule's.
bool RuleEvaluator::op_attr_test(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  const RuleOp op = fused_operator(n);
  const auto hash = static_cast<std::uint32_t>(n.b);
  RuleNode constant_node;
  if (n.argc != 1 || !node(n.first, constant_node)) return malformed();
  const Context::Attribute* attribute = find_attribute(slot_, context_, n.a, hash);
  if (attribute != nullptr && attribute->type == Context::Type::String) {
    if (op == RuleOp::In && constant_node.op == RuleOp::Array && !charge(constant_node.argc)) return false;
    // Charged after the test: what it compares is bounded by the rule's own constants.
    std::uint64_t compared;
    const StringTest test = string_attribute_test(slot_, nodes_, op, constant_node, *attribute, compared);
    if (!charge_bytes(compared)) return false;
    switch (test) {
      case StringTest::False: out = bool_value(false); return true;
      case StringTest::True: out = bool_value(true); return true;
      case StringTest::Malformed: return malformed();
      case StringTest::Undecided: break;
    }
  }
  // The general path: the attribute as `var` reads it, the constant evaluated.
  RuleValue a, b;
  RuleValue path_text;
  if (!image_text(n.a, path_text) || !lookup(path_text.view(), hash, scope, depth, a)) return false;
  if (!arg(n, 0, scope, depth, b)) return false;
  if (!charge_text(a) || !charge_text(b)) return false;
  switch (op) {
    case RuleOp::Equal: out = bool_value(loose_equal(a, b)); return true;
    case RuleOp::NotEqual: out = bool_value(!loose_equal(a, b)); return true;
    case RuleOp::StrictEqual: out = bool_value(strict_equal(a, b)); return true;
    case RuleOp::StrictNotEqual: out = bool_value(!strict_equal(a, b)); return true;
    case RuleOp::StartsWith: return affix_values(true, a, b, out);
    case RuleOp::EndsWith: return affix_values(false, a, b, out);
    case RuleOp::In: return in_values(a, b, out);
    default: return malformed();
  }
}

bool RuleEvaluator::op_sem_ver(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  out = null_value();
  if (args.single || args.count != 3) return true;
  // A version that is not a string is printed as fmt's %v prints it (numbers as 1.5, 1e+06);
  // only a string or a number can read as a version.
  RuleValue texts[2];
  const RuleValue* versions[2] = {&at(args, 0), &at(args, 2)};
  for (int k = 0; k < 2; ++k) {
    const RuleValue& v = *versions[k];
    if (v.kind == Kind::String) texts[k] = v;
    else if (v.kind != Kind::Number) return true;
    else if (!number_text(v.number, go::format_general, texts[k])) return false;
  }
  const RuleValue& op = at(args, 1);
  if (op.kind != Kind::String) return true;
  // Parsing and comparing the versions reads each a bounded number of times.
  if (!charge_text(texts[0]) || !charge_text(texts[1])) return false;
  SemVer left, right;
  if (!parse_semver(texts[0].view(), left) || !parse_semver(texts[1].view(), right)) return true;
  const int c = compare_semver(left, right);
  const std::string_view o = op.view();
  if (o == "=") out = bool_value(c == 0);
  else if (o == "!=") out = bool_value(c != 0);
  else if (o == "<") out = bool_value(c < 0);
  else if (o == "<=") out = bool_value(c <= 0);
  else if (o == ">") out = bool_value(c > 0);
  else if (o == ">=") out = bool_value(c >= 0);
  else if (o == "^") out = bool_value(compare_semver_major(left, right) == 0);
  else if (o == "~") out = bool_value(compare_semver_minor(left, right) == 0);
  return true;
}

// fractional with constant buckets and the targeting key, the usual form: the buckets are read
// from their nodes where they lie, nothing is evaluated or copied but the flag key. `handled` is
// false (and nothing done) for any other form, which takes the general path.
bool RuleEvaluator::fractional_constant(const RuleNode& n, std::uint32_t index, bool& handled, RuleValue& out) noexcept {
  std::uint64_t total;
  bool valid;
  handled = constant_buckets(nodes_, n.first, n.argc, total, valid);
  if (!handled) return true;
  out = null_value();
  if (!charge(n.argc)) return false;
  if (!valid || total == 0 || total > kMaxFractionalTotal) return true;
  const std::string_view tk = targeting_key();
  if (tk.empty()) return true;
  if (!charge_bytes(tk.size())) return false;  // hashed
  std::uint32_t hash;
  if ((n.flags & layout::kFlagKeyHashed) != 0 && n.b == flag_key_ref_.length) {
    // The hash's state after the flag key was computed at load (rule_layout.hpp).
    hash = murmur3_finish(Murmur3Prefix{static_cast<std::uint32_t>(n.a), static_cast<std::uint32_t>(n.a >> 32) & 0xFFFFFF,
                                        static_cast<std::uint32_t>(n.a >> 56) & 3, flag_key_ref_.length},
                          tk);
  } else {
    RuleValue key;
    if (!flag_key(key)) return false;
    hash = murmur3_x86_32(key.view(), tk);
  }
  const std::uint64_t point = (std::uint64_t{hash} * total) >> 32;
  std::uint32_t at_node;
  RuleNode variant;
  if (!constant_bucket_at(nodes_, n.first, n.argc, point, at_node)) return true;
  if (!node(at_node, variant)) return false;
  return constant(variant, index == tail_, out);
}

// The value of a constant node. A string constant that is the rule's answer (`tail`) and names a
// variant needs only the variant's index: its text is not copied.
bool RuleEvaluator::constant(const RuleNode& c, bool tail, RuleValue& out) noexcept {
  switch (c.op) {
    case RuleOp::Null: out = null_value(); return true;
    case RuleOp::Bool: out = bool_value(c.a != 0); return true;
    case RuleOp::Number: out = number_value(std::bit_cast<double>(c.a)); return true;
    case RuleOp::String: {
      // The index as run() reads it: tested whole, a torn `b` such as 0x10000 would leave a
      // textless string that run() takes for one with text.
      const auto variant = static_cast<std::uint16_t>(c.b);
      if (tail && variant != 0) {
        out = RuleValue{};
        out.kind = Kind::String;
        out.length = layout::unpack_string_ref(c.a).length;
      } else if (!image_text(c.a, out)) {
        return false;
      }
      out.variant = variant;
      return true;
    }
    case RuleOp::Object: {
      RuleValue text;
      if (!image_text(c.a, text)) return false;
      out = object_value(text.view());
      return true;
    }
    default: return malformed();
  }
}

// What fractional buckets by, from the data it runs on: flagd's engine reads the targeting key
// and its own flag key from that data, the context's or, inside map/filter/... bodies, the
// element's (its "targetingKey" and "$flagd"), and fails unless the data is an object.
bool RuleEvaluator::fractional_keys(const Scope& scope, bool& object_data, RuleValue& targeting_key_value,
                                    RuleValue& flag_key_value) noexcept {
  object_data = true;
  targeting_key_value = flag_key_value = string_value({});
  if (scope.type == Scope::Type::Context) {
    targeting_key_value = string_value(targeting_key());
    return flag_key(flag_key_value);
  }
  if (scope.type == Scope::Type::Reduce) return true;  // {"current", "accumulator", "valueType"}
  if (scope.current == nullptr || scope.current->kind != Kind::Object) {
    object_data = false;
    return true;
  }
  RuleValue tk, flagd;
  if (!member(*scope.current, "targetingKey", tk) || !member(*scope.current, "$flagd", flagd)) return false;
  if (tk.kind == Kind::String) targeting_key_value = tk;
  if (flagd.kind != Kind::Object) return true;
  // The engine decodes $flagd into {FlagKey string; Timestamp int64}, names matched in any case,
  // and takes nothing of it if any of those does not fit.
  RuleValue key = string_value({});
  bool fits = true;
  const bool parsed = json::members(flagd.view(), [&](std::string_view k, std::string_view v) {
    RuleValue name;
    if (!json_value(k, 0, name)) return fits = false;
    const auto named = [&](std::string_view want) {
      if (name.length != want.size()) return false;
      for (std::size_t i = 0; i < want.size(); ++i)
        if ((name.text[i] | 0x20) != want[i]) return false;
      return true;
    };
    if (named("flagkey")) {
      RuleValue x;
      if (!json_value(v, 0, x)) return fits = false;
      if (x.kind == Kind::String) key = x;
      else if (x.kind != Kind::Null) fits = false;
    } else if (named("timestamp") && v != "null") {
      std::int64_t t;
      const auto r = std::from_chars(v.data(), v.data() + v.size(), t);
      fits = fits && r.ec == std::errc() && r.ptr == v.data() + v.size();
    }
    return true;
  });
  if (!parsed) return malformed();
  if (fits) flag_key_value = key;
  return true;
}

bool RuleEvaluator::op_fractional(const RuleNode& n, std::uint32_t index, const Scope& scope, std::uint32_t depth,
                                  RuleValue& out) noexcept {
  out = null_value();
  if (n.argc == 0) return true;
  bool handled = false;
  if (scope.type == Scope::Type::Context && !fractional_constant(n, index, handled, out)) return false;
  if (handled) return true;
  Args args;
  if (!values(n, scope, depth, args)) return false;  // flagd evaluates every operand first
  out = null_value();
  if (args.single || args.count == 0) return true;
  bool object_data;
  RuleValue tk, flag;
  if (!fractional_keys(scope, object_data, tk, flag)) return false;
  if (!object_data) return true;
  const RuleValue& head = at(args, 0);
  std::string_view key_a, key_b;
  std::uint32_t buckets_from = 0;
  if (head.kind == Kind::String) {
    key_a = head.view();
    buckets_from = 1;
  } else {
    buckets_from = head.kind == Kind::Null ? 1 : 0;
    if (tk.length == 0) return true;
    key_a = flag.view();
    key_b = tk.view();
  }
  // Buckets: [variant, weight?]; a weight is a whole number, absent or null meaning 1, negative 0.
  const auto weight_of = [&](const RuleValue& bucket, std::uint64_t& weight) {
    weight = 1;
    if (bucket.length < 2 || element(bucket, 1).kind == Kind::Null) return true;
    const RuleValue& w = element(bucket, 1);
    return w.kind == Kind::Number && fractional_weight(w.number, weight);
  };
  std::uint64_t total = 0;
  for (std::uint32_t i = buckets_from; i < args.count; ++i) {
    const RuleValue& bucket = at(args, i);
    if (bucket.kind != Kind::Array || bucket.length == 0) return true;
    const RuleValue& variant = element(bucket, 0);
    if (variant.kind == Kind::Array || variant.kind == Kind::Object) return true;
    std::uint64_t weight;
    if (!weight_of(bucket, weight)) return true;
    total += weight;
    if (total > kMaxFractionalTotal) return true;
  }
  if (total == 0) return true;
  if (!charge_bytes(std::uint64_t{key_a.size()} + key_b.size())) return false;  // hashed
  const std::uint64_t hash = murmur3_x86_32(key_a, key_b);
  const std::uint64_t point = (hash * total) >> 32;
  std::uint64_t running = 0;
  for (std::uint32_t i = buckets_from; i < args.count; ++i) {
    const RuleValue& bucket = at(args, i);
    std::uint64_t weight;
    weight_of(bucket, weight);
    running += weight;
    if (running > point) {
      out = element(bucket, 0);
      return true;
    }
  }
  return true;
}

// --- failures and the budget ---------------------------------------------------------------------

bool RuleEvaluator::charge(std::uint64_t elements) noexcept {
  if (elements > kRuleStepBudget - std::min<std::uint64_t>(steps_, kRuleStepBudget)) return limit_reached();
  steps_ += static_cast<std::uint32_t>(elements);
  return true;
}

bool RuleEvaluator::charge_bytes(std::uint64_t bytes) noexcept { return charge(bytes / kRuleBytesPerStep); }

bool RuleEvaluator::charge_text(const RuleValue& v) noexcept {
  return (v.kind != Kind::String && v.kind != Kind::Object) || charge_bytes(v.length);
}

bool RuleEvaluator::limit_reached() noexcept {
  failure_ = RuleOutcome::General;
  return false;
}

bool RuleEvaluator::engine_error() noexcept {
  failure_ = RuleOutcome::ParseError;
  return false;
}

bool RuleEvaluator::malformed() noexcept {
  failure_ = RuleOutcome::Malformed;
  return false;
}

// --- the dispatcher --------------------------------------------------------------------------

// Scratch that a subexpression used is given back when its result cannot refer to it (null,
// booleans, numbers), so long rules (a chain of 300 comparisons) do not run out of it.
bool RuleEvaluator::eval(std::uint32_t index, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  const std::size_t text_mark = text_used_;
  const std::uint32_t value_mark = values_used_;
  if (!dispatch(index, scope, depth, out)) return false;
  if (out.kind == Kind::Null || out.kind == Kind::Bool || out.kind == Kind::Number) {
    text_used_ = text_mark;
    values_used_ = value_mark;
  }
  return true;
}

bool RuleEvaluator::dispatch(std::uint32_t index, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  RuleNode n;
  if (++steps_ > kRuleStepBudget || depth > kRuleEvalDepth) return limit_reached();
  if (!node(index, n)) return false;
  switch (n.op) {
    case RuleOp::Null:
    case RuleOp::Bool:
    case RuleOp::Number:
    case RuleOp::String: return constant(n, index == tail_, out);
    case RuleOp::Object: {
      // A literal object; inside rewritten bodies, what the rewrites make of the vars in it,
      // evaluated again if that changed it.
      if (!constant(n, false, out)) return false;
      if (!rewritten(scope)) return true;
      const RuleValue written = out;
      if (!rewritten_value(written, scope, depth, out)) return false;
      return out.kind == Kind::Object && out.view() == written.view() ? true : reparse(out, scope.detached(), depth, out);
    }
    case RuleOp::Array: {
      std::uint32_t first;
      if (!operands(n, scope, depth, first)) return false;
      out = array_value(first, n.argc);
      return true;
    }
    case RuleOp::Var: return variable(n, scope, depth, out);
    case RuleOp::VarOf: return var_of(n, scope, depth, out);
    case RuleOp::FlagKey: return flag_key(out);
    case RuleOp::Timestamp:
      if (timestamp_ < 0) timestamp_ = unix_seconds();
      out = number_value(timestamp_);
      return true;
    case RuleOp::FlagdObject: return flagd_object(out);
    case RuleOp::Missing:
    case RuleOp::MissingSome: return op_missing(n, scope, depth, out);
    case RuleOp::If: return op_if(n, index, scope, depth, out);
    case RuleOp::Equal:
    case RuleOp::StrictEqual:
    case RuleOp::NotEqual:
    case RuleOp::StrictNotEqual:
    case RuleOp::Less:
    case RuleOp::LessEqual:
    case RuleOp::Greater:
    case RuleOp::GreaterEqual: return op_compare(n, scope, depth, out);
    case RuleOp::Not:
    case RuleOp::NotNot: return op_not(n, scope, depth, out);
    case RuleOp::Or: return op_and_or(n, false, scope, depth, out);
    case RuleOp::And: return op_and_or(n, true, scope, depth, out);
    case RuleOp::Max:
    case RuleOp::Min:
    case RuleOp::Add:
    case RuleOp::Subtract:
    case RuleOp::Multiply:
    case RuleOp::Divide:
    case RuleOp::Modulo:
    case RuleOp::Abs: return op_arithmetic(n, scope, depth, out);
    case RuleOp::In: return op_in(n, scope, depth, out);
    case RuleOp::Cat: return op_cat(n, scope, depth, out);
    case RuleOp::Substr: return op_substr(n, scope, depth, out);
    case RuleOp::Merge: return op_merge(n, scope, depth, out);
    case RuleOp::Set: return op_set(n, scope, depth, out);
    case RuleOp::ContainsAll:
    case RuleOp::ContainsAny:
    case RuleOp::ContainsNone: return op_contains(n, scope, depth, out);
    case RuleOp::Map:
    case RuleOp::Filter:
    case RuleOp::All:
    case RuleOp::None:
    case RuleOp::Some: return op_iterate(n, scope, depth, out);
    case RuleOp::Reduce: return op_reduce(n, scope, depth, out);
    case RuleOp::Fractional: return op_fractional(n, index, scope, depth, out);
    case RuleOp::SemVer: return op_sem_ver(n, scope, depth, out);
    case RuleOp::StartsWith: return op_affix(n, true, scope, depth, out);
    case RuleOp::EndsWith: return op_affix(n, false, scope, depth, out);
    case RuleOp::Invalid: return engine_error();
    case RuleOp::AttrTest: return op_attr_test(n, scope, depth, out);
    case RuleOp::Spread:  // only ever an operand that values() reads
    case RuleOp::Count_: break;
  }
  return malformed();
}

RuleOutcome RuleEvaluator::run() noexcept {
  if (!nodes_.open(slot_, rule_)) return RuleOutcome::Malformed;
  RuleValue result;
  const Scope scope;
  if (!eval(0, scope, 0, result)) return failure_;
  if (result.kind == Kind::Null) return RuleOutcome::Null;
  // A constant named at load (its name has nothing JSON escapes): only its index is needed, and
  // in tail position its text was never copied.
  variant_index_ = result.kind == Kind::String ? result.variant : 0;
  if (variant_index_ != 0) return RuleOutcome::Variant;
  if (!charge_text(result)) return failure_;
  RuleValue name;
  if (!variant_name(result, name)) return failure_;
  variant_ = name.view();
  return RuleOutcome::Variant;
}

}  // namespace flagd::detail
