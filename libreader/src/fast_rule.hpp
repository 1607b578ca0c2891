// The fast path for the rule shapes nearly every flag file is made of: an `if` chain whose
// conditions are and/or/not over attribute tests (==, !=, in, starts_with, ends_with, sem_ver,
// numeric comparisons with a constant) and whose results are variant names, null, nested ifs or
// a `fractional` with constant buckets; or such a `fractional` alone.
//
// It walks the compiled nodes directly, with no value stack and no copies, and decides only what
// it is sure of: an attribute of another type than the test expects, an operator it does not
// know, a result it cannot name, all give Undecided, and the general interpreter (rule_eval.hpp)
// evaluates the rule instead. Every decision it makes equals the interpreter's; tests/
// test_fast_rules.cpp checks that on generated rules and contexts.
#pragma once

#include <cstdint>

#include "flagd/context.hpp"
#include "flagd/layout.hpp"
#include "rule_nodes.hpp"

namespace flagd::detail {

struct FastDecision {
  enum class Kind : std::uint8_t { Undecided, Variant, Null };
  Kind kind = Kind::Undecided;
  std::uint16_t variant = 0;  // Variant: the index of the flag's variant the rule chose
};

// `context` may be null (an empty context). `flag_key` is the flag's key in the image.
FastDecision decide_fast(const SlotView& slot, const RuleNodes& nodes, const Context* context,
                         layout::StringRef flag_key) noexcept;

// The value-only evaluation of an enabled flag with targeting whose rule the fast path decides,
// in one read section of its own: Value (the chosen variant's payload, of kind `want`), Fallback
// (the rule gave null and the flag has no default variant), or General: anything else (another
// state or kind, an undecided rule, a busy or malformed image), which the general path evaluates.
enum class FastValue : std::uint8_t { Value, Fallback, General };
FastValue fast_targeted_value(const Mapping& mapping, std::uint32_t index, layout::ValueKind want,
                              const Context& context, std::uint64_t& payload) noexcept;

}  // namespace flagd::detail
