#include "rule_compiler.hpp"

#include "flagd/limits.hpp"

#include <algorithm>
#include <deque>
#include <span>

namespace flagd {

namespace {

using layout::RuleOp;
using Kind = JsonValue::Kind;
using Severity = Diagnostic::Severity;

struct OperatorSpec {
  std::string_view name;
  RuleOp op;
  std::size_t min_args;
  std::size_t max_args;  // SIZE_MAX: any
};

constexpr std::size_t kAny = static_cast<std::size_t>(-1);

// The operators flagd evaluates (JsonLogic's set and flagd's own), with the operand counts
// accepted at load. Counts JsonLogic tolerates (extra operands ignored) stay tolerated.
constexpr OperatorSpec kOperators[] = {
    {"var", RuleOp::Var, 0, 2},
    {"missing", RuleOp::Missing, 0, kAny},
    {"missing_some", RuleOp::MissingSome, 2, 2},
    {"if", RuleOp::If, 0, kAny},
    {"?:", RuleOp::If, 0, kAny},
    {"==", RuleOp::Equal, 0, kAny},
    {"===", RuleOp::StrictEqual, 0, kAny},
    {"!=", RuleOp::NotEqual, 0, kAny},
    {"!==", RuleOp::StrictNotEqual, 0, kAny},
    {"!", RuleOp::Not, 0, kAny},
    {"!!", RuleOp::NotNot, 0, kAny},
    {"or", RuleOp::Or, 0, kAny},
    {"and", RuleOp::And, 0, kAny},
    {"<", RuleOp::Less, 0, kAny},
    {"<=", RuleOp::LessEqual, 0, kAny},
    {">", RuleOp::Greater, 0, kAny},
    {">=", RuleOp::GreaterEqual, 0, kAny},
    {"max", RuleOp::Max, 0, kAny},
    {"min", RuleOp::Min, 0, kAny},
    {"+", RuleOp::Add, 0, kAny},
    {"-", RuleOp::Subtract, 0, kAny},
    {"*", RuleOp::Multiply, 0, kAny},
    {"/", RuleOp::Divide, 0, kAny},
    {"%", RuleOp::Modulo, 0, kAny},
    {"in", RuleOp::In, 0, kAny},
    {"cat", RuleOp::Cat, 0, kAny},
    {"substr", RuleOp::Substr, 0, kAny},
    {"merge", RuleOp::Merge, 0, kAny},
    {"map", RuleOp::Map, 2, 2},
    {"filter", RuleOp::Filter, 2, 2},
    {"reduce", RuleOp::Reduce, 2, 3},
    {"all", RuleOp::All, 2, 2},
    {"none", RuleOp::None, 2, 2},
    {"some", RuleOp::Some, 2, 2},
    {"fractional", RuleOp::Fractional, 0, kAny},
    {"sem_ver", RuleOp::SemVer, 0, kAny},
    {"starts_with", RuleOp::StartsWith, 0, kAny},
    {"ends_with", RuleOp::EndsWith, 0, kAny},
};

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

const OperatorSpec* find_operator(std::string_view name) {
  for (const auto& spec : kOperators)
    if (spec.name == name) return &spec;
  return nullptr;
}

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

class Compiler {
 public:
  Compiler(const JsonValue* evaluators, const RuleReporter& report, ExprPool& pool)
      : evaluators_(evaluators), report_(report), pool_(pool) {}

  Expr* compile(const JsonValue& v, const JsonPath& path, std::size_t depth,
                                bool in_evaluator) {
    if (++nodes_ > kMaxRuleNodes) {
      if (!size_reported_)
        error(path, v.token(), "the rule has more than " + std::to_string(kMaxRuleNodes) +
                                  " nodes (after $ref expansion)");
      size_reported_ = true;
      return nullptr;
    }
    if (depth > kMaxRuleDepth) {
      error(path, v.token(), "the rule nests deeper than " + std::to_string(kMaxRuleDepth) + " operators");
      return nullptr;
    }
    Expr* e = pool_.make();
    switch (v.kind()) {
      case Kind::Null: e->node.op = RuleOp::Null; return e;
      case Kind::Bool: e->node.op = RuleOp::Bool; e->node.boolean = v.boolean(); return e;
      case Kind::Number: e->node.op = RuleOp::Number; e->node.number = v.number(); return e;
      case Kind::String:
        if (v.text().size() > limits::kRuleTextScratch) {
          error(path, v.token(), "a string constant of " + std::to_string(v.text().size()) +
                                    " bytes exceeds the rule evaluator's limit of " +
                                    std::to_string(limits::kRuleTextScratch));
          return nullptr;
        }
        e->node.op = RuleOp::String;
        e->node.text = v.text();
        return e;
      case Kind::Array:
        // JsonLogic evaluates the elements of an array.
        if (v.items().size() > limits::kRuleValueScratch) {
          error(path, v.token(), "an array of " + std::to_string(v.items().size()) +
                                    " elements exceeds the rule evaluator's limit of " +
                                    std::to_string(limits::kRuleValueScratch));
          return nullptr;
        }
        e->node.op = RuleOp::Array;
        for (std::size_t i = 0; i < v.items().size(); ++i) {
          Expr* child = compile(v.items()[i], path.element(i), depth + 1, in_evaluator);
          if (child == nullptr) return nullptr;
          e->children.push_back(child);
        }
        return e;
      case Kind::Object:
        break;
    }
    // An object with one key is an operation; with any other number of keys, a literal.
    if (v.members().size() != 1) {
      e->node.op = RuleOp::Object;
      e->node.text = to_json(v);
      e->node.boolean = !v.members().empty();
      return e;
    }
    const JsonMember& m = v.members()[0];
    const JsonPath op_path = path.member(m.key);
    if (m.key == "$ref") return reference(m, op_path, depth, in_evaluator);
    const OperatorSpec* spec = find_operator(m.key);
    if (spec == nullptr) {
      error(op_path, m.key_token, "unsupported operator \"" + std::string(m.key) + "\"");
      return nullptr;
    }
    e->node.op = spec->op;
    if (spec->op == RuleOp::If && m.value.kind() != Kind::Array) {
      // flagd's engine takes if's operand as an array unchecked: anything else fails the rule
      // when evaluation reaches it (a lazy branch may never do).
      report_(Severity::Warning, op_path, m.value.token(),
              "\"" + std::string(m.key) + "\" needs an array of operands; evaluating it fails with PARSE_ERROR, as in flagd");
      e->node.op = RuleOp::Invalid;
      return e;
    }
    // Operands: an array's elements, or a single non-array value.
    const std::span<const JsonValue> args =
        m.value.kind() == Kind::Array ? m.value.items() : std::span<const JsonValue>(&m.value, 1);
    if (args.size() < spec->min_args || (spec->max_args != kAny && args.size() > spec->max_args)) {
      error(op_path, m.value.token(),
            "\"" + std::string(m.key) + "\" takes " +
                (spec->min_args == spec->max_args ? std::to_string(spec->min_args)
                                                  : std::to_string(spec->min_args) + " to " + std::to_string(spec->max_args)) +
                " operands, not " + std::to_string(args.size()));
      return nullptr;
    }
    if (spec->op == RuleOp::Var) return variable(e, args, op_path, depth, in_evaluator);
    const bool iterates = spec->op == RuleOp::Map || spec->op == RuleOp::Filter || spec->op == RuleOp::Reduce ||
                          spec->op == RuleOp::All || spec->op == RuleOp::None || spec->op == RuleOp::Some;
    for (std::size_t i = 0; i < args.size(); ++i) {
      const bool body = iterates && i == 1;
      iteration_bodies_ += body ? 1 : 0;
      Expr* child = compile(args[i], m.value.kind() == Kind::Array ? op_path.element(i) : op_path, depth + 1,
                            in_evaluator);
      iteration_bodies_ -= body ? 1 : 0;
      if (child == nullptr) return nullptr;
      e->children.push_back(child);
    }
    if (iteration_bodies_ == 0) fuse_attribute_test(*e);
    return e;
  }

 private:
  void error(const JsonPath& path, std::uint32_t token, std::string message) {
    report_(Severity::Error, path, token, std::move(message));
  }

  // The commonest rule test, a context attribute against string constants, becomes one node
  // (RuleOp::AttrTest). Only where `var` reads the context (not inside map/filter/... bodies).
  static void fuse_attribute_test(Expr& e) {
    if (e.children.size() != 2) return;
    const auto is_var = [](const Expr& x) { return x.node.op == RuleOp::Var && x.children.empty(); };
    const auto is_string = [](const Expr& x) { return x.node.op == RuleOp::String; };
    std::size_t var = 2;
    switch (e.node.op) {
      case RuleOp::Equal:
      case RuleOp::NotEqual:
      case RuleOp::StrictEqual:
      case RuleOp::StrictNotEqual:  // symmetric: the attribute may come second
        if (is_var(*e.children[0]) && is_string(*e.children[1])) var = 0;
        else if (is_string(*e.children[0]) && is_var(*e.children[1])) var = 1;
        break;
      case RuleOp::StartsWith:
      case RuleOp::EndsWith:
        if (is_var(*e.children[0]) && is_string(*e.children[1])) var = 0;
        break;
      case RuleOp::In:
        if (is_var(*e.children[0]) && e.children[1]->node.op == RuleOp::Array) {
          bool strings = true;
          for (const Expr* item = e.children[1]->children.first; item != nullptr; item = item->next)
            strings = strings && is_string(*item);
          if (strings) var = 0;
        }
        break;
      default:
        break;
    }
    if (var == 2) return;
    e.node.fused = e.node.op;
    e.node.op = RuleOp::AttrTest;
    e.node.text = e.children[var]->node.text;
    Expr* constant = e.children[1 - var];
    e.children.clear();
    e.children.push_back(constant);
  }

  // {"var": path} or {"var": [path, default]}: the path must be known at load (a string or a
  // number); it is kept with its hash. $flagd.flagKey and $flagd.timestamp get their own nodes.
  Expr* variable(Expr* e, std::span<const JsonValue> args, const JsonPath& path, std::size_t depth,
                 bool in_evaluator) {
    std::string name;
    if (!args.empty()) {
      const JsonValue& p = args[0];
      if (p.kind() == Kind::String) {
        name = without_empty_segments(p.text());
      } else if (p.kind() == Kind::Number && p.number() >= 0 &&
                 p.number() == static_cast<double>(static_cast<std::int64_t>(p.number()))) {
        name = std::to_string(static_cast<std::int64_t>(p.number()));
      } else if (p.kind() != Kind::Null) {
        error(path, p.token(), "a \"var\" path must be a string or a whole number known when the file loads");
        return nullptr;
      }
    }
    // flagd replaces the caller's "$flagd" with {"flagKey", "timestamp"}: resolved here, once, for
    // the context's data (inside map/filter/... bodies `var` reads the element instead).
    if (iteration_bodies_ == 0 && (name == "$flagd" || name.rfind("$flagd.", 0) == 0)) {
      if (name == "$flagd.flagKey") {
        e->node.op = RuleOp::FlagKey;
      } else if (name == "$flagd.timestamp") {
        e->node.op = RuleOp::Timestamp;
      } else if (name == "$flagd") {
        e->node.op = RuleOp::Object;
        e->node.text = "{}";
        e->node.boolean = true;
      } else if (args.size() == 2) {
        return compile(args[1], path.element(1), depth + 1, in_evaluator);
      } else {
        e->node.op = RuleOp::Null;
      }
      return e;
    }
    e->node.text = name;
    if (args.size() == 2) {
      Expr* fallback = compile(args[1], path.element(1), depth + 1, in_evaluator);
      if (fallback == nullptr) return nullptr;
      e->children.push_back(fallback);
    }
    return e;
  }

  // {"$ref": "name"} stands for $evaluators.name, as flagd substitutes it before parsing. A
  // reference to an evaluator that does not exist loads with a warning and fails at evaluation
  // with PARSE_ERROR, as in flagd; flagd does not expand a $ref inside an evaluator either.
  Expr* reference(const JsonMember& m, const JsonPath& path, std::size_t depth,
                                  bool in_evaluator) {
    if (m.value.kind() != Kind::String) {
      error(path, m.value.token(), "\"$ref\" must name an evaluator (a string)");
      return nullptr;
    }
    const JsonValue* target =
        evaluators_ != nullptr && evaluators_->kind() == Kind::Object ? evaluators_->find(m.value.text()) : nullptr;
    Expr* e = pool_.make();
    e->node.op = RuleOp::Invalid;
    if (in_evaluator) {
      report_(Severity::Warning, path, m.value.token(),
              "\"$ref\" inside an evaluator is not expanded (flagd does not either); evaluating this "
              "rule fails with PARSE_ERROR");
      return e;
    }
    if (target == nullptr) {
      report_(Severity::Warning, path, m.value.token(),
              "\"$ref\" names \"" + std::string(m.value.text()) +
                  "\", which is not in $evaluators; evaluating this rule fails with PARSE_ERROR");
      return e;
    }
    const JsonPath evaluator = evaluators_path_.member(m.value.text());
    return compile(*target, evaluator, depth, true);
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

bool compile_rule(const JsonValue& targeting, const JsonValue* evaluators, const JsonPath& path,
                  const RuleReporter& report, std::vector<RuleDraftNode>& out) {
  out.clear();
  thread_local ExprPool pool;
  thread_local std::vector<Expr*> order;
  pool.reset();
  Compiler compiler(evaluators, report, pool);
  Expr* root = compiler.compile(targeting, path, 0, false);
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
