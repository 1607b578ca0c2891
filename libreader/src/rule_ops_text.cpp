// The operators on strings and lists: in (with its linear-time search), cat, substr, merge,
// missing and missing_some, set, contains_all/any/none.
#include "rule_eval_parts.hpp"

#include <algorithm>

#include "flagd/go_json.hpp"
#include "rule_json.hpp"

namespace flagd::detail {

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
        found = !needle.go_int && x == needle.number;  // Go compares float64(e) with the needle
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
    if (!reparse(element(names, i), own, depth, name) || !get_var(name, own, value)) return false;
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

}  // namespace flagd::detail
