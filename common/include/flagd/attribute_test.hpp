// A context attribute tested against string constants, the commonest rule test: ==, !=, ===,
// !==, starts_with and ends_with with the attribute first (== and its kin either way round), in
// with a list of string constants. Which rules are such a test and what each asks of a string
// attribute is defined here once: the rule compiler fuses them (RuleOp::AttrTest), the fast form
// compiler compiles the fused ones, and the interpreter, its fused path and the fast form decide
// them by it (each reading the constants where they lie; tests/test_fast_rules.cpp checks that
// they answer alike). An attribute that is no string takes the operator's general path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flagd/rule_layout.hpp"

namespace flagd {

enum class AttributeTestKind : std::uint8_t { Equal, StartsWith, EndsWith, In };

struct AttributeTest {
  AttributeTestKind kind = AttributeTestKind::Equal;
  bool negated = false;  // != and !==: not equal (a missing attribute, null, equals no string)
};

// The test a (fused) operator stands for; false if it is none.
constexpr bool attribute_test_of(layout::RuleOp op, AttributeTest& out) noexcept {
  using layout::RuleOp;
  switch (op) {
    case RuleOp::Equal:
    case RuleOp::StrictEqual: out = {AttributeTestKind::Equal, false}; return true;
    case RuleOp::NotEqual:
    case RuleOp::StrictNotEqual: out = {AttributeTestKind::Equal, true}; return true;
    case RuleOp::StartsWith: out = {AttributeTestKind::StartsWith, false}; return true;
    case RuleOp::EndsWith: out = {AttributeTestKind::EndsWith, false}; return true;
    case RuleOp::In: out = {AttributeTestKind::In, false}; return true;
    default: return false;
  }
}

// What an operand of a two-operand operator is, for fusing.
struct OperandShape {
  bool plain_var = false;     // a var of a path known at load (not "", the whole data), no default
  bool string = false;        // a string constant
  bool string_list = false;   // a literal list of string constants
};

// Which operand (0 or 1) of `op`'s two is the attribute of a fusable test; -1 if none is. The
// equalities are symmetric; starts_with, ends_with and in take the attribute first.
constexpr int fusable_attribute(layout::RuleOp op, OperandShape first, OperandShape second) noexcept {
  AttributeTest test;
  if (!attribute_test_of(op, test)) return -1;
  if (test.kind == AttributeTestKind::In) return first.plain_var && second.string_list ? 0 : -1;
  if (first.plain_var && second.string) return 0;
  if (test.kind == AttributeTestKind::Equal && first.string && second.plain_var) return 1;
  return -1;
}

// The test on the string `text` against one constant whose bytes `constant` gives: size(), and
// same(piece), whether its bytes are exactly `piece` (of its size). In is Equal against each item.
template <class Constant>
bool string_test_holds(AttributeTestKind kind, std::string_view text, const Constant& constant) {
  const std::size_t n = constant.size();
  switch (kind) {
    case AttributeTestKind::Equal:
    case AttributeTestKind::In: return n == text.size() && constant.same(text);
    case AttributeTestKind::StartsWith: return n <= text.size() && constant.same(text.substr(0, n));
    case AttributeTestKind::EndsWith: return n <= text.size() && constant.same(text.substr(text.size() - n));
  }
  return false;
}

// A constant in private memory.
struct TextConstant {
  std::string_view text;
  std::size_t size() const noexcept { return text.size(); }
  bool same(std::string_view piece) const noexcept { return piece == text; }
};

}  // namespace flagd
