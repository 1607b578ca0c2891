// Rules from data: where flagd's engine evaluates a value again as a rule (an object of one key is
// an operation), the value is compiled into nodes of the rule's own kinds, in a private buffer,
// and evaluated as the rule's nodes are.
#include "rule_eval_parts.hpp"

#include <bit>

#include "flagd/rule_operators.hpp"
#include "rule_json.hpp"

namespace flagd::detail {

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
  // The nodes compiled from the object refer to its text in the scratch area: text that lies
  // elsewhere (a context's JSON attribute) is copied there first.
  std::string_view text = object.view();
  if (!in_scratch(text)) {
    const std::size_t text_mark = text_used_;
    if (!put_text(text)) return false;
    text = {text_ + text_mark, text.size()};
  }
  std::uint32_t count = 0;
  std::string_view key, operand;
  if (!json::members(text, [&](std::string_view k, std::string_view value) {
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

bool RuleEvaluator::spread_operand(const RuleNode& n, bool& spread) noexcept {
  spread = false;
  RuleNode first;
  if (n.argc != 1 || !node(n.first, first)) return n.argc != 1;
  spread = first.op == RuleOp::Spread;
  return true;
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
bool RuleEvaluator::in_scratch(std::string_view text) const noexcept {
  return text.data() >= text_ && text.data() + text.size() <= text_ + text_used_;
}

bool RuleEvaluator::dynamic_text(std::string_view text, std::uint64_t& packed) noexcept {
  if (!in_scratch(text)) return malformed();
  packed = layout::pack_string_ref(
      layout::StringRef{static_cast<std::uint32_t>(text.data() - text_) | kDynamic, static_cast<std::uint32_t>(text.size())});
  return true;
}

// Nodes for the elements of the JSON list `list`, consecutive, as the children of `n`;
// `data(k, item)` says whether element k is taken as written (a literal list).
template <class Data>
bool RuleEvaluator::dynamic_elements(std::string_view list, std::uint32_t depth, RuleNode& n, Data&& data) noexcept {
  std::uint32_t count = 0;
  if (!json::elements(list, [&](std::string_view) { return ++count, true; })) return malformed();
  std::uint32_t first;
  if (!dynamic_nodes(count, first)) return false;
  std::uint32_t k = 0;
  bool ok = true;
  json::elements(list, [&](std::string_view item) {
    ok = dynamic_value(item, first + k, data(k, item), depth + 1);
    ++k;
    return ok;
  });
  n.argc = static_cast<std::uint16_t>(count);
  n.first = first;
  return ok;
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
    case '[':
      if (!dynamic_elements(json_text, depth, n, [data](std::uint32_t, std::string_view) { return data; })) return false;
      n.op = RuleOp::Array;
      break;
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
    // An iterating operator's literal list is taken as written.
    const auto literal_list = [&](std::uint32_t k, std::string_view item) { return iterates(known->op) && k == 0 && item[0] == '['; };
    if (!dynamic_elements(operand, depth, n, literal_list)) return false;
    n.op = known->op;
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
  return map_list(v, out, [&](const RuleValue& e, RuleValue& parsed) { return reparse(e, scope, depth + 1, parsed); });
}

}  // namespace flagd::detail
