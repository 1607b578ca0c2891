// map, filter, reduce, all, none and some: the list they take (as written, or evaluated), the
// scope of their bodies, and their answers.
#include "rule_eval_parts.hpp"

namespace flagd::detail {

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
    } else if (quantifier && body.op == RuleOp::Object) {
      // A literal object applied: the rewrites may replace it whole (a "var" member they
      // resolve), and what they leave must still be an object to be applied.
      if (!constant(body, false, v) || !rewritten_value(v, inner, depth, v)) return false;
      if (v.kind != Kind::Object) return engine_error();
      if (!apply_object(v, inner.detached(), depth, v)) return false;
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
    case Kind::Number:
      type = "number";
      accumulator = number_value(accumulator.number);  // a float64, as the engine converts it
      break;
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

}  // namespace flagd::detail
