// What the interpreter's parts (rule_eval.cpp and the rule_*.cpp beside it) share: the scope a
// `var` reads, values made in one line, and the Go coercions every operator family uses.
#pragma once

#include <time.h>

#include <cstdint>
#include <string_view>

#include "flagd/go_number.hpp"
#include "rule_eval.hpp"

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

inline RuleValue null_value() noexcept { return RuleValue{}; }

inline RuleValue bool_value(bool b) noexcept {
  RuleValue v;
  v.kind = Kind::Bool;
  v.boolean = b;
  return v;
}

inline RuleValue number_value(double d) noexcept {
  RuleValue v;
  v.kind = Kind::Number;
  v.number = d;
  return v;
}

// The 0 that - and / of no operands give in flagd's engine: a Go int, where every other number
// is a float64. Arithmetic and loose comparisons read it as 0; Go's == tells it from 0.0, so ===
// and in's needle see the difference, and fractional takes it for no number at all.
inline RuleValue go_int_zero() noexcept {
  RuleValue v = number_value(0);
  v.go_int = true;
  return v;
}

inline RuleValue string_value(std::string_view s) noexcept {
  RuleValue v;
  v.kind = Kind::String;
  v.text = s.data();
  v.length = static_cast<std::uint32_t>(s.size());
  return v;
}

inline RuleValue array_value(std::uint32_t begin, std::uint32_t length) noexcept {
  RuleValue v;
  v.kind = Kind::Array;
  v.begin = begin;
  v.length = length;
  return v;
}

inline RuleValue object_value(std::string_view json) noexcept {
  RuleValue v;
  v.kind = Kind::Object;
  v.text = json.data();
  v.length = static_cast<std::uint32_t>(json.size());
  v.boolean = json != "{}";
  return v;
}

// $flagd.timestamp: whole seconds. clock_gettime goes through the vDSO: no system call.
inline double unix_seconds() noexcept {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec);
}

// A constant node (an array node is not one: its elements are evaluated).
inline bool constant_op(RuleOp op) noexcept { return op <= RuleOp::String || op == RuleOp::Object; }

// flagd's engine rewrites the bodies of filter, none and some before iterating (rule_eval.hpp,
// Scope): every var but those of "" and of a path starting with "." (kept for the element).
inline bool substitutable(std::string_view path) noexcept { return !path.empty() && path[0] != '.'; }

// The first segment of a path and what follows its dot.
inline std::string_view first_segment(std::string_view path, std::string_view& rest) noexcept {
  const std::size_t dot = path.find('.');
  rest = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  return path.substr(0, dot);
}

// A list index as flagd's engine reads a path segment: int(ParseFloat(segment)), errors ignored.
inline std::int64_t segment_index(std::string_view segment) noexcept {
  double d;
  go::parse_float(segment, d);
  return go::to_int(d);
}

inline bool operation(RuleOp op) noexcept { return op > RuleOp::Array; }

// Go's coercions of values (rule_values.cpp): javascript.ToNumber, which comparisons use; equality
// and order as comparisons decide them; strings.TrimSpace.
double js_number(const RuleValue& v) noexcept;
bool loose_equal(const RuleValue& a, const RuleValue& b) noexcept;
bool strict_equal(const RuleValue& a, const RuleValue& b) noexcept;
bool less(const RuleValue& a, const RuleValue& b) noexcept;
bool less_or_equal(const RuleValue& a, const RuleValue& b) noexcept;
std::string_view trim_space(std::string_view s) noexcept;

template <class Each>
bool RuleEvaluator::map_list(const RuleValue& list, RuleValue& out, Each&& each) noexcept {
  if (list.length > kRuleValueScratch - values_used_) return limit_reached();
  const RuleValue copy = array_value(values_used_, list.length);
  values_used_ += list.length;
  for (std::uint32_t i = 0; i < list.length; ++i) {
    RuleValue e;
    if (!each(element(list, i), e)) return false;
    values_[copy.begin + i] = e;
  }
  out = copy;
  return true;
}

template <class Resolve>
bool RuleEvaluator::through_rewrites(const Scope& scope, std::uint32_t depth, RuleValue& out, Resolve&& resolve) noexcept {
  out = null_value();
  if (scope.parent == nullptr) return true;
  if (!through_rewrites(*scope.parent, depth, out, resolve)) return false;
  for (int level = 0; level < 2; ++level) {
    Scope data;
    if (!rewrite_level(scope, level, data)) continue;
    if (out.kind != Kind::Null) {
      if (!solve_vars(out, data, depth, out)) return false;
      continue;
    }
    if (!resolve(data, out)) return false;
  }
  return true;
}

}  // namespace flagd::detail
