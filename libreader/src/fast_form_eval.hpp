// Running a rule's fast form (flagd/fast_form.hpp): the compiled shapes nearly every flag file is
// made of, evaluated in one forward pass with no stack and no copies.
//
// It decides only what it is sure of: an attribute of another type than a test compares, or an
// Undecided instruction, gives Undecided, and the general interpreter (rule_eval.hpp) evaluates
// the rule instead. Every decision equals the interpreter's; tests/test_fast_rules.cpp checks
// that on generated rules and contexts. Torn bytes are expected: each instruction is checked to
// lie in the form and each jump to go forward, so a run reads only the form and always ends.
#pragma once

#include <cstdint>

#include "flagd/context.hpp"
#include "flagd/fast_form.hpp"
#include "image_read.hpp"

namespace flagd::detail {

struct FastDecision {
  enum class Kind : std::uint8_t { Undecided, Variant, Null };
  Kind kind = Kind::Undecided;
  std::uint16_t variant = 0;  // Variant: the index of the flag's variant the rule chose
  std::uint64_t payload = 0;  // Variant: its payload, as the form stores it
};

// The fast form the rule reference `ref_at` (the image offset of a RuleRef) names, checked to lie
// in the slot; false if the rule has none (or the reference is torn).
bool open_fast_form(const SlotView& slot, std::uint64_t ref_at, layout::FastFormRef& form) noexcept;

// `context` may be null (an empty context). `form` must come from open_fast_form().
FastDecision run_fast_form(const SlotView& slot, layout::FastFormRef form, const Context* context) noexcept;

// The value-only evaluation of an enabled flag with targeting whose rule the fast form decides,
// in one read section of its own: Value (the chosen variant's payload, of kind `want`), Fallback
// (the rule gave null and the flag has no default variant), or General: anything else (another
// state or kind, an undecided rule, a busy or malformed image), which the general path evaluates.
enum class FastValue : std::uint8_t { Value, Fallback, General };
FastValue fast_targeted_value(const Mapping& mapping, std::uint32_t index, layout::ValueKind want,
                              const Context& context, std::uint64_t& payload) noexcept;

}  // namespace flagd::detail
