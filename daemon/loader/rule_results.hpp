// The constants a targeting rule can answer with, found by reading it, not running it: so that
// `flagctl validate` can say which of them names no variant (an evaluation that reached one
// would answer ERROR, GENERAL).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "diagnostic.hpp"
#include "json_value.hpp"

namespace flagd {

// Calls `found` for each constant in a result position of `rule`: the rule itself, the branches
// of `if`/`?:`, the operands of `and`/`or` (each may be the answer), a `var`'s default, the
// variants of `fractional`'s buckets, and the same inside a `$ref`'s evaluator. `evaluators` is
// the file's "$evaluators" object, or null.
void for_each_result_constant(const JsonValue& rule, const JsonValue* evaluators, const JsonPath& path,
                              const std::function<void(const JsonValue&, const JsonPath&)>& found);

// The variant a constant answer names, as flagd's engine names it (the JSON text of the result
// without its quotes); nullopt for a string JSON would escape, which the caller leaves alone.
std::optional<std::string> variant_named_by(const JsonValue& constant);

}  // namespace flagd
