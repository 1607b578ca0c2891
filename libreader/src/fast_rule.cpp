#include "fast_rule.hpp"

#include <bit>

#include "flagd/murmur3.hpp"
#include "semver.hpp"

namespace flagd::detail {

using layout::RuleNode;
using layout::RuleOp;
using Kind = FastDecision::Kind;

namespace {

enum class Truth : std::uint8_t { False, True, Undecided };

Truth truth(bool b) noexcept { return b ? Truth::True : Truth::False; }

constexpr FastDecision kUndecided{};
constexpr FastDecision kNull{Kind::Null, 0};

// Longest sem_ver constant read without the general path (longer ones are legal, just rare).
constexpr std::size_t kVersionBuffer = 64;

class FastRule {
 public:
  FastRule(const SlotView& slot, const RuleNodes& nodes, const Context* context, layout::StringRef flag_key) noexcept
      : slot_(slot), nodes_(nodes), context_(context), flag_key_(flag_key) {}

  // The rule's answer from node `index`, whose value is the rule's result.
  FastDecision result(std::uint32_t index, std::uint32_t depth) noexcept {
    RuleNode n;
    if (depth > limits::kRuleEvalDepth || !nodes_.read(index, n)) return kUndecided;
    switch (n.op) {
      case RuleOp::String:  // a variant name known at load; any other string is the interpreter's
        return n.b != 0 ? FastDecision{Kind::Variant, static_cast<std::uint16_t>(n.b - 1)} : kUndecided;
      case RuleOp::Null: return kNull;
      case RuleOp::If: return if_chain(n, depth);
      case RuleOp::Fractional: return fractional(n);
      default: return kUndecided;
    }
  }

 private:
  FastDecision if_chain(const RuleNode& n, std::uint32_t depth) noexcept {
    std::uint32_t i = 0;
    for (; i + 1 < n.argc; i += 2) {
      switch (test(n.first + i, depth + 1)) {
        case Truth::True: return result(n.first + i + 1, depth + 1);
        case Truth::False: continue;
        case Truth::Undecided: return kUndecided;
      }
    }
    return i < n.argc ? result(n.first + i, depth + 1) : kNull;
  }

  // The truthiness of a condition node.
  Truth test(std::uint32_t index, std::uint32_t depth) noexcept {
    RuleNode n;
    if (depth > limits::kRuleEvalDepth || !nodes_.read(index, n)) return Truth::Undecided;
    switch (n.op) {
      case RuleOp::Bool: return truth(n.a != 0);
      case RuleOp::Null: return Truth::False;
      case RuleOp::And:
      case RuleOp::Or: {
        // `and` gives its first falsy operand or its last, `or` its first truthy one or its
        // last: the truthiness of either is the boolean and/or of the operands'.
        const bool is_and = n.op == RuleOp::And;
        if (n.argc == 0) return Truth::False;  // null
        for (std::uint32_t i = 0; i < n.argc; ++i) {
          const Truth t = test(n.first + i, depth + 1);
          if (t == Truth::Undecided || (t == Truth::True) != is_and) return t;
        }
        return truth(is_and);
      }
      case RuleOp::Not:
      case RuleOp::NotNot: {
        // Only conditions are taken as the operand: `!` of an array looks at its first element.
        const Truth t = n.argc == 0 ? Truth::False : test(n.first, depth + 1);
        if (t == Truth::Undecided) return t;
        return truth((t == Truth::True) == (n.op == RuleOp::NotNot));
      }
      case RuleOp::AttrTest: return attribute_test(n);
      case RuleOp::SemVer: return sem_ver(n);
      case RuleOp::Less:
      case RuleOp::LessEqual:
      case RuleOp::Greater:
      case RuleOp::GreaterEqual: return numeric_compare(n);
      default: return Truth::Undecided;
    }
  }

  // The attribute a plain `var` (or fused test) reads, or nullptr when it is certainly absent.
  // `absent` is false when the path may still name a list element: the interpreter resolves that.
  const Context::Attribute* attribute(const RuleNode& n, bool& certain) const noexcept {
    const Context::Attribute* a = find_attribute(slot_, context_, n.a, static_cast<std::uint32_t>(n.b));
    certain = a != nullptr || (n.flags & layout::kPathMayNameListElement) == 0;
    return a;
  }

  Truth attribute_test(const RuleNode& n) noexcept {
    RuleNode constant;
    if (n.argc != 1 || !nodes_.read(n.first, constant)) return Truth::Undecided;
    const RuleOp op = fused_operator(n);
    bool certain;
    const Context::Attribute* a = attribute(n, certain);
    if (!certain) return Truth::Undecided;
    if (a == nullptr) {
      // null against string constants: only the inequalities hold (a null haystack entry or
      // affix is never involved: the constants are strings).
      if (constant.op != RuleOp::String && !(op == RuleOp::In && constant.op == RuleOp::Array))
        return Truth::Undecided;
      return truth(op == RuleOp::NotEqual || op == RuleOp::StrictNotEqual);
    }
    if (a->type != Context::Type::String) return Truth::Undecided;
    switch (string_attribute_test(slot_, nodes_, op, constant, a->text)) {
      case StringTest::False: return Truth::False;
      case StringTest::True: return Truth::True;
      default: return Truth::Undecided;
    }
  }

  // sem_ver over a string attribute and two string constants (operator, version).
  Truth sem_ver(const RuleNode& n) noexcept {
    RuleNode value, op, version;
    if (n.argc != 3 || !nodes_.read(n.first, value) || !nodes_.read(n.first + 1, op) ||
        !nodes_.read(n.first + 2, version) || value.op != RuleOp::Var || value.argc != 0 ||
        op.op != RuleOp::String || version.op != RuleOp::String)
      return Truth::Undecided;
    bool certain;
    const Context::Attribute* a = attribute(value, certain);
    if (a == nullptr) return certain ? Truth::False : Truth::Undecided;  // null: sem_ver gives null
    if (a->type != Context::Type::String) return Truth::Undecided;
    const layout::StringRef version_ref = layout::unpack_string_ref(version.a);
    const layout::StringRef op_ref = layout::unpack_string_ref(op.a);
    if (version_ref.length > kVersionBuffer || !slot_.holds_words(version_ref.offset, layout::round_up8(version_ref.length)) ||
        !slot_.holds_words(op_ref.offset, 8))
      return Truth::Undecided;
    char text[kVersionBuffer];
    shared::copy_out_bytes(text, slot_.image + version_ref.offset, version_ref.length);
    SemVer left, right;
    if (!parse_semver(a->text, left) || !parse_semver({text, version_ref.length}, right)) return Truth::False;
    // The operator's bytes, zero-padded in the image: one word decides it.
    const std::uint64_t o = op_ref.length <= 2 ? slot_.load<std::uint64_t>(op_ref.offset) : 0;
    const int c = compare_semver(left, right);
    switch (o) {
      case '=': return truth(c == 0);
      case '!' | '=' << 8: return truth(c != 0);
      case '<': return truth(c < 0);
      case '<' | '=' << 8: return truth(c <= 0);
      case '>': return truth(c > 0);
      case '>' | '=' << 8: return truth(c >= 0);
      case '^': return truth(left.major == right.major);
      case '~': return truth(left.major == right.major && left.minor == right.minor);
      default: return Truth::False;  // no such operator: null
    }
  }

  // <, <=, >, >= of a number attribute and a number constant, either way round.
  Truth numeric_compare(const RuleNode& n) noexcept {
    RuleNode x, y;
    if (n.argc != 2 || !nodes_.read(n.first, x) || !nodes_.read(n.first + 1, y)) return Truth::Undecided;
    const bool var_first = x.op == RuleOp::Var && x.argc == 0 && y.op == RuleOp::Number;
    const bool var_second = y.op == RuleOp::Var && y.argc == 0 && x.op == RuleOp::Number;
    if (!var_first && !var_second) return Truth::Undecided;
    bool certain;
    const Context::Attribute* a = attribute(var_first ? x : y, certain);
    if (a == nullptr || a->type != Context::Type::Number) return Truth::Undecided;
    const double constant = std::bit_cast<double>(var_first ? y.a : x.a);
    const double l = var_first ? a->number : constant, r = var_first ? constant : a->number;
    switch (n.op) {  // NaN compares false everywhere, as in the interpreter
      case RuleOp::Less: return truth(l < r);
      case RuleOp::LessEqual: return truth(l < r || l == r);
      case RuleOp::Greater: return truth(r < l);
      default: return truth(r < l || l == r);
    }
  }

  // fractional with constant buckets on the targeting key (flag key + targeting key).
  FastDecision fractional(const RuleNode& n) noexcept {
    std::uint64_t total;
    bool valid;
    if (n.argc == 0) return kNull;
    if (!constant_buckets(nodes_, n, total, valid)) return kUndecided;
    if (!valid || total == 0 || total > kMaxFractionalTotal) return kNull;
    const std::string_view tk = targeting_key(context_);
    if (tk.empty()) return kNull;
    if (flag_key_.length > limits::kMaxFlagKeyBytes ||
        !slot_.holds_words(flag_key_.offset, layout::round_up8(flag_key_.length)))
      return kUndecided;
    char key[limits::kMaxFlagKeyBytes];
    shared::copy_out_bytes(key, slot_.image + flag_key_.offset, flag_key_.length);
    const std::uint64_t point = (std::uint64_t{murmur3_x86_32({key, flag_key_.length}, tk)} * total) >> 32;
    RuleNode variant;
    if (!constant_bucket_at(nodes_, n, point, variant)) return kNull;
    if (variant.op == RuleOp::Null) return kNull;
    if (variant.op == RuleOp::String && variant.b != 0)
      return FastDecision{Kind::Variant, static_cast<std::uint16_t>(variant.b - 1)};
    return kUndecided;  // a bucket named by a number, a boolean or no variant
  }

  const SlotView& slot_;
  const RuleNodes& nodes_;
  const Context* context_;
  layout::StringRef flag_key_;
};

}  // namespace

FastDecision decide_fast(const SlotView& slot, const RuleNodes& nodes, const Context* context,
                         layout::StringRef flag_key) noexcept {
  return FastRule(slot, nodes, context, flag_key).result(0, 0);
}

}  // namespace flagd::detail
