// Compiles a flag's rule into its fast form (flagd/fast_form.hpp), beside the RuleNode array.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "flag_model.hpp"

namespace flagd {

// The fast form of `flag`'s rule; empty if the rule has none worth running (no rule, a rule whose
// root is outside the covered shapes, or one too long for 16-bit jumps). `payloads`: the payload
// word of each of the flag's variants, as the image stores it.
std::vector<std::uint64_t> compile_fast_form(const FlagDefinition& flag, std::span<const std::uint64_t> payloads);

// "tags.0", "tags.x": a `var` path of more than one segment, which may name an element of a list
// attribute when no attribute has the whole path (layout::kPathMayNameListElement).
bool path_may_name_list_element(std::string_view path);

}  // namespace flagd
