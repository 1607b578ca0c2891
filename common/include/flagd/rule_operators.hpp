// The operators flagd's engine knows, by name, and how each takes its operand: jsonlogic
// v3.9.1's and flagd's own. The loader compiles rules with them; the reader compiles with them
// the objects flagd's engine evaluates again as rules at evaluation (an `if` branch whose value
// is an object with one key), into the same nodes.
#pragma once

#include <string_view>

#include "flagd/rule_layout.hpp"

namespace flagd {

// How flagd's engine takes an operator's operand (the value under its key).
enum class OperandForm : std::uint8_t {
  Values,  // evaluated first: an array's elements, or one value whose evaluation is the operand
           // list (compiled as a Spread node)
  Raw,     // an array, as written: anything else fails the rule when evaluation reaches it (if,
           // and, or, and the iterating operators, whose literal list is data, not evaluated)
  Var,     // `var`: a path, or [path, default]
};

struct OperatorName {
  std::string_view name;
  layout::RuleOp op;
  OperandForm form;
};

inline constexpr OperatorName kOperatorNames[] = {
    {"var", layout::RuleOp::Var, OperandForm::Var},
    {"missing", layout::RuleOp::Missing, OperandForm::Values},
    {"missing_some", layout::RuleOp::MissingSome, OperandForm::Values},
    {"if", layout::RuleOp::If, OperandForm::Raw},
    {"?:", layout::RuleOp::If, OperandForm::Raw},
    {"==", layout::RuleOp::Equal, OperandForm::Values},
    {"===", layout::RuleOp::StrictEqual, OperandForm::Values},
    {"!=", layout::RuleOp::NotEqual, OperandForm::Values},
    {"!==", layout::RuleOp::StrictNotEqual, OperandForm::Values},
    {"!", layout::RuleOp::Not, OperandForm::Values},
    {"!!", layout::RuleOp::NotNot, OperandForm::Values},
    {"or", layout::RuleOp::Or, OperandForm::Raw},
    {"and", layout::RuleOp::And, OperandForm::Raw},
    {"<", layout::RuleOp::Less, OperandForm::Values},
    {"<=", layout::RuleOp::LessEqual, OperandForm::Values},
    {">", layout::RuleOp::Greater, OperandForm::Values},
    {">=", layout::RuleOp::GreaterEqual, OperandForm::Values},
    {"max", layout::RuleOp::Max, OperandForm::Values},
    {"min", layout::RuleOp::Min, OperandForm::Values},
    {"+", layout::RuleOp::Add, OperandForm::Values},
    {"-", layout::RuleOp::Subtract, OperandForm::Values},
    {"*", layout::RuleOp::Multiply, OperandForm::Values},
    {"/", layout::RuleOp::Divide, OperandForm::Values},
    {"%", layout::RuleOp::Modulo, OperandForm::Values},
    {"abs", layout::RuleOp::Abs, OperandForm::Values},
    {"in", layout::RuleOp::In, OperandForm::Values},
    {"cat", layout::RuleOp::Cat, OperandForm::Values},
    {"substr", layout::RuleOp::Substr, OperandForm::Values},
    {"merge", layout::RuleOp::Merge, OperandForm::Values},
    {"set", layout::RuleOp::Set, OperandForm::Values},
    {"map", layout::RuleOp::Map, OperandForm::Raw},
    {"filter", layout::RuleOp::Filter, OperandForm::Raw},
    {"reduce", layout::RuleOp::Reduce, OperandForm::Raw},
    {"all", layout::RuleOp::All, OperandForm::Raw},
    {"none", layout::RuleOp::None, OperandForm::Raw},
    {"some", layout::RuleOp::Some, OperandForm::Raw},
    {"contains_all", layout::RuleOp::ContainsAll, OperandForm::Values},
    {"contains_any", layout::RuleOp::ContainsAny, OperandForm::Values},
    {"contains_none", layout::RuleOp::ContainsNone, OperandForm::Values},
    {"fractional", layout::RuleOp::Fractional, OperandForm::Values},
    {"sem_ver", layout::RuleOp::SemVer, OperandForm::Values},
    {"starts_with", layout::RuleOp::StartsWith, OperandForm::Values},
    {"ends_with", layout::RuleOp::EndsWith, OperandForm::Values},
};

// The operators that iterate over a list, their first operand: a literal list is taken as data.
inline constexpr bool iterates(layout::RuleOp op) noexcept {
  return op == layout::RuleOp::Map || op == layout::RuleOp::Filter || op == layout::RuleOp::Reduce ||
         op == layout::RuleOp::All || op == layout::RuleOp::None || op == layout::RuleOp::Some;
}

// The operator called `name`, or nullptr.
inline const OperatorName* find_operator_name(std::string_view name) noexcept {
  for (const auto& o : kOperatorNames)
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace flagd
