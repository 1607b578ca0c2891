// if, and, or, !, !!, the comparisons and the arithmetic operators.
#include "rule_eval_parts.hpp"

#include <cmath>

namespace flagd::detail {

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
    out = n.op == RuleOp::Multiply ? number_value(1)
          : n.op == RuleOp::Add   ? number_value(0)
                                  : go_int_zero();
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

}  // namespace flagd::detail
