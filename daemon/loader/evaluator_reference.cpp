#include "evaluator_reference.hpp"

#include "flagd/go_json.hpp"
#include "go_struct.hpp"

namespace flagd {

namespace {

using Kind = JsonValue::Kind;

// Whether a flag's member is one Go reads as its "targeting".
bool is_targeting(std::string_view key) noexcept {
  static constexpr std::string_view kTargeting[] = {"targeting"};
  return go_field_of(key, kTargeting) == 0;
}

}  // namespace

EvaluatorReference resolve_reference(const JsonValue& name, const JsonValue* evaluators, bool inside_evaluator) {
  EvaluatorReference r;
  if (name.kind() != Kind::String) {
    r.unexpanded = "\"$ref\" must name an evaluator (a string), not " + std::string(kind_name(name.kind()));
    return r;
  }
  if (inside_evaluator) {
    r.unexpanded = "\"$ref\" to " + quoted(name.text()) +
                   " inside an evaluator is not expanded (flagd expands such references in no fixed order)";
    return r;
  }
  const JsonValue* target =
      evaluators != nullptr && evaluators->kind() == Kind::Object ? evaluators->find(name.text()) : nullptr;
  if (target == nullptr) {
    r.unexpanded = "\"$ref\" names " + quoted(name.text()) + ", which is not in $evaluators";
  } else if (!go::escapes_to_itself(name.text())) {
    r.unexpanded = "\"$ref\" names " + quoted(name.text()) +
                   ", a name JSON escapes, which flagd cannot match in the file's JSON text";
  } else {
    r.evaluator = target;
  }
  return r;
}

const JsonValue* reference_name(const JsonValue& v) noexcept {
  const auto members = v.members();
  return members.size() == 1 && members[0].key == "$ref" ? &members[0].value : nullptr;
}

const JsonValue& ReferenceExpander::expand_reference(const JsonValue& v, const JsonPath& path, bool& from_evaluator) {
  const JsonValue* evaluator = evaluators_ != nullptr ? substitute(v, path) : nullptr;
  from_evaluator = evaluator != nullptr;
  return from_evaluator ? *evaluator : v;
}

const JsonValue& ReferenceExpander::expand(const JsonValue& v, const JsonPath& path) {
  if (!holds_reference(v, false)) return v;
  return arena_.keep(copy(v, path, false));
}

const JsonValue& ReferenceExpander::expand_flag(const JsonValue& flag, const JsonPath& path, bool& from_evaluator) {
  const JsonValue& whole = expand_reference(flag, path, from_evaluator);
  if (from_evaluator || !holds_reference(flag, true)) return whole;
  return arena_.keep(copy(flag, path, true));
}

bool ReferenceExpander::holds_reference(const JsonValue& v, bool is_flag) const {
  if (evaluators_ == nullptr || evaluators_->members().empty()) return false;
  if (const JsonValue* name = reference_name(v))
    if (resolve_reference(*name, evaluators_, false).evaluator != nullptr) return true;
  for (const JsonValue& item : v.items())
    if (holds_reference(item, false)) return true;
  for (const JsonMember& m : v.members())
    if (!(is_flag && is_targeting(m.key)) && holds_reference(m.value, false)) return true;
  return false;
}

const JsonValue* ReferenceExpander::substitute(const JsonValue& v, const JsonPath& path) {
  const JsonValue* name = reference_name(v);
  if (name == nullptr) return nullptr;
  const JsonValue* evaluator = resolve_reference(*name, evaluators_, false).evaluator;
  if (evaluator != nullptr) substituted_(path, v.token(), name->text());
  return evaluator;
}

// The evaluator put in a reference's place is taken as written: what flagd would find in it
// depends on its order of substitution (evaluator_reference.hpp).
JsonValue ReferenceExpander::copy(const JsonValue& v, const JsonPath& path, bool is_flag) {
  if (const JsonValue* evaluator = substitute(v, path)) return *evaluator;
  if (v.kind() == Kind::Array) {
    auto& items = arena_.items(v.items().size());
    for (std::size_t i = 0; i < v.items().size(); ++i) items.push_back(copy(v.items()[i], path.element(i), false));
    return JsonValue::of_array(items, v.token());
  }
  if (v.kind() != Kind::Object) return v;
  auto& members = arena_.members(v.members().size());
  for (const JsonMember& m : v.members())
    members.push_back(JsonMember{m.key, m.key_token,
                                 is_flag && is_targeting(m.key) ? m.value : copy(m.value, path.member(m.key), false)});
  return JsonValue::of_object(members, v.token());
}

}  // namespace flagd
