#include "rule_eval.hpp"

#include <time.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "flagd/key_hash.hpp"
#include "flagd/murmur3.hpp"
#include "flagd/semver.hpp"

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
  // The scope the iterating operator runs in. `substitutes`: the operator is filter, none or some,
  // whose body flagd's engine rewrites before it iterates: each `var` that the parent's data
  // resolves (any path but "" and ".x") becomes that value, so the element is read only for paths
  // the parent lacks.
  const Scope* parent = nullptr;
  bool substitutes = false;
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

// $flagd.timestamp: whole seconds. clock_gettime goes through the vDSO: no system call.
double unix_seconds() noexcept {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec);
}

bool blank(std::string_view s) noexcept {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') return false;
  return true;
}

// For a decimal literal from_chars found out of range: whether it overflows (rather than
// underflows), from the position of its first significant digit and its exponent.
bool overflows(std::string_view s) noexcept {
  std::int64_t magnitude = 0;  // decimal exponent of the first significant digit
  bool seen_digit = false, after_point = false;
  std::size_t i = 0;
  for (; i < s.size() && s[i] != 'e' && s[i] != 'E'; ++i) {
    if (s[i] == '.') {
      after_point = true;
    } else if (!seen_digit && s[i] == '0') {
      if (after_point) --magnitude;
    } else if (!seen_digit) {
      seen_digit = true;
      if (after_point) --magnitude;
    } else if (!after_point) {
      ++magnitude;
    }
  }
  std::int64_t exponent = 0;
  if (i < s.size()) {
    ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    for (; i < s.size() && exponent < 1'000'000; ++i) exponent = exponent * 10 + (s[i] - '0');
    if (negative) exponent = -exponent;
  }
  return magnitude + exponent > 0;
}

// A string as Go's strconv.ParseFloat reads it (no surrounding space; one optional sign; "Inf",
// "Infinity" and "NaN" in any case); false if it is not a number. Out-of-range values saturate
// to infinity or zero as ParseFloat's do.
bool parse_float(std::string_view s, double& out) noexcept {
  bool negative = false;
  std::string_view body = s;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (body.empty() || body.front() == '+' || body.front() == '-' || body.find('(') != std::string_view::npos)
    return false;
  const auto r = std::from_chars(body.data(), body.data() + body.size(), out);
  if (r.ptr != body.data() + body.size()) return false;
  if (r.ec == std::errc::result_out_of_range) {
    out = overflows(body) ? HUGE_VAL : 0.0;
  } else if (r.ec != std::errc()) {
    return false;
  }
  if (negative) out = -out;
  return true;
}

// flagd's comparisons coerce like JavaScript's Number() as its engine implements it: null 0,
// booleans 0/1, a blank string 0, another string parsed as it is (" 1" is not a number), arrays
// and objects NaN.
double to_number(const RuleValue& v) noexcept {
  switch (v.kind) {
    case Kind::Null: return 0;
    case Kind::Bool: return v.boolean ? 1 : 0;
    case Kind::Number: return v.number;
    case Kind::String: {
      if (blank(v.view())) return 0;
      double d = 0;
      return parse_float(v.view(), d) ? d : std::nan("");
    }
    default: return std::nan("");
  }
}

// The length of the valid UTF-8 sequence `s` starts with, 0 if it starts with none (Go's
// utf8.DecodeRuneInString rules: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s) noexcept {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto tail = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return tail(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!tail(1) || !tail(2)) return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F)) return 0;  // overlong, surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!tail(1) || !tail(2) || !tail(3)) return 0;
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F)) return 0;  // overlong, > U+10FFFF
    return 4;
  }
  return 0;
}

// The text flagd names a variant after when a rule gives a number: Go's JSON encoding of a float,
// which is ES's Number#toString: the shortest round-trip digits, in fixed notation from 1e-6 to
// 1e21 and scientific outside it, with no leading zero in the exponent (1e-7, 1e+21).
std::size_t number_text(double d, char* buf, std::size_t size) noexcept {
  if (std::isnan(d) || std::isinf(d)) {  // no JSON text; the result is rejected before naming
    std::memcpy(buf, "NaN", 3);
    return 3;
  }
  const double a = std::fabs(d);
  if (a == 0 || (a >= 1e-6 && a < 1e21)) {
    const auto r = std::to_chars(buf, buf + size, d, std::chars_format::fixed);
    return static_cast<std::size_t>(r.ptr - buf);
  }
  const auto r = std::to_chars(buf, buf + size, d, std::chars_format::scientific);
  std::size_t n = static_cast<std::size_t>(r.ptr - buf);
  // "1e-07" -> "1e-7", "1e+021" cannot happen but "1e+21" stays.
  const char* e = static_cast<const char*>(std::memchr(buf, 'e', n));
  if (e != nullptr) {
    std::size_t digits = static_cast<std::size_t>(e - buf) + 2;  // after 'e' and the sign
    while (digits + 1 < n && buf[digits] == '0') {
      std::memmove(buf + digits, buf + digits + 1, n - digits - 1);
      --n;
    }
  }
  return n;
}

bool loose_equal(const RuleValue& a, const RuleValue& b) noexcept {
  if (a.kind == Kind::Null || b.kind == Kind::Null) return a.kind == b.kind;
  if (a.kind == Kind::String && b.kind == Kind::String) return a.view() == b.view();
  return to_number(a) == to_number(b);
}

bool strict_equal(const RuleValue& a, const RuleValue& b) noexcept {
  return a.kind == b.kind && loose_equal(a, b);
}

// a < b as flagd's engine decides it: two strings byte-wise, anything else as numbers (NaN: false).
// <=, > and >= are built from it and loose equality, so null <= 0 is false.
bool less(const RuleValue& a, const RuleValue& b) noexcept {
  if (a.kind == Kind::String && b.kind == Kind::String) return a.view() < b.view();
  return to_number(a) < to_number(b);
}
bool less_or_equal(const RuleValue& a, const RuleValue& b) noexcept { return less(a, b) || loose_equal(a, b); }

}  // namespace

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

bool RuleEvaluator::node(std::uint32_t index, RuleNode& out) noexcept {
  if (nodes_.read(index, out)) return true;
  failure_ = RuleOutcome::Malformed;  // torn or broken: the caller's read section decides which
  return false;
}

// Evaluates every operand of `n` into consecutive value slots reserved first (operands may push
// values of their own, after the reserved ones). `first` receives the first slot's index.
bool RuleEvaluator::operands(const RuleNode& n, const Scope& scope, std::uint32_t depth, std::uint32_t& first) noexcept {
  if (n.argc > kRuleValueScratch - values_used_) {
    failure_ = RuleOutcome::General;
    return false;
  }
  first = values_used_;
  values_used_ += n.argc;
  for (std::uint32_t i = 0; i < n.argc; ++i)
    if (!arg(n, i, scope, depth, values_[first + i])) return false;
  return true;
}

bool RuleEvaluator::push(const RuleValue& v) noexcept {
  if (values_used_ >= kRuleValueScratch) {
    failure_ = RuleOutcome::General;
    return false;
  }
  values_[values_used_++] = v;
  return true;
}

// Copies an image string into the scratch area: everything the rule compares is private memory.
bool RuleEvaluator::image_text(std::uint64_t packed, RuleValue& out) noexcept {
  const layout::StringRef ref = layout::unpack_string_ref(packed);
  if (!slot_.holds_words(ref.offset, layout::round_up8(ref.length))) {
    failure_ = RuleOutcome::Malformed;
    return false;
  }
  if (ref.length > kRuleTextScratch - text_used_) {
    failure_ = RuleOutcome::General;
    return false;
  }
  if (!charge_bytes(ref.length)) return false;
  char* at = text_ + text_used_;
  shared::copy_out_bytes(at, slot_.image + ref.offset, ref.length);
  text_used_ += ref.length;
  out = string_value({at, ref.length});
  return true;
}

bool RuleEvaluator::append(RuleValue& into, std::string_view more) noexcept {
  // `into` must be the last string built in the scratch area (or empty and new).
  if (more.size() > kRuleTextScratch - text_used_) {
    failure_ = RuleOutcome::General;
    return false;
  }
  if (!charge_bytes(more.size())) return false;
  if (into.length == 0) into = string_value({text_ + text_used_, 0});
  if (!more.empty()) std::memcpy(text_ + text_used_, more.data(), more.size());
  text_used_ += more.size();
  into.length += static_cast<std::uint32_t>(more.size());
  return true;
}

// The text a value has in `cat` and as a variant name.
bool RuleEvaluator::text_of(const RuleValue& v, RuleValue& out) noexcept {
  switch (v.kind) {
    case Kind::String: out = v; return true;
    case Kind::Null: out = string_value({}); return true;
    case Kind::Bool: out = string_value(v.boolean ? "true" : "false"); return true;
    case Kind::Number: {
      char buf[32];
      const std::size_t n = number_text(v.number, buf, sizeof buf);
      out = RuleValue{};
      out.kind = Kind::String;
      return append(out, {buf, n});
    }
    default: out = string_value({}); return true;
  }
}

// The variant name flagd derives from an array result: its JSON encoding (Go's encoding/json:
// HTML characters, U+2028/2029 and invalid UTF-8 escaped) with every double quote removed, so
// [1,"a",[true,null]] names the variant "[1,a,[true,null]]". An object inside, which flagd would
// encode with sorted keys, gives GENERAL here (its text is not kept), and so does a non-finite
// number with PARSE_ERROR, as encoding/json rejects it.
bool RuleEvaluator::array_name(const RuleValue& array, RuleValue& into, std::uint32_t depth) noexcept {
  if (depth > limits::kRuleEvalDepth) return limit_reached();
  if (!append(into, "[")) return false;
  for (std::uint32_t i = 0; i < array.length; ++i) {
    if (i != 0 && !append(into, ",")) return false;
    const RuleValue& v = element(array, i);
    switch (v.kind) {
      case Kind::Null:
        if (!append(into, "null")) return false;
        break;
      case Kind::Bool:
      case Kind::Number: {
        if (v.kind == Kind::Number && !std::isfinite(v.number)) {
          failure_ = RuleOutcome::ParseError;
          return false;
        }
        char buf[32];
        const std::string_view text =
            v.kind == Kind::Bool ? std::string_view(v.boolean ? "true" : "false") : std::string_view(buf, number_text(v.number, buf, sizeof buf));
        if (!append(into, text)) return false;
        break;
      }
      case Kind::String: {
        static constexpr char kHex[] = "0123456789abcdef";
        const std::string_view s = v.view();
        for (std::size_t k = 0; k < s.size();) {
          const auto c = static_cast<unsigned char>(s[k]);
          char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          std::string_view piece(s.data() + k, 1);
          std::size_t advance = 1;
          if (c == '"') piece = "\\";  // \" with its quote removed
          else if (c == '\\') piece = "\\\\";
          else if (c == '\n') piece = "\\n";
          else if (c == '\r') piece = "\\r";
          else if (c == '\t') piece = "\\t";
          else if (c < 0x20 || c == '<' || c == '>' || c == '&') piece = {escape, 6};
          else if (c >= 0x80) {
            const std::size_t n = utf8_sequence(s.substr(k));
            if (n == 0) {
              piece = "\\ufffd";
            } else {
              piece = s.substr(k, n);
              advance = n;
              if (piece == "\xe2\x80\xa8") piece = "\\u2028";
              if (piece == "\xe2\x80\xa9") piece = "\\u2029";
            }
          }
          if (!append(into, piece)) return false;
          k += advance;
        }
        break;
      }
      case Kind::Array:
        if (!array_name(v, into, depth + 1)) return false;
        break;
      case Kind::Object:
        failure_ = RuleOutcome::General;
        return false;
    }
  }
  return append(into, "]");
}

std::string_view RuleEvaluator::targeting_key() const noexcept { return detail::targeting_key(context_); }

bool RuleEvaluator::flag_key(RuleValue& out) noexcept {
  if (!flag_key_loaded_) {
    const layout::StringRef ref = flag_key_ref_;
    if (ref.length > sizeof flag_key_text_ || !slot_.holds_words(ref.offset, layout::round_up8(ref.length))) {
      failure_ = RuleOutcome::Malformed;  // no loaded key is longer; only torn bytes say so
      return false;
    }
    shared::copy_out_bytes(flag_key_text_, slot_.image + ref.offset, ref.length);
    flag_key_ = string_value({flag_key_text_, ref.length});
    flag_key_loaded_ = true;
  }
  out = flag_key_;
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

// --- variables ---------------------------------------------------------------------------------

namespace {
bool substitutable(std::string_view path) noexcept { return !path.empty() && path[0] != '.'; }
}  // namespace

bool RuleEvaluator::lookup(std::string_view path, std::uint32_t hash, const Scope& scope, RuleValue& out) noexcept {
  if (substitutable(path)) {
    if (!substitution(path, hash, scope, out)) return false;
    if (out.kind != Kind::Null) return true;
  }
  return data_lookup(path, hash, scope, out);
}

// What the enclosing filter/none/some bodies' rewriting makes of `var path`: the outermost
// rewrite that resolves it wins, as it runs first. Null if none does.
bool RuleEvaluator::substitution(std::string_view path, std::uint32_t hash, const Scope& scope,
                                 RuleValue& out) noexcept {
  out = null_value();
  if (scope.parent == nullptr) return true;
  if (!substitution(path, hash, *scope.parent, out)) return false;
  if (out.kind != Kind::Null || !scope.substitutes) return true;
  return data_lookup(path, hash, *scope.parent, out);
}

bool RuleEvaluator::rewritten(const Scope& scope) noexcept {
  for (const Scope* s = &scope; s != nullptr; s = s->parent)
    if (s->substitutes) return true;
  return false;
}

// `var path` against the scope's own data.
bool RuleEvaluator::data_lookup(std::string_view path, std::uint32_t hash, const Scope& scope, RuleValue& out) noexcept {
  out = null_value();
  if (scope.type == Scope::Type::Reduce) {
    if (path == "current" && scope.current) out = *scope.current;
    if (path == "accumulator" && scope.accumulator) out = *scope.accumulator;
    if (path == "valueType") out = string_value(scope.value_type);
    return true;
  }
  if (scope.type == Scope::Type::Element) {
    if (path.empty() && scope.current) out = *scope.current;
    return true;
  }
  if (path.empty()) {
    out.kind = Kind::Object;  // the whole context
    out.boolean = context_ != nullptr && context_->size() != 0;
    return true;
  }
  // flagd's own properties: outside iteration bodies the loader resolves these to their own nodes,
  // so only a rewritten body's `var` asks for them here.
  if (path == "$flagd.flagKey") return flag_key(out);
  if (path == "$flagd.timestamp") {
    out = number_value(unix_seconds());
    return true;
  }
  if (context_ == nullptr) return true;
  const Context::Attribute* a = context_->find(path, hash);
  std::size_t element = static_cast<std::size_t>(-1);
  if (a == nullptr) {
    // "list.2": an element of a list attribute.
    const std::size_t dot = path.rfind('.');
    if (dot == std::string_view::npos) return true;
    const std::string_view tail = path.substr(dot + 1);
    std::size_t i = 0;
    const auto r = std::from_chars(tail.data(), tail.data() + tail.size(), i);
    if (tail.empty() || r.ec != std::errc() || r.ptr != tail.data() + tail.size()) return true;
    a = context_->find(path.substr(0, dot));
    if (a == nullptr || a->type != Context::Type::List) return true;
    element = i;
  }
  if (element != static_cast<std::size_t>(-1)) {
    const auto items = context_->list(*a);
    if (element < items.size()) out = item_value(items[element]);
    return true;
  }
  return attribute_value(*a, out);
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
    case Context::Type::Object:
      out.kind = Kind::Object;
      out.boolean = true;
      return true;
    case Context::Type::List: {
      const auto items = context_->list(a);
      RuleValue array;
      array.kind = Kind::Array;
      array.begin = values_used_;
      for (const auto& item : items)
        if (!push(item_value(item))) return false;
      array.length = static_cast<std::uint32_t>(items.size());
      out = array;
      return true;
    }
  }
  return true;
}

bool RuleEvaluator::variable(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  // The common case: an attribute of the context, found by the path's hash and compared with the
  // path where it lies in the image, without copying it.
  if (scope.type == Scope::Type::Context) {
    if (const Context::Attribute* a = find_attribute(slot_, context_, n.a, static_cast<std::uint32_t>(n.b))) {
      if (!attribute_value(*a, out)) return false;
      if (out.kind == Kind::Null && n.argc > 0) return arg(n, 0, scope, depth, out);
      return true;
    }
  }
  RuleValue path;
  const std::size_t mark = text_used_;
  // The path's copy is released after the lookup: nothing found points into it.
  const auto release = [&] { text_used_ = mark; };
  if (!image_text(n.a, path)) return false;
  const std::string_view p = path.view();
  if (n.argc > 0 && substitutable(p) && rewritten(scope)) {
    // A rewriting body's `var` with a default always resolves where the rewrite looks (to the
    // default if nothing else), so it never reads the element.
    if (!substitution(p, static_cast<std::uint32_t>(n.b), scope, out)) return false;
    release();
    if (out.kind != Kind::Null) return true;
    if (!arg(n, 0, scope, depth, out)) return false;
    if (out.kind != Kind::Null) return true;
    path = RuleValue{};
    if (!image_text(n.a, path)) return false;
  }
  if (!lookup(path.view(), static_cast<std::uint32_t>(n.b), scope, out)) return false;
  release();
  if (out.kind == Kind::Null && n.argc > 0) return arg(n, 0, scope, depth, out);
  return true;
}

// --- operators -----------------------------------------------------------------------------------

bool RuleEvaluator::op_if(const RuleNode& n, std::uint32_t index, const Scope& scope, std::uint32_t depth,
                          RuleValue& out) noexcept {
  // The branch an `if` in tail position returns is in tail position too.
  const auto branch = [&](std::uint32_t i) {
    if (index == tail_ && i < n.argc) tail_ = n.first + i;
    return arg(n, i, scope, depth, out);
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
  out = null_value();
  for (std::uint32_t i = 0; i < n.argc; ++i) {
    if (!arg(n, i, scope, depth, out)) return false;
    if (truthy(out) != is_and) return true;
  }
  return true;
}

bool RuleEvaluator::op_compare(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  std::uint32_t first;
  if (!operands(n, scope, depth, first)) return false;
  if (n.argc < 2) {
    // jsonlogic v3.9.1, which flagd runs: a comparison short of an operand is false, and its
    // negations (!=, !==) are true.
    out = bool_value(n.op == RuleOp::NotEqual || n.op == RuleOp::StrictNotEqual);
    return true;
  }
  const RuleValue& a = values_[first];
  const RuleValue& b = values_[first + 1];
  const RuleValue* c = n.argc >= 3 ? &values_[first + 2] : nullptr;
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

// Arithmetic operands as flagd's engine coerces them: a number, or a string parsed as a number (0
// if it is not one); null, booleans, arrays and objects make the evaluation fail.
bool RuleEvaluator::arithmetic_operand(const RuleValue& v, double& out) noexcept {
  if (v.kind == Kind::Number) {
    out = v.number;
    return true;
  }
  if (v.kind == Kind::String) {
    if (!charge_text(v)) return false;
    if (!parse_float(v.view(), out)) out = 0;
    return true;
  }
  return engine_error();
}

bool RuleEvaluator::op_arithmetic(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  if ((n.op == RuleOp::Max || n.op == RuleOp::Min) && n.argc == 0) {
    out = null_value();
    return true;
  }
  if (n.op == RuleOp::Modulo && n.argc < 2) return engine_error();
  double acc = n.op == RuleOp::Multiply ? 1 : 0;
  for (std::uint32_t i = 0; i < n.argc; ++i) {
    RuleValue v;
    double x = 0;
    if (!arg(n, i, scope, depth, v) || !arithmetic_operand(v, x)) return false;
    if (i == 0) {
      acc = x;
      continue;
    }
    switch (n.op) {  // -, / and % chain over every operand
      case RuleOp::Add: acc += x; break;
      case RuleOp::Multiply: acc *= x; break;
      case RuleOp::Subtract: acc -= x; break;
      case RuleOp::Divide: acc /= x; break;
      case RuleOp::Modulo: acc = i == 1 ? std::fmod(acc, x) : acc; break;
      case RuleOp::Max: acc = std::max(acc, x); break;
      case RuleOp::Min: acc = std::min(acc, x); break;
      default: break;
    }
  }
  if (n.op == RuleOp::Subtract && n.argc == 1) acc = -acc;
  out = number_value(acc);
  return true;
}

bool RuleEvaluator::op_in(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  RuleValue needle, haystack;
  if (n.argc == 0) return engine_error();  // flagd's engine fails with no operand at all
  if (!arg(n, 0, scope, depth, needle) || !arg(n, 1, scope, depth, haystack)) return false;
  if (n.argc < 2) {
    out = bool_value(false);  // and finds nothing in a missing haystack (jsonlogic v3.9.1)
    return true;
  }
  return in_values(needle, haystack, out);
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
    bool have_number = false;  // the needle as a number, parsed once for every range
    double x = 0;
    for (std::uint32_t i = 0; i < haystack.length && !found; ++i) {
      const RuleValue& e = element(haystack, i);
      if (e.kind == Kind::Array) {  // [low, high]: a range, both ends included
        if (e.length < 2) return engine_error();
        if (!have_number) {
          if (!charge_text(needle)) return false;
          x = to_number(needle);
          have_number = true;
        }
        if (!charge_text(element(e, 0)) || !charge_text(element(e, 1))) return false;
        found = to_number(element(e, 0)) <= x && x <= to_number(element(e, 1));
      } else if (needle.kind == Kind::Number) {
        if (e.kind == Kind::Null || e.kind == Kind::Bool) return engine_error();
        if (!charge_text(e)) return false;
        found = to_number(e) == needle.number;
      } else {
        // Two strings compare bytes only when their lengths are equal.
        if (e.kind == Kind::String && e.length == needle.length && !charge_text(e)) return false;
        found = strict_equal(e, needle);
      }
    }
  }
  out = bool_value(found);
  return true;
}

bool RuleEvaluator::op_cat(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  // Evaluate every operand first, then build the result in one piece of the scratch area.
  std::uint32_t first;
  if (!operands(n, scope, depth, first)) return false;
  for (std::uint32_t i = 0; i < n.argc; ++i) {
    RuleValue& v = values_[first + i];
    if (v.kind == Kind::Number) {
      char buf[400];  // fixed notation of any double
      const auto r = std::to_chars(buf, buf + sizeof buf, v.number, std::chars_format::fixed);
      v = RuleValue{};
      v.kind = Kind::String;
      if (!append(v, {buf, static_cast<std::size_t>(r.ptr - buf)})) return false;
    } else if (v.kind == Kind::Null) {
      v = string_value({});
    } else if (v.kind != Kind::String) {
      return engine_error();  // booleans, arrays and objects: flagd's engine fails
    }
  }
  out = RuleValue{};
  out.kind = Kind::String;
  out.text = text_ + text_used_;
  for (std::uint32_t i = 0; i < n.argc; ++i)
    if (!append(out, values_[first + i].view())) return false;
  if (n.argc >= 2) {  // flagd's engine trims a concatenation of two or more (Go's TrimSpace)
    std::string_view t = out.view();
    const auto ascii_space = [](char c) {
      return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
    };
    const auto unicode_space = [](std::string_view two) {  // U+0085 and U+00A0 in UTF-8
      return two == "\xC2\x85" || two == "\xC2\xA0";
    };
    for (bool trimmed = true; trimmed && !t.empty();) {
      trimmed = false;
      if (ascii_space(t.front())) t.remove_prefix(1), trimmed = true;
      else if (t.size() >= 2 && unicode_space(t.substr(0, 2))) t.remove_prefix(2), trimmed = true;
    }
    for (bool trimmed = true; trimmed && !t.empty();) {
      trimmed = false;
      if (ascii_space(t.back())) t.remove_suffix(1), trimmed = true;
      else if (t.size() >= 2 && unicode_space(t.substr(t.size() - 2))) t.remove_suffix(2), trimmed = true;
    }
    out.text = t.data();
    out.length = static_cast<std::uint32_t>(t.size());
  }
  return true;
}

namespace {
// Byte offset of code point `index` in UTF-8 text (its size if past the end).
std::size_t rune_offset(std::string_view s, std::int64_t index) noexcept {
  std::size_t at = 0;
  for (std::int64_t i = 0; i < index && at < s.size(); ++i) {
    ++at;
    while (at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) ++at;
  }
  return at;
}
std::int64_t rune_count(std::string_view s) noexcept {
  std::int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}
std::int64_t clamp_index(double d) noexcept {
  if (std::isnan(d)) return 0;
  return static_cast<std::int64_t>(std::clamp(d, -4.0e18, 4.0e18));
}
}  // namespace

// substr as flagd's engine runs it: code points; a start past either end gives the whole
// string; a negative length that crosses the start fails.
bool RuleEvaluator::op_substr(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  RuleValue source, start_v, length_v, text;
  if (!arg(n, 0, scope, depth, source) || !arg(n, 1, scope, depth, start_v)) return false;
  if (n.argc < 2) return engine_error();  // flagd's engine fails without a start
  if (source.kind == Kind::Bool || source.kind == Kind::Array || source.kind == Kind::Object) return engine_error();
  if (!text_of(source, text)) return false;
  const std::string_view s = text.view();
  if (!charge_bytes(s.size())) return false;
  const std::int64_t runes = rune_count(s);
  std::int64_t from = clamp_index(to_number(start_v));
  if (from < 0) from += runes;
  if (from < 0 || from > runes) {
    out = text;
    return true;
  }
  std::int64_t to = runes;
  if (n.argc >= 3) {
    if (!arg(n, 2, scope, depth, length_v)) return false;
    const std::int64_t length = clamp_index(to_number(length_v));
    if (length >= 0) {
      to = std::min(runes, from + length);
    } else {
      to = runes + length;
      if (to < from) return engine_error();
    }
  }
  const std::size_t begin = rune_offset(s, from);
  const std::size_t end = rune_offset(s, to);
  out = string_value(s.substr(begin, end - begin));
  return true;
}

bool RuleEvaluator::op_merge(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  std::uint32_t first;
  if (!operands(n, scope, depth, first)) return false;
  RuleValue array;
  array.kind = Kind::Array;
  array.begin = values_used_;
  for (std::uint32_t i = 0; i < n.argc; ++i) {
    // Arrays are flattened one level; anything else, null and objects included, is an element.
    const RuleValue operand = values_[first + i];
    if (operand.kind == Kind::Array && !charge(operand.length)) return false;
    if (operand.kind == Kind::Array) {
      for (std::uint32_t j = 0; j < operand.length; ++j)
        if (!push(element(operand, j))) return false;
    } else if (!push(operand)) {
      return false;
    }
  }
  array.length = values_used_ - array.begin;
  out = array;
  return true;
}

bool RuleEvaluator::op_missing(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  std::uint32_t need = 0;
  RuleValue keys;
  if (n.op == RuleOp::MissingSome) {
    RuleValue minimum;
    if (!arg(n, 0, scope, depth, minimum) || !arg(n, 1, scope, depth, keys)) return false;
    const double m = to_number(minimum);
    need = std::isnan(m) || m < 0 ? 0 : static_cast<std::uint32_t>(std::min(m, 1e9));
  } else if (n.argc == 1) {
    if (!arg(n, 0, scope, depth, keys)) return false;
  } else {
    std::uint32_t first;
    if (!operands(n, scope, depth, first)) return false;
    keys.kind = Kind::Array;
    keys.begin = first;
    keys.length = n.argc;
  }
  if (keys.kind != Kind::Array) {
    RuleValue single = keys;
    keys = RuleValue{};
    keys.kind = Kind::Array;
    keys.begin = values_used_;
    if (!push(single)) return false;
    keys.length = 1;
  }
  // The result's slots are reserved first: lookups may push values of their own.
  if (keys.length > kRuleValueScratch - values_used_) return limit_reached();
  if (!charge(keys.length)) return false;
  RuleValue missing;
  missing.kind = Kind::Array;
  missing.begin = values_used_;
  values_used_ += keys.length;
  std::uint32_t present = 0;
  for (std::uint32_t i = 0; i < keys.length; ++i) {
    RuleValue key_text, value;
    if (!text_of(element(keys, i), key_text)) return false;
    if (!charge_text(key_text)) return false;  // hashed, then compared with the context's keys
    if (!lookup(key_text.view(), key_hash(key_text.view()), scope, value)) return false;
    if (value.kind == Kind::Null) {  // flagd's engine: null is missing, "" is not
      values_[missing.begin + missing.length++] = key_text;
    } else {
      ++present;
    }
  }
  if (n.op == RuleOp::MissingSome && present >= need) missing.length = 0;
  out = missing;
  return true;
}

// A literal array as flagd's engine iterates it: its elements as written, not evaluated (an
// operation among them is, to the body, an object).
bool RuleEvaluator::raw_value(std::uint32_t index, std::uint32_t depth, RuleValue& out) noexcept {
  if (depth > limits::kRuleEvalDepth) return limit_reached();
  RuleNode n;
  if (!node(index, n)) return false;
  switch (n.op) {
    case RuleOp::Null:
    case RuleOp::Bool:
    case RuleOp::Number:
    case RuleOp::String: return eval(index, Scope{}, depth, out);
    case RuleOp::Array: {
      if (n.argc > kRuleValueScratch - values_used_) return limit_reached();
      if (!charge(n.argc)) return false;
      RuleValue array;
      array.kind = Kind::Array;
      array.begin = values_used_;
      values_used_ += n.argc;
      for (std::uint32_t i = 0; i < n.argc; ++i) {
        RuleValue v;
        if (!raw_value(n.first + i, depth + 1, v)) return false;
        values_[array.begin + array.length++] = v;
      }
      out = array;
      return true;
    }
    default:  // an operation is a one-key object; a literal object has its own emptiness
      out = RuleValue{};
      out.kind = Kind::Object;
      out.boolean = n.op != RuleOp::Object || n.b != 0;
      return true;
  }
}

// What map/filter/reduce/all/none/some iterate over, as flagd's engine takes it: a literal array
// as written, an operation's value, and nothing (null) for any other literal.
bool RuleEvaluator::subject(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  RuleNode s;
  if (n.argc == 0 || !node(n.first, s)) {
    failure_ = RuleOutcome::Malformed;
    return false;
  }
  switch (s.op) {
    case RuleOp::Null:
    case RuleOp::Bool:
    case RuleOp::Number:
    case RuleOp::String: out = null_value(); return true;
    case RuleOp::Array: return raw_value(n.first, depth + 1, out);
    default: return eval(n.first, scope, depth + 1, out);
  }
}

// True in `substituted` if flagd's engine would replace a body that is a lone `var` with a value
// before applying it (which then fails: only an operation can be applied). `body` is n's second
// operand, `inner` its scope for one element.
bool RuleEvaluator::body_substituted(const RuleNode& n, const RuleNode& body, const Scope& inner, std::uint32_t depth,
                                     bool& substituted) noexcept {
  substituted = false;
  if (body.op != RuleOp::Var) return true;
  RuleValue path, v;
  if (!image_text(body.a, path)) return false;
  if (!substitutable(path.view())) return true;
  const auto hash = static_cast<std::uint32_t>(body.b);
  // none and some rewrite against the data around them (and some, like all, against the element
  // too); reduce only suffers the rewrites of the bodies it sits in.
  if (n.op == RuleOp::All || n.op == RuleOp::Some) {
    if (!lookup(path.view(), hash, inner, v)) return false;
  } else if (!substitution(path.view(), hash, inner, v)) {
    return false;
  }
  if (v.kind == Kind::Null && body.argc > 0 && (n.op != RuleOp::Reduce || rewritten(inner))) {
    if (!arg(body, 0, inner, depth, v)) return false;  // a default always resolves the rewrite
  }
  substituted = v.kind != Kind::Null;
  return true;
}

namespace {
bool operation(RuleOp op) noexcept { return op > RuleOp::Array; }

// Go's strconv.FormatFloat(d, 'f', -1, 64): the shortest round-trip digits, never an exponent.
std::size_t fixed_number_text(double d, char* buf, std::size_t size) noexcept {
  if (std::isnan(d)) return static_cast<std::size_t>(std::snprintf(buf, size, "NaN"));
  if (std::isinf(d)) return static_cast<std::size_t>(std::snprintf(buf, size, d > 0 ? "+Inf" : "-Inf"));
  const auto r = std::to_chars(buf, buf + size, d, std::chars_format::fixed);
  return r.ec == std::errc() ? static_cast<std::size_t>(r.ptr - buf) : 0;
}
}  // namespace

bool RuleEvaluator::op_iterate(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  RuleNode body;
  if (!node(n.first + 1, body)) return false;
  if (n.op == RuleOp::Reduce) {
    // flagd's engine: fewer than three operands give 0; the initial value must be a boolean, a
    // number or a string, and fixes the accumulator's type; a null subject gives 0.
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
    for (std::uint32_t i = 0; i < input.length; ++i) {
      const RuleValue current = element(input, i);
      if (current.kind == Kind::Null) continue;  // skipped
      Scope inner{Scope::Type::Reduce, &current, &accumulator, type, &scope, false};
      if (!operation(body.op)) return engine_error();  // only an operation can be applied
      bool substituted;
      if (!body_substituted(n, body, inner, depth, substituted)) return false;
      if (substituted) return engine_error();
      RuleValue next;
      if (!arg(n, 1, inner, depth, next)) return false;
      // The accumulator keeps the initial value's type, coerced as the engine does.
      switch (accumulator.kind) {
        case Kind::Bool: accumulator = bool_value(truthy(next)); break;
        case Kind::Number: {
          double d;
          if (!arithmetic_operand(next, d)) return false;
          accumulator = number_value(d);
          break;
        }
        default:
          if (next.kind == Kind::Null) {
            accumulator = string_value({});
          } else if (next.kind == Kind::Number) {
            char buf[400];
            accumulator = RuleValue{};
            accumulator.kind = Kind::String;
            if (!append(accumulator, {buf, fixed_number_text(next.number, buf, sizeof buf)})) return false;
          } else if (next.kind == Kind::String) {
            accumulator = next;
          } else {
            return engine_error();
          }
          break;
      }
    }
    out = accumulator;
    return true;
  }
  RuleValue input;
  if (!subject(n, scope, depth, input)) return false;
  const bool quantifier = n.op == RuleOp::All || n.op == RuleOp::None || n.op == RuleOp::Some;
  if (quantifier ? !truthy(input) : input.kind == Kind::Null) {
    // all: false, none: true, some: false; map and filter: [].
    if (quantifier) {
      out = bool_value(n.op == RuleOp::None);
    } else {
      out = RuleValue{};
      out.kind = Kind::Array;
    }
    return true;
  }
  if (input.kind != Kind::Array) return engine_error();  // the engine asserts an array
  // all, none and some apply their body to each element, and only an operation can be applied.
  if (quantifier && !operation(body.op)) return engine_error();
  const std::uint32_t count = input.length;
  // map and filter reserve their result's slots first: the body may push values of its own.
  RuleValue result;
  result.kind = Kind::Array;
  if (n.op == RuleOp::Map || n.op == RuleOp::Filter) {
    if (count > kRuleValueScratch - values_used_) return limit_reached();
    result.begin = values_used_;
    values_used_ += count;
  }
  const bool rewrites = n.op == RuleOp::Filter || n.op == RuleOp::None || n.op == RuleOp::Some;
  std::uint32_t matches = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const RuleValue current = element(input, i);
    Scope inner{Scope::Type::Element, &current, nullptr, {}, &scope, rewrites};
    if (quantifier) {
      bool substituted;
      if (!body_substituted(n, body, inner, depth, substituted)) return false;
      if (substituted) return engine_error();
    }
    RuleValue v;
    if (!arg(n, 1, inner, depth, v)) return false;
    const bool t = truthy(v);
    matches += t ? 1 : 0;
    if (n.op == RuleOp::Map) values_[result.begin + result.length++] = v;
    if (n.op == RuleOp::Filter && t) values_[result.begin + result.length++] = current;
    if (n.op == RuleOp::All && !t) break;
    if ((n.op == RuleOp::Some || n.op == RuleOp::None) && t) break;
  }
  switch (n.op) {
    case RuleOp::Map:
    case RuleOp::Filter:
      out = result;
      return true;
    case RuleOp::All: out = bool_value(matches == count); return true;
    case RuleOp::Some: out = bool_value(matches != 0); return true;
    default: out = bool_value(matches == 0); return true;  // None
  }
}

bool RuleEvaluator::op_affix(const RuleNode& n, bool prefix, const Scope& scope, std::uint32_t depth,
                             RuleValue& out) noexcept {
  RuleValue a, b;
  out = null_value();
  if (n.argc != 2) return true;
  if (!arg(n, 0, scope, depth, a) || !arg(n, 1, scope, depth, b)) return false;
  return affix_values(prefix, a, b, out);
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
  RuleNode constant;
  if (n.argc != 1 || !node(n.first, constant)) {
    failure_ = RuleOutcome::Malformed;
    return false;
  }
  const Context::Attribute* attribute = find_attribute(slot_, context_, n.a, hash);
  if (attribute != nullptr && attribute->type == Context::Type::String) {
    if (op == RuleOp::In && constant.op == RuleOp::Array && !charge(constant.argc)) return false;
    // Charged after the test: what it compares is bounded by the rule's own constants.
    std::uint64_t compared;
    const StringTest test = string_attribute_test(slot_, nodes_, op, constant, *attribute, compared);
    if (!charge_bytes(compared)) return false;
    switch (test) {
      case StringTest::False: out = bool_value(false); return true;
      case StringTest::True: out = bool_value(true); return true;
      case StringTest::Malformed: failure_ = RuleOutcome::Malformed; return false;
      case StringTest::Undecided: break;
    }
  }
  // The general path: the attribute as `var` reads it, the constant evaluated.
  RuleValue a, b;
  const std::size_t mark = text_used_;
  RuleValue path_text;
  if (!image_text(n.a, path_text) || !lookup(path_text.view(), hash, scope, a)) return false;
  if (a.kind != Kind::String) text_used_ = mark;
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
    default: failure_ = RuleOutcome::Malformed; return false;
  }
}

bool RuleEvaluator::op_sem_ver(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  out = null_value();
  if (n.argc != 3) return true;
  RuleValue value, op, version, value_text, version_text;
  if (!arg(n, 0, scope, depth, value) || !arg(n, 1, scope, depth, op) || !arg(n, 2, scope, depth, version))
    return false;
  if (op.kind != Kind::String || !text_of(value, value_text) || !text_of(version, version_text)) return true;
  if (value.kind != Kind::String && value.kind != Kind::Number) return true;
  if (version.kind != Kind::String && version.kind != Kind::Number) return true;
  // Parsing and comparing the versions reads each a bounded number of times.
  if (!charge_text(value_text) || !charge_text(version_text)) return false;
  SemVer left, right;
  if (!parse_semver(value_text.view(), left) || !parse_semver(version_text.view(), right)) return true;
  const int c = compare_semver(left, right);
  const std::string_view o = op.view();
  if (o == "=") out = bool_value(c == 0);
  else if (o == "!=") out = bool_value(c != 0);
  else if (o == "<") out = bool_value(c < 0);
  else if (o == "<=") out = bool_value(c <= 0);
  else if (o == ">") out = bool_value(c > 0);
  else if (o == ">=") out = bool_value(c >= 0);
  else if (o == "^") out = bool_value(left.major == right.major);
  else if (o == "~") out = bool_value(left.major == right.major && left.minor == right.minor);
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
  std::uint32_t at;
  RuleNode variant;
  if (!constant_bucket_at(nodes_, n.first, n.argc, point, at)) return true;
  if (!node(at, variant)) return false;
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
    default: failure_ = RuleOutcome::Malformed; return false;
  }
}

bool RuleEvaluator::op_fractional(const RuleNode& n, std::uint32_t index, const Scope& scope, std::uint32_t depth,
                                  RuleValue& out) noexcept {
  out = null_value();
  if (n.argc == 0) return true;
  bool handled = false;
  if (!fractional_constant(n, index, handled, out)) return false;
  if (handled) return true;
  std::uint32_t slots;
  if (!operands(n, scope, depth, slots)) return false;  // flagd evaluates every operand first
  const RuleValue& head = values_[slots];
  std::string_view key_a, key_b;
  std::uint32_t buckets_from = 0;
  RuleValue key_storage;
  if (head.kind == Kind::String) {
    key_a = head.view();
    buckets_from = 1;
  } else {
    buckets_from = head.kind == Kind::Null ? 1 : 0;
    const std::string_view tk = targeting_key();
    if (tk.empty()) return true;
    if (!flag_key(key_storage)) return false;
    key_a = key_storage.view();
    key_b = tk;
  }
  // Buckets: [variant, weight?]; a weight is a whole number, absent or null meaning 1, negative 0.
  const auto weight_of = [&](const RuleValue& bucket, std::uint64_t& weight) {
    weight = 1;
    if (bucket.length < 2 || element(bucket, 1).kind == Kind::Null) return true;
    const RuleValue& w = element(bucket, 1);
    return w.kind == Kind::Number && fractional_weight(w.number, weight);
  };
  std::uint64_t total = 0;
  for (std::uint32_t i = buckets_from; i < n.argc; ++i) {
    const RuleValue& bucket = values_[slots + i];
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
  for (std::uint32_t i = buckets_from; i < n.argc; ++i) {
    const RuleValue& bucket = values_[slots + i];
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

bool RuleEvaluator::charge(std::uint64_t elements) noexcept {
  if (elements > kRuleStepBudget - std::min<std::uint64_t>(steps_, kRuleStepBudget)) return limit_reached();
  steps_ += static_cast<std::uint32_t>(elements);
  return true;
}

bool RuleEvaluator::charge_bytes(std::uint64_t bytes) noexcept { return charge(bytes / kRuleBytesPerStep); }

bool RuleEvaluator::charge_text(const RuleValue& v) noexcept {
  return v.kind != Kind::String || charge_bytes(v.length);
}

bool RuleEvaluator::limit_reached() noexcept {
  failure_ = RuleOutcome::General;
  return false;
}

bool RuleEvaluator::engine_error() noexcept {
  failure_ = RuleOutcome::ParseError;
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
  if (++steps_ > kRuleStepBudget || depth > kRuleEvalDepth) {
    failure_ = RuleOutcome::General;
    return false;
  }
  if (!node(index, n)) return false;
  switch (n.op) {
    case RuleOp::Null:
    case RuleOp::Bool:
    case RuleOp::Number:
    case RuleOp::String: return constant(n, index == tail_, out);
    case RuleOp::Object:
      out = RuleValue{};
      out.kind = Kind::Object;
      out.boolean = n.b != 0;  // non-empty
      return true;
    case RuleOp::Array: {
      std::uint32_t first;
      if (!operands(n, scope, depth, first)) return false;
      out = RuleValue{};
      out.kind = Kind::Array;
      out.begin = first;
      out.length = n.argc;
      return true;
    }
    case RuleOp::Var: return variable(n, scope, depth, out);
    case RuleOp::FlagKey: return flag_key(out);
    case RuleOp::Timestamp: out = number_value(unix_seconds()); return true;
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
    case RuleOp::NotNot: {
      RuleValue v;
      if (!arg(n, 0, scope, depth, v)) return false;
      if (v.kind == Kind::Array && v.length != 0) v = element(v, 0);  // flagd's engine
      out = bool_value(truthy(v) == (n.op == RuleOp::NotNot));
      return true;
    }
    case RuleOp::Or: return op_and_or(n, false, scope, depth, out);
    case RuleOp::And: return op_and_or(n, true, scope, depth, out);
    case RuleOp::Max:
    case RuleOp::Min:
    case RuleOp::Add:
    case RuleOp::Subtract:
    case RuleOp::Multiply:
    case RuleOp::Divide:
    case RuleOp::Modulo: return op_arithmetic(n, scope, depth, out);
    case RuleOp::In: return op_in(n, scope, depth, out);
    case RuleOp::Cat: return op_cat(n, scope, depth, out);
    case RuleOp::Substr: return op_substr(n, scope, depth, out);
    case RuleOp::Merge: return op_merge(n, scope, depth, out);
    case RuleOp::Map:
    case RuleOp::Filter:
    case RuleOp::Reduce:
    case RuleOp::All:
    case RuleOp::None:
    case RuleOp::Some: return op_iterate(n, scope, depth, out);
    case RuleOp::Fractional: return op_fractional(n, index, scope, depth, out);
    case RuleOp::SemVer: return op_sem_ver(n, scope, depth, out);
    case RuleOp::StartsWith: return op_affix(n, true, scope, depth, out);
    case RuleOp::EndsWith: return op_affix(n, false, scope, depth, out);
    case RuleOp::Invalid: failure_ = RuleOutcome::ParseError; return false;
    case RuleOp::AttrTest: return op_attr_test(n, scope, depth, out);
    case RuleOp::Count_: break;
  }
  failure_ = RuleOutcome::Malformed;
  return false;
}

RuleOutcome RuleEvaluator::run() noexcept {
  if (!nodes_.open(slot_, rule_)) return RuleOutcome::Malformed;
  RuleValue result;
  const Scope scope;
  if (!eval(0, scope, 0, result)) return failure_;
  if (result.kind == Kind::Null) return RuleOutcome::Null;
  if (result.kind == Kind::Number && !std::isfinite(result.number)) return RuleOutcome::ParseError;
  if (result.kind == Kind::Object) return RuleOutcome::General;  // see array_name()
  if (result.kind == Kind::Array) {
    RuleValue name;
    if (!array_name(result, name, 0)) return failure_;
    variant_ = name.view();
    return RuleOutcome::Variant;
  }
  // A constant named at load (its name has nothing JSON escapes): only its index is needed, and
  // in tail position its text was never copied.
  variant_index_ = result.kind == Kind::String ? result.variant : 0;
  if (variant_index_ != 0) return RuleOutcome::Variant;
  if (result.kind == Kind::String) {
    if (!charge_text(result)) return failure_;
    // flagd names the variant after the JSON encoding of the result with its quotes removed: a
    // string with characters JSON escapes (quotes, backslash, controls, < > &) names no variant.
    for (char c : result.view())
      if (c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || static_cast<unsigned char>(c) < 0x20)
        return RuleOutcome::General;
  }
  RuleValue name;
  if (!text_of(result, name)) return failure_;
  variant_ = name.view();
  return RuleOutcome::Variant;
}

}  // namespace flagd::detail
