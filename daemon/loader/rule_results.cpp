#include "rule_results.hpp"

#include "evaluator_reference.hpp"
#include "flagd/go_json.hpp"
#include "flagd/go_number.hpp"

namespace flagd {

namespace {

using Kind = JsonValue::Kind;

bool is_constant(const JsonValue& v) noexcept {
  return v.kind() == Kind::String || v.kind() == Kind::Number || v.kind() == Kind::Bool;
}

// JsonLogic's truthiness of a constant: "", 0 and false are falsy.
bool truthy(const JsonValue& v) noexcept {
  switch (v.kind()) {
    case Kind::String: return !v.text().empty();
    case Kind::Number: return v.number() != 0;
    case Kind::Bool: return v.boolean();
    default: return true;
  }
}

class ResultWalker {
 public:
  ResultWalker(const JsonValue* evaluators, const std::function<void(const JsonValue&, const JsonPath&)>& found)
      : evaluators_(evaluators), found_(found) {}

  void walk(const JsonValue& v, const JsonPath& path, std::size_t depth) {
    if (depth > kMaxDepth) return;
    if (v.kind() == Kind::String || v.kind() == Kind::Number || v.kind() == Kind::Bool) {
      found_(v, path);
      return;
    }
    if (v.kind() != Kind::Object || v.members().size() != 1) return;
    const JsonMember& op = v.members()[0];
    const JsonPath at = path.member(op.key);
    const auto operands = op.value.items();
    if (op.key == "$ref") {
      // flagd expands no $ref inside an evaluator; results there are reported where written.
      const JsonValue* target = resolve_reference(op.value, evaluators_, in_evaluator_).evaluator;
      if (target != nullptr) {
        const JsonPath document;
        const JsonPath evaluators = document.member("$evaluators");
        in_evaluator_ = true;
        walk(*target, evaluators.member(op.value.text()), depth + 1);
        in_evaluator_ = false;
      }
    } else if (op.key == "if" || op.key == "?:") {
      // [condition, then, condition, then, ..., else]; a lone operand is the answer
      for (std::size_t i = 0; i < operands.size(); ++i)
        if (i % 2 == 1 || i + 1 == operands.size()) walk(operands[i], at.element(i), depth + 1);
    } else if (op.key == "and" || op.key == "or") {
      // The first falsy operand (and) or truthy one (or) is the answer, else the last: a constant
      // before the last answers only if it stops the search.
      const bool stops_if_truthy = op.key == "or";
      for (std::size_t i = 0; i < operands.size(); ++i)
        if (i + 1 == operands.size() || !is_constant(operands[i]) || truthy(operands[i]) == stops_if_truthy)
          walk(operands[i], at.element(i), depth + 1);
    } else if (op.key == "var") {
      if (operands.size() == 2) walk(operands[1], at.element(1), depth + 1);
    } else if (op.key == "fractional") {
      // A first operand that is a string or an operation is the bucketing key; the rest are
      // buckets, [variant, weight].
      for (std::size_t i = 0; i < operands.size(); ++i) {
        const auto bucket = operands[i].items();
        if (!bucket.empty() && bucket[0].kind() != Kind::Null)
          walk(bucket[0], at.element(i).element(0), depth + 1);
      }
    }
  }

 private:
  static constexpr std::size_t kMaxDepth = 64;  // the file's own nesting limit bounds it anyway
  const JsonValue* evaluators_;
  const std::function<void(const JsonValue&, const JsonPath&)>& found_;
  bool in_evaluator_ = false;
};

}  // namespace

void for_each_result_constant(const JsonValue& rule, const JsonValue* evaluators, const JsonPath& path,
                              const std::function<void(const JsonValue&, const JsonPath&)>& found) {
  ResultWalker(evaluators, found).walk(rule, path, 0);
}

std::optional<std::string> variant_named_by(const JsonValue& constant) {
  switch (constant.kind()) {
    case Kind::Bool: return std::string(constant.boolean() ? "true" : "false");
    case Kind::String:
      if (!go::escapes_to_itself(constant.text())) return std::nullopt;
      return std::string(constant.text());
    case Kind::Number: {  // as encoding/json writes it ("1", "2.5", "1e+21")
      char text[go::kNumberTextBytes];
      return std::string(text, go::format_json(constant.number(), text));
    }
    default: return std::nullopt;
  }
}

}  // namespace flagd
