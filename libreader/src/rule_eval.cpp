// The interpreter's core: nodes and their operands, the scratch area, the step budget and the
// failures, the dispatcher and the rule's answer. Operator families live beside it (rule_*.cpp).
#include "rule_eval_parts.hpp"

#include <bit>
#include <cmath>
#include <cstring>

namespace flagd::detail {

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
