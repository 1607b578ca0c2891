// Compiling a flag's `targeting` (JsonLogic, with flagd's operators and $ref to $evaluators)
// into the node array an image stores. Everything that can be known at load is checked here:
// unknown operators, malformed operands, size and depth limits, references to missing evaluators.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostic.hpp"
#include "flagd/limits.hpp"
#include "flag_model.hpp"
#include "json_value.hpp"

namespace flagd {

using limits::kMaxRuleDepth;
using limits::kMaxRuleNodes;

// Reports a problem: severity, JSON path, the token of the value at fault (json_value.hpp), message.
using RuleReporter =
    std::function<void(Diagnostic::Severity, const JsonPath&, std::uint32_t, std::string)>;

// Compiles `targeting` of flag `flag_key` found at JSON path `path`. `evaluators` is the file's
// "$evaluators" object, or null; `inside_evaluator` says the rule is itself part of one (a flag
// that an evaluator stands for), where flagd expands no $ref. Returns false (with errors
// reported) if the rule is rejected.
bool compile_rule(const JsonValue& targeting, const JsonValue* evaluators, bool inside_evaluator, const JsonPath& path,
                  const RuleReporter& report, std::vector<RuleDraftNode>& out);

}  // namespace flagd
