#include "rule_compiler.hpp"

#include "closest_name.hpp"
#include "evaluator_reference.hpp"

#include "flagd/attribute_test.hpp"
#include "flagd/go_json.hpp"
#include "flagd/go_number.hpp"
#include "flagd/limits.hpp"
#include "flagd/rule_operators.hpp"

#include <algorithm>
#include <deque>
#include <span>

namespace flagd {

namespace {

using layout::RuleOp;
using Kind = JsonValue::Kind;
using Severity = Diagnostic::Severity;

struct OperatorSpec {
  RuleOp op;
  // The operand counts the operator is meant for, and what flagd's engine does with fewer or more.
  std::size_t min_args;
  std::size_t max_args;  // kAny: no limit
  std::string_view fewer;
  std::string_view more;
};

constexpr std::size_t kAny = static_cast<std::size_t>(-1);

constexpr std::string_view kFails = "flagd's engine fails the rule with PARSE_ERROR when evaluation reaches it";
constexpr std::string_view kIgnored = "flagd's engine ignores the rest";
constexpr std::string_view kEvaluatedIgnored = "flagd's engine evaluates the rest and ignores them";

// The operand counts each of flagd's operators (rule_operators.hpp) is meant for.
constexpr OperatorSpec kOperators[] = {
    {RuleOp::Missing, 0, kAny, "", ""},
    {RuleOp::MissingSome, 2, 2, kFails, kEvaluatedIgnored},
    {RuleOp::If, 0, kAny, "", ""},
    {RuleOp::Equal, 2, 2, "flagd's engine answers false", kEvaluatedIgnored},
    {RuleOp::StrictEqual, 2, 2, "flagd's engine answers false", kEvaluatedIgnored},
    {RuleOp::NotEqual, 2, 2, "flagd's engine answers true", kEvaluatedIgnored},
    {RuleOp::StrictNotEqual, 2, 2, "flagd's engine answers true", kEvaluatedIgnored},
    {RuleOp::Not, 1, 1, "flagd's engine answers true", kEvaluatedIgnored},
    {RuleOp::NotNot, 1, 1, "flagd's engine answers false", kEvaluatedIgnored},
    {RuleOp::Or, 0, kAny, "", ""},
    {RuleOp::And, 0, kAny, "", ""},
    {RuleOp::Less, 2, 3, "flagd's engine answers false", "flagd's engine compares only the first two"},
    {RuleOp::LessEqual, 2, 3, "flagd's engine answers false", "flagd's engine compares only the first two"},
    {RuleOp::Greater, 2, 3, "flagd's engine answers false", "flagd's engine compares only the first two"},
    {RuleOp::GreaterEqual, 2, 3, "flagd's engine answers false", "flagd's engine compares only the first two"},
    {RuleOp::Max, 0, kAny, "", ""},
    {RuleOp::Min, 0, kAny, "", ""},
    {RuleOp::Add, 0, kAny, "", ""},
    {RuleOp::Subtract, 0, kAny, "", ""},
    {RuleOp::Multiply, 0, kAny, "", ""},
    {RuleOp::Divide, 0, kAny, "", ""},
    {RuleOp::Modulo, 2, 2, kFails, kEvaluatedIgnored},
    {RuleOp::Abs, 1, 1, kFails, kEvaluatedIgnored},
    {RuleOp::In, 2, 2, "flagd's engine answers false with one, and fails with none", kEvaluatedIgnored},
    {RuleOp::Cat, 0, kAny, "", ""},
    {RuleOp::Substr, 2, 3, kFails, "flagd's engine then ignores the length too"},
    {RuleOp::Merge, 0, kAny, "", ""},
    {RuleOp::Set, 3, 3, "flagd's engine answers the first operand (null if none)", kEvaluatedIgnored},
    {RuleOp::Map, 2, 2, "flagd's engine answers []", kIgnored},
    {RuleOp::Filter, 2, 2, "flagd's engine answers []", kIgnored},
    {RuleOp::Reduce, 3, 3, "flagd's engine answers 0", kIgnored},
    {RuleOp::All, 2, 2, "flagd's engine fails with PARSE_ERROR unless the list is empty", kIgnored},
    {RuleOp::None, 2, 2, "flagd's engine fails with PARSE_ERROR unless the list is empty", kIgnored},
    {RuleOp::Some, 2, 2, "flagd's engine fails with PARSE_ERROR unless the list is empty", kIgnored},
    {RuleOp::ContainsAll, 2, 2, "flagd's engine answers false", "flagd's engine answers false"},
    {RuleOp::ContainsAny, 2, 2, "flagd's engine answers false", "flagd's engine answers false"},
    {RuleOp::ContainsNone, 2, 2, "flagd's engine answers true", "flagd's engine answers true"},
    {RuleOp::Fractional, 1, kAny, "flagd's engine answers null", ""},
    {RuleOp::SemVer, 3, 3, "flagd's engine answers null", "flagd's engine answers null"},
    {RuleOp::StartsWith, 2, 2, "flagd's engine answers null", "flagd's engine answers null"},
    {RuleOp::EndsWith, 2, 2, "flagd's engine answers null", "flagd's engine answers null"},
};

const OperatorSpec& spec_of(RuleOp op) {
  for (const auto& spec : kOperators)
    if (spec.op == op) return spec;
  return kOperators[0];  // every operator but var (compiled apart) has a row
}

// " (did you mean \"starts_with\"?)" for the operator nearest to a misspelt one, or nothing.
std::string nearest_operator(std::string_view name) {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> all;
    for (const auto& known : kOperatorNames) all.push_back(known.name);
    return all;
  }();
  return did_you_mean(name, names);
}

std::string operand_count(std::size_t n) { return std::to_string(n) + (n == 1 ? " operand" : " operands"); }

// A var path as flagd's Go engine reads it: split at '.', empty segments skipped, so "a..b" is
// "a.b", ".a" and "a." are "a", and "." is "" (the whole data).
std::string without_empty_segments(std::string_view path) {
  std::string kept;
  while (!path.empty()) {
    const std::size_t dot = std::min(path.find('.'), path.size());
    if (dot != 0) kept.append(kept.empty() ? "" : ".").append(path.substr(0, dot));
    path.remove_prefix(std::min(dot + 1, path.size()));
  }
  return kept;
}

// `value` as JSON text the way flagd's engine encodes it: keys sorted, a repeated key's last
// value kept (as Go's decoder keeps it), Go's escapes and number forms.
void append_go_json(std::string& out, const JsonValue& value) {
  switch (value.kind()) {
    case Kind::Null: out += "null"; return;
    case Kind::Bool: out += value.boolean() ? "true" : "false"; return;
    case Kind::Number: {
      char buf[go::kNumberTextBytes];
      out.append(buf, go::format_json(value.number(), buf));
      return;
    }
    case Kind::String:
      out += '"';
      go::escape_json(value.text(), [&](std::string_view piece) {
        out += piece;
        return true;
      });
      out += '"';
      return;
    case Kind::Array:
      out += '[';
      for (std::size_t i = 0; i < value.items().size(); ++i) {
        if (i != 0) out += ',';
        append_go_json(out, value.items()[i]);
      }
      out += ']';
      return;
    case Kind::Object: {
      std::vector<const JsonMember*> members;
      for (const auto& m : value.members()) {
        const auto same = std::find_if(members.begin(), members.end(), [&](const JsonMember* x) { return x->key == m.key; });
        if (same != members.end()) *same = &m;
        else members.push_back(&m);
      }
      std::sort(members.begin(), members.end(),
                [](const JsonMember* a, const JsonMember* b) { return go::key_before(a->key, b->key); });
      out += '{';
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i != 0) out += ',';
        out += '"';
        go::escape_json(members[i]->key, [&](std::string_view piece) {
          out += piece;
          return true;
        });
        out += "\":";
        append_go_json(out, members[i]->value);
      }
      out += '}';
      return;
    }
  }
}

// The number of distinct keys of an object: flagd's engine decodes it into a map first.
std::size_t distinct_keys(const JsonValue& object) {
  const auto members = object.members();
  std::size_t n = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    bool repeated = false;
    for (std::size_t j = i + 1; j < members.size() && !repeated; ++j) repeated = members[j].key == members[i].key;
    n += repeated ? 0 : 1;
  }
  return n;
}

// The value of an object's key as Go's decoder keeps it: its last.
const JsonMember& last_member(const JsonValue& object) { return object.members().back(); }

// The rule as a tree, before its nodes are laid out breadth-first. Nodes come from a pool kept
// per thread and link their children in a list, so that compiling allocates nothing per node.
struct Expr {
  struct Children {
    Expr* first = nullptr;
    Expr* last = nullptr;
    std::size_t count = 0;

    std::size_t size() const noexcept { return count; }
    bool empty() const noexcept { return count == 0; }
    void push_back(Expr* child) noexcept {
      child->next = nullptr;
      (last != nullptr ? last->next : first) = child;
      last = child;
      ++count;
    }
    void clear() noexcept { *this = Children{}; }
    Expr* operator[](std::size_t i) const noexcept {
      Expr* e = first;
      while (i-- > 0) e = e->next;
      return e;
    }
  };

  RuleDraftNode node;
  Children children;
  Expr* next = nullptr;  // the next child of the same parent
};

class ExprPool {
 public:
  Expr* make() {
    if (used_ == nodes_.size()) nodes_.emplace_back();
    Expr& e = nodes_[used_++];
    e.node = RuleDraftNode{};
    e.children.clear();
    e.next = nullptr;
    return &e;
  }
  void reset() noexcept { used_ = 0; }

 private:
  std::deque<Expr> nodes_;  // grows without moving a node
  std::size_t used_ = 0;
};

// A constant node (an array node is not one: its elements are evaluated).
bool is_constant(RuleOp op) { return op <= RuleOp::String || op == RuleOp::Object; }

// Whether an operation's value can be an array (which a single operand spreads into a list).
bool may_be_array(RuleOp op) {
  switch (op) {
    case RuleOp::Null: case RuleOp::Bool: case RuleOp::Number: case RuleOp::String: case RuleOp::Object:
    case RuleOp::FlagKey: case RuleOp::Timestamp: case RuleOp::FlagdObject:
    case RuleOp::Equal: case RuleOp::StrictEqual: case RuleOp::NotEqual: case RuleOp::StrictNotEqual:
    case RuleOp::Not: case RuleOp::NotNot: case RuleOp::Less: case RuleOp::LessEqual: case RuleOp::Greater:
    case RuleOp::GreaterEqual: case RuleOp::Max: case RuleOp::Min: case RuleOp::Add: case RuleOp::Subtract:
    case RuleOp::Multiply: case RuleOp::Divide: case RuleOp::Modulo: case RuleOp::Abs: case RuleOp::In:
    case RuleOp::Cat: case RuleOp::Substr: case RuleOp::Reduce: case RuleOp::All: case RuleOp::None:
    case RuleOp::Some: case RuleOp::ContainsAll: case RuleOp::ContainsAny: case RuleOp::ContainsNone:
    case RuleOp::Fractional: case RuleOp::SemVer: case RuleOp::StartsWith: case RuleOp::EndsWith:
    case RuleOp::AttrTest: case RuleOp::Invalid:
      return false;
    default:
      return true;
  }
}

// What flagd's engine does with an operator given one constant of kind `kind` rather than an
// array of operands, when that is surely not what was meant; empty when it takes it.
std::string_view single_constant(RuleOp op, Kind kind) {
  switch (op) {
    case RuleOp::Not: case RuleOp::NotNot: return {};
    case RuleOp::Missing: return kind == Kind::String ? std::string_view{} : kFails;
    case RuleOp::Cat: return kind == Kind::String ? std::string_view{} : kFails;
    case RuleOp::Merge: return kind == Kind::Null || kind == Kind::Object ? kFails : std::string_view{};
    case RuleOp::Add: case RuleOp::Abs:
      return kind == Kind::Number || kind == Kind::String ? std::string_view{} : kFails;
    case RuleOp::StrictEqual: return "flagd's engine answers false";
    case RuleOp::StrictNotEqual: return "flagd's engine answers true";
    case RuleOp::ContainsAll: case RuleOp::ContainsAny: return "flagd's engine answers false";
    case RuleOp::ContainsNone: return "flagd's engine answers true";
    case RuleOp::Fractional: case RuleOp::SemVer: case RuleOp::StartsWith: case RuleOp::EndsWith:
      return "flagd's engine answers null";
    default: return kFails;
  }
}

class Compiler {
 public:
  Compiler(const JsonValue* evaluators, const RuleReporter& report, ExprPool& pool)
      : evaluators_(evaluators), report_(report), pool_(pool) {}

  Expr* compile(const JsonValue& v, const JsonPath& path, std::size_t depth, bool in_evaluator) {
    if (depth > kMaxRuleDepth) {
      error(path, v.token(), "the rule nests deeper than " + std::to_string(kMaxRuleDepth) + " operators");
      return nullptr;
    }
    switch (v.kind()) {
      case Kind::Array: {
        // JsonLogic evaluates the elements of an array.
        Expr* e = array(v, path);
        if (e == nullptr) return nullptr;
        for (std::size_t i = 0; i < v.items().size(); ++i) {
          Expr* child = compile(v.items()[i], path.element(i), depth + 1, in_evaluator);
          if (child == nullptr) return nullptr;
          e->children.push_back(child);
        }
        return e;
      }
      case Kind::Object:
        // An object with one key is an operation; with any other number of keys, a literal.
        if (distinct_keys(v) == 1) return operation(last_member(v), path, depth, in_evaluator);
        return literal(v, path, depth);
      default:
        return literal(v, path, depth);
    }
  }

 private:
  void error(const JsonPath& path, std::uint32_t token, std::string message) {
    report_(Severity::Error, path, token, std::move(message));
  }
  void violation(const JsonPath& path, std::uint32_t token, std::string message) {
    report_(Severity::Violation, path, token, std::move(message));
  }

  // A node, counted against the rule's limit.
  Expr* make(RuleOp op, const JsonPath& path, std::uint32_t token) {
    if (++nodes_ > kMaxRuleNodes) {
      if (!size_reported_)
        error(path, token, "the rule has more than " + std::to_string(kMaxRuleNodes) + " nodes (after $ref expansion)");
      size_reported_ = true;
      return nullptr;
    }
    Expr* e = pool_.make();
    e->node.op = op;
    return e;
  }

  Expr* array(const JsonValue& v, const JsonPath& path) {
    if (v.items().size() > limits::kRuleValueScratch) {
      error(path, v.token(), "an array of " + std::to_string(v.items().size()) +
                                 " elements exceeds the rule evaluator's limit of " +
                                 std::to_string(limits::kRuleValueScratch));
      return nullptr;
    }
    return make(RuleOp::Array, path, v.token());
  }

  // A value as data, not as a rule: a constant, a literal object (any number of keys), or an
  // array of such, as a list that map, filter, ... iterate over is taken.
  Expr* literal(const JsonValue& v, const JsonPath& path, std::size_t depth) {
    switch (v.kind()) {
      case Kind::Null: return make(RuleOp::Null, path, v.token());
      case Kind::Bool: {
        Expr* e = make(RuleOp::Bool, path, v.token());
        if (e != nullptr) e->node.boolean = v.boolean();
        return e;
      }
      case Kind::Number: {
        Expr* e = make(RuleOp::Number, path, v.token());
        if (e != nullptr) e->node.number = v.number();
        return e;
      }
      case Kind::String: {
        if (v.text().size() > limits::kRuleTextScratch) {
          error(path, v.token(), "a string constant of " + std::to_string(v.text().size()) +
                                     " bytes exceeds the rule evaluator's limit of " +
                                     std::to_string(limits::kRuleTextScratch));
          return nullptr;
        }
        Expr* e = make(RuleOp::String, path, v.token());
        if (e != nullptr) e->node.text = v.text();
        return e;
      }
      case Kind::Array: {
        Expr* e = array(v, path);
        if (e == nullptr) return nullptr;
        for (std::size_t i = 0; i < v.items().size(); ++i) {
          Expr* child = literal(v.items()[i], path.element(i), depth + 1);
          if (child == nullptr) return nullptr;
          e->children.push_back(child);
        }
        return e;
      }
      case Kind::Object: {
        std::string text;
        append_go_json(text, v);
        if (text.size() > limits::kRuleTextScratch) {
          error(path, v.token(), "an object constant of " + std::to_string(text.size()) +
                                     " bytes of JSON exceeds the rule evaluator's limit of " +
                                     std::to_string(limits::kRuleTextScratch));
          return nullptr;
        }
        Expr* e = make(RuleOp::Object, path, v.token());
        if (e == nullptr) return nullptr;
        e->node.text = std::move(text);
        e->node.boolean = !v.members().empty();
        return e;
      }
    }
    return nullptr;
  }

  // A node flagd's engine fails on when evaluation reaches it. Inside map/filter/... bodies it
  // keeps its operand: the rewriting of a body reads every var in it, there too, before anything
  // fails (rule_eval.cpp).
  Expr* invalid(const JsonPath& path, std::uint32_t token) { return make(RuleOp::Invalid, path, token); }
  Expr* invalid(const JsonValue& operand, const JsonPath& path, std::uint32_t token, std::size_t depth, bool in_evaluator) {
    Expr* e = invalid(path, token);
    if (e == nullptr || iteration_bodies_ == 0) return e;
    Expr* kept = compile(operand, path, depth + 1, in_evaluator);
    if (kept == nullptr) return nullptr;
    e->children.push_back(kept);
    return e;
  }

  Expr* operation(const JsonMember& m, const JsonPath& path, std::size_t depth, bool in_evaluator) {
    const JsonPath op_path = path.member(m.key);
    if (m.key == "$ref") return reference(m, op_path, depth, in_evaluator);
    const OperatorName* known = find_operator_name(m.key);
    if (known == nullptr) {
      violation(op_path, m.key_token,
                "unknown operator " + quoted(m.key) + nearest_operator(m.key) +
                    ": flagd's engine fails the rule with PARSE_ERROR when evaluation reaches it");
      return invalid(m.value, op_path, m.key_token, depth, in_evaluator);
    }
    const OperatorSpec* spec = &spec_of(known->op);
    const bool listed = m.value.kind() == Kind::Array;
    if (known->form == OperandForm::Var) return variable(m.value, op_path, depth, in_evaluator);
    if (!listed && known->form == OperandForm::Raw) {
      violation(op_path, m.value.token(),
                quoted(m.key) + " takes an array of operands, not " + std::string(kind_name(m.value.kind())) + ": " +
                    std::string(kFails));
      // Inside map/filter/... bodies a var there may be rewritten into a list first (rule_eval.cpp),
      // which the operator then takes as written.
      const bool var = m.value.kind() == Kind::Object && distinct_keys(m.value) == 1 && last_member(m.value).key == "var";
      if (iteration_bodies_ == 0 || !var) return invalid(m.value, op_path, m.value.token(), depth, in_evaluator);
    }
    Expr* e = make(spec->op, op_path, m.key_token);
    if (e == nullptr) return nullptr;
    if (!listed) return single(*spec, m.key, e, m.value, op_path, depth, in_evaluator);
    const auto args = m.value.items();
    check_count(*spec, m.key, args.size(), op_path, m.value.token());
    const bool iterating = iterates(spec->op);
    for (std::size_t i = 0; i < args.size(); ++i) {
      const JsonPath arg_path = op_path.element(i);
      Expr* child = nullptr;
      if (iterating && i == 0 && args[0].kind() == Kind::Array) {
        // flagd's engine iterates a literal list as written: its elements are data, an
        // operation among them an object.
        child = literal(args[0], arg_path, depth + 1);
      } else {
        const bool body = iterating && i == 1;
        iteration_bodies_ += body ? 1 : 0;
        child = compile(args[i], arg_path, depth + 1, in_evaluator);
        iteration_bodies_ -= body ? 1 : 0;
      }
      if (child == nullptr) return nullptr;
      e->children.push_back(child);
    }
    if (iteration_bodies_ == 0) fuse_attribute_test(*e);
    return e;
  }

  void check_count(const OperatorSpec& spec, std::string_view name, std::size_t n, const JsonPath& path,
                   std::uint32_t token) {
    const bool fewer = n < spec.min_args, more = spec.max_args != kAny && n > spec.max_args;
    if (!fewer && !more) return;
    const std::string wanted = spec.min_args == spec.max_args ? std::to_string(spec.min_args)
                               : spec.max_args == kAny        ? "at least " + std::to_string(spec.min_args)
                                                              : std::to_string(spec.min_args) + " or " + std::to_string(spec.max_args);
    violation(path, token,
              quoted(name) + " takes " + wanted + (spec.min_args == 1 && spec.max_args == 1 ? " operand" : " operands") +
                  ", not " + std::to_string(n) + ": " + std::string(fewer ? spec.fewer : spec.more));
  }

  // {"op": value}: the operator receives the value's evaluation as its operand list.
  Expr* single(const OperatorSpec& spec, std::string_view name, Expr* e, const JsonValue& operand, const JsonPath& path,
               std::size_t depth, bool in_evaluator) {
    Expr* x = compile(operand, path, depth + 1, in_evaluator);
    if (x == nullptr) return nullptr;
    if (is_constant(x->node.op)) {
      const std::string_view outcome = single_constant(spec.op, operand.kind());
      if (!outcome.empty())
        violation(path, operand.token(),
                  quoted(name) + " takes an array of operands, not " + std::string(kind_name(operand.kind())) +
                      ": " + std::string(outcome));
    }
    // An operand that is never an array is taken as the one operand of an array: the same for `!`.
    if ((spec.op == RuleOp::Not || spec.op == RuleOp::NotNot) && !may_be_array(x->node.op)) {
      e->children.push_back(x);
      return e;
    }
    Expr* spread = make(RuleOp::Spread, path, operand.token());
    if (spread == nullptr) return nullptr;
    spread->children.push_back(x);
    e->children.push_back(spread);
    return e;
  }

  // The commonest rule test, a context attribute against string constants (attribute_test.hpp),
  // becomes one node (RuleOp::AttrTest). Only where `var` reads the context (not inside
  // map/filter/... bodies).
  static void fuse_attribute_test(Expr& e) {
    if (e.children.size() != 2) return;
    const auto shape = [](const Expr& x) {
      OperandShape s;
      s.plain_var = x.node.op == RuleOp::Var && x.children.empty() && !x.node.text.empty();  // "": the whole data
      s.string = x.node.op == RuleOp::String;
      s.string_list = x.node.op == RuleOp::Array;
      for (const Expr* item = x.children.first; s.string_list && item != nullptr; item = item->next)
        s.string_list = item->node.op == RuleOp::String;
      return s;
    };
    const int var = fusable_attribute(e.node.op, shape(*e.children[0]), shape(*e.children[1]));
    if (var < 0) return;
    e.node.fused = e.node.op;
    e.node.op = RuleOp::AttrTest;
    e.node.text = e.children[static_cast<std::size_t>(var)]->node.text;
    Expr* constant = e.children[static_cast<std::size_t>(1 - var)];
    e.children.clear();
    e.children.push_back(constant);
  }

  // `var`: a path known at load (a string or a number), with an optional default, becomes a Var
  // node keeping the path and its hash; a path known only at evaluation, a VarOf node.
  // $flagd.flagKey and $flagd.timestamp get nodes of their own.
  Expr* variable(const JsonValue& operand, const JsonPath& path, std::size_t depth, bool in_evaluator) {
    const auto computed = [&]() -> Expr* {
      Expr* e = make(RuleOp::VarOf, path, operand.token());
      if (e == nullptr) return nullptr;
      Expr* x = compile(operand, path, depth + 1, in_evaluator);
      if (x == nullptr) return nullptr;
      e->children.push_back(x);
      return e;
    };
    // A path flagd's engine cannot take: reported, and compiled as the engine reads it (it fails
    // when it reads it, which a body's rewriting does before the body runs).
    const auto bad_path = [&](const JsonValue& p, std::string_view what) {
      violation(path, p.token(),
                "a \"var\" path must be " + std::string(what) + ", not " + std::string(kind_name(p.kind())) + ": " +
                    std::string(kFails));
      return computed();
    };
    switch (operand.kind()) {
      case Kind::String:
        // Inside map/filter/... bodies, flagd's rewriting leaves {"var": ".x"} alone (it is the
        // element's); the written path decides that at evaluation, so it is kept as written.
        if (iteration_bodies_ > 0 && !operand.text().empty() && operand.text()[0] == '.') return computed();
        return static_path(operand.text(), nullptr, path, depth, in_evaluator, operand.token());
      case Kind::Number: {
        char buf[go::kNumberTextBytes];
        return static_path({buf, go::format_fixed(operand.number(), buf)}, nullptr, path, depth, in_evaluator,
                           operand.token());
      }
      case Kind::Null: return computed();  // the element itself inside map/filter/..., else null
      case Kind::Bool: return bad_path(operand, "a string, a number or [path, default]");
      case Kind::Object:  // an operation's value is the path (an unknown one fails when reached)
        if (distinct_keys(operand) == 1) return computed();
        return bad_path(operand, "a string, a number or [path, default]");
      case Kind::Array: break;
    }
    const auto items = operand.items();
    // flagd's rewriting of map/filter/... bodies reads every var but those written as "" or
    // ".x"; a path in the array form whose empty segments set it apart is kept as written.
    const bool set_apart = iteration_bodies_ > 0 && (items.empty() || (items[0].kind() == Kind::String &&
                                                                       (items[0].text().empty() || items[0].text()[0] == '.')));
    if (items.empty()) return set_apart ? computed() : static_path("", nullptr, path, depth, in_evaluator, operand.token());
    const JsonValue& p = items[0];
    const bool operation = p.kind() == Kind::Object && distinct_keys(p) == 1;
    if (p.kind() != Kind::String && !operation) return bad_path(p, "a string in var's array form");
    if (items.size() > 2)
      violation(path, operand.token(), "\"var\" takes a path and a default, not " + operand_count(items.size()) +
                                           ": such a var has no default (flagd's engine ignores the rest)");
    if (operation || set_apart || items.size() > 2) return computed();
    return static_path(p.text(), items.size() == 2 ? &items[1] : nullptr, path, depth, in_evaluator, p.token());
  }

  Expr* static_path(std::string_view written, const JsonValue* fallback, const JsonPath& path, std::size_t depth,
                    bool in_evaluator, std::uint32_t token) {
    const std::string name = without_empty_segments(written);
    Expr* fallback_expr = nullptr;
    if (fallback != nullptr) {
      fallback_expr = compile(*fallback, path.element(1), depth + 1, in_evaluator);
      if (fallback_expr == nullptr) return nullptr;
    }
    // flagd replaces the caller's "$flagd" with {"flagKey", "timestamp"}: resolved here, once, for
    // the context's data (inside map/filter/... bodies `var` reads the element instead). A
    // default that is an operation is evaluated first by flagd's engine (it may fail): such a
    // var stays a Var node, which reads $flagd at evaluation.
    const bool own = name == "$flagd" || name.rfind("$flagd.", 0) == 0;
    if (iteration_bodies_ == 0 && own && (fallback_expr == nullptr || is_constant(fallback_expr->node.op))) {
      if (name == "$flagd.flagKey") return make(RuleOp::FlagKey, path, token);
      if (name == "$flagd.timestamp") return make(RuleOp::Timestamp, path, token);
      if (name == "$flagd") return make(RuleOp::FlagdObject, path, token);
      return fallback_expr != nullptr ? fallback_expr : make(RuleOp::Null, path, token);
    }
    Expr* e = make(RuleOp::Var, path, token);
    if (e == nullptr) return nullptr;
    e->node.text = name;
    if (fallback_expr != nullptr) e->children.push_back(fallback_expr);
    return e;
  }

  // {"$ref": "name"} stands for $evaluators.name where flagd substitutes it (evaluator_reference.hpp).
  // What flagd leaves unexpanded is an unknown operator "$ref" to its engine, failing the rule
  // with PARSE_ERROR when evaluation reaches it.
  Expr* reference(const JsonMember& m, const JsonPath& path, std::size_t depth, bool in_evaluator) {
    EvaluatorReference target = resolve_reference(m.value, evaluators_, in_evaluator);
    if (target.evaluator == nullptr) {
      violation(path, m.value.token(),
                std::move(target.unexpanded) + "; evaluating this rule fails with PARSE_ERROR when it is reached, as in flagd");
      return invalid(m.value, path, m.value.token(), depth, in_evaluator);
    }
    return compile(*target.evaluator, evaluators_path_.member(m.value.text()), depth, true);
  }

  const JsonValue* evaluators_;
  const JsonPath document_;
  const JsonPath evaluators_path_ = document_.member("$evaluators");
  const RuleReporter& report_;
  ExprPool& pool_;
  std::size_t nodes_ = 0;
  std::size_t iteration_bodies_ = 0;  // map/filter/... bodies being compiled
  bool size_reported_ = false;
};

}  // namespace

bool compile_rule(const JsonValue& targeting, const JsonValue* evaluators, bool inside_evaluator, const JsonPath& path,
                  const RuleReporter& report, std::vector<RuleDraftNode>& out) {
  out.clear();
  thread_local ExprPool pool;
  thread_local std::vector<Expr*> order;
  pool.reset();
  Compiler compiler(evaluators, report, pool);
  Expr* root = compiler.compile(targeting, path, 0, inside_evaluator);
  if (root == nullptr) return false;
  // Breadth-first: each node's children take consecutive places.
  order.clear();
  order.push_back(root);
  for (std::size_t i = 0; i < order.size(); ++i)
    for (Expr* c = order[i]->children.first; c != nullptr; c = c->next) order.push_back(c);
  out.reserve(order.size());
  std::uint32_t next_child = 1;
  for (Expr* e : order) {
    RuleDraftNode node = std::move(e->node);
    node.argc = static_cast<std::uint16_t>(e->children.size());
    node.first = node.argc != 0 ? next_child : 0;
    next_child += node.argc;
    out.push_back(std::move(node));
  }
  return true;
}

}  // namespace flagd
