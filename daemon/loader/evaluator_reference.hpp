// {"$ref": "name"}: where flagd puts one of the file's $evaluators in its place.
//
// flagd re-encodes the whole file as compact JSON, then replaces the text {"$ref":"name"} with
// the evaluator as written, for each evaluator in turn (in Go's map order: none fixed). So a
// reference stands for its evaluator anywhere in the file, in variant and metadata values too,
// but only where it is exactly that text: an object whose one member is "$ref", naming an
// evaluator by a string that JSON writes as it is. A reference inside an evaluator resolves or
// not depending on which evaluator flagd happens to substitute first; it is left as written.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "diagnostic.hpp"
#include "json_value.hpp"

namespace flagd {

struct EvaluatorReference {
  const JsonValue* evaluator = nullptr;  // what flagd puts in the reference's place
  std::string unexpanded;                // when there is none, why flagd leaves it as written
};

// What the member {"$ref": name} stands for, written inside an evaluator or not. `evaluators` is
// the file's "$evaluators" object, or null.
EvaluatorReference resolve_reference(const JsonValue& name, const JsonValue* evaluators, bool inside_evaluator);

// The value of "$ref" when `v` is an object whose one member it is; null otherwise.
const JsonValue* reference_name(const JsonValue& v) noexcept;

// Copies of data values (variants, metadata, whole flags) with each reference flagd substitutes
// replaced by its evaluator. Rules are not copied: the rule compiler expands their references
// itself, naming the evaluator in what it reports. The copies live as long as the expander.
class ReferenceExpander {
 public:
  // Told of each substitution: where the reference stood, its token, the evaluator's name.
  using Substituted = std::function<void(const JsonPath&, std::uint32_t, std::string_view)>;

  ReferenceExpander(const JsonValue* evaluators, Substituted substituted)
      : evaluators_(evaluators), substituted_(std::move(substituted)) {}

  // `v`, or the evaluator when `v` itself is a reference flagd substitutes (`from_evaluator`
  // then set): what is in it is taken as written.
  const JsonValue& expand_reference(const JsonValue& v, const JsonPath& path, bool& from_evaluator);
  // `v` with its references substituted; `v` itself when it holds none.
  const JsonValue& expand(const JsonValue& v, const JsonPath& path);
  // The same for a flag, whose "targeting" (in any case Go reads as it) is left to the compiler;
  // `from_evaluator` set when the flag itself is an evaluator's.
  const JsonValue& expand_flag(const JsonValue& flag, const JsonPath& path, bool& from_evaluator);

 private:
  bool holds_reference(const JsonValue& v, bool is_flag) const;
  const JsonValue* substitute(const JsonValue& v, const JsonPath& path);
  JsonValue copy(const JsonValue& v, const JsonPath& path, bool is_flag);

  const JsonValue* evaluators_;
  Substituted substituted_;
  JsonArena arena_;
};

}  // namespace flagd
