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
    if (depth > limits::kRuleEvalDepth || index >= nodes_.count()) return kUndecided;
    const std::uint64_t w0 = nodes_.word(index, 0);
    switch (node_op(w0)) {
      case RuleOp::String: {  // a variant name known at load; any other string is the interpreter's
        const std::uint64_t hint = nodes_.word(index, 2);
        return hint != 0 ? FastDecision{Kind::Variant, static_cast<std::uint16_t>(hint - 1)} : kUndecided;
      }
      case RuleOp::Null: return kNull;
      case RuleOp::If: return if_chain(w0, depth);
      case RuleOp::Fractional: return fractional(index);
      default: return kUndecided;
    }
  }

 private:
  // The operands of the node with word 0 `w0` are all nodes of the rule (torn bytes may say not).
  bool operands_in_range(std::uint64_t w0) const noexcept {
    return node_first(w0) < nodes_.count() && node_argc(w0) <= nodes_.count() - node_first(w0);
  }

  FastDecision if_chain(std::uint64_t w0, std::uint32_t depth) noexcept {
    const std::uint32_t first = node_first(w0), argc = node_argc(w0);
    std::uint32_t i = 0;
    for (; i + 1 < argc; i += 2) {
      switch (test(first + i, depth + 1)) {
        case Truth::True: return result(first + i + 1, depth + 1);
        case Truth::False: continue;
        case Truth::Undecided: return kUndecided;
      }
    }
    return i < argc ? result(first + i, depth + 1) : kNull;
  }

  // The truthiness of a condition node.
  Truth test(std::uint32_t index, std::uint32_t depth) noexcept {
    if (depth > limits::kRuleEvalDepth || index >= nodes_.count()) return Truth::Undecided;
    const std::uint64_t w0 = nodes_.word(index, 0);
    const std::uint32_t first = node_first(w0), argc = node_argc(w0);
    switch (node_op(w0)) {
      case RuleOp::AttrTest: return attribute_test(index, w0);
      case RuleOp::Bool: return truth(nodes_.word(index, 1) != 0);
      case RuleOp::Null: return Truth::False;
      case RuleOp::And:
      case RuleOp::Or: {
        // `and` gives its first falsy operand or its last, `or` its first truthy one or its
        // last: the truthiness of either is the boolean and/or of the operands'.
        const bool is_and = node_op(w0) == RuleOp::And;
        if (argc == 0) return Truth::False;  // null
        for (std::uint32_t i = 0; i < argc; ++i) {
          const Truth t = test(first + i, depth + 1);
          if (t == Truth::Undecided || (t == Truth::True) != is_and) return t;
        }
        return truth(is_and);
      }
      case RuleOp::Not:
      case RuleOp::NotNot: {
        // Only conditions are taken as the operand: `!` of an array looks at its first element.
        const Truth t = argc == 0 ? Truth::False : test(first, depth + 1);
        if (t == Truth::Undecided) return t;
        return truth((t == Truth::True) == (node_op(w0) == RuleOp::NotNot));
      }
      case RuleOp::SemVer: return sem_ver(w0);
      case RuleOp::Less:
      case RuleOp::LessEqual:
      case RuleOp::Greater:
      case RuleOp::GreaterEqual: return numeric_compare(w0);
      default: return Truth::Undecided;
    }
  }

  // The attribute a plain `var` (or fused test) at node `index` reads; nullptr if absent.
  // `certain` is false when an absent path may still name a list element, which only the
  // interpreter resolves.
  const Context::Attribute* attribute(std::uint32_t index, std::uint64_t w0, bool& certain) const noexcept {
    const Context::Attribute* a = find_attribute(slot_, context_, nodes_.word(index, 1),
                                                 static_cast<std::uint32_t>(nodes_.word(index, 2)));
    certain = a != nullptr || (node_flags(w0) & layout::kPathMayNameListElement) == 0;
    return a;
  }

  Truth attribute_test(std::uint32_t index, std::uint64_t w0) noexcept {
    RuleNode constant;
    if (node_argc(w0) != 1 || !nodes_.read(node_first(w0), constant)) return Truth::Undecided;
    const RuleOp op = static_cast<RuleOp>((nodes_.word(index, 2) >> 32) & 0xFF);
    bool certain;
    const Context::Attribute* a = attribute(index, w0, certain);
    if (a == nullptr) {
      if (!certain) return Truth::Undecided;
      // null against string constants: only the inequalities hold (a null haystack entry or
      // affix is never involved: the constants are strings).
      if (constant.op != RuleOp::String && !(op == RuleOp::In && constant.op == RuleOp::Array))
        return Truth::Undecided;
      return truth(op == RuleOp::NotEqual || op == RuleOp::StrictNotEqual);
    }
    if (a->type != Context::Type::String) return Truth::Undecided;
    switch (string_attribute_test(slot_, nodes_, op, constant, *a)) {
      case StringTest::False: return Truth::False;
      case StringTest::True: return Truth::True;
      default: return Truth::Undecided;
    }
  }

  // sem_ver over a string attribute and two string constants (operator, version).
  Truth sem_ver(std::uint64_t w0) noexcept {
    const std::uint32_t first = node_first(w0);
    if (node_argc(w0) != 3 || !operands_in_range(w0)) return Truth::Undecided;
    const std::uint64_t value = nodes_.word(first, 0), op = nodes_.word(first + 1, 0),
                        version = nodes_.word(first + 2, 0);
    if (node_op(value) != RuleOp::Var || node_argc(value) != 0 || node_op(op) != RuleOp::String ||
        node_op(version) != RuleOp::String)
      return Truth::Undecided;
    bool certain;
    const Context::Attribute* a = attribute(first, value, certain);
    if (a == nullptr) return certain ? Truth::False : Truth::Undecided;  // null: sem_ver gives null
    if (a->type != Context::Type::String) return Truth::Undecided;
    const layout::StringRef version_ref = layout::unpack_string_ref(nodes_.word(first + 2, 1));
    const layout::StringRef op_ref = layout::unpack_string_ref(nodes_.word(first + 1, 1));
    if (version_ref.length > kVersionBuffer ||
        !slot_.holds_words(version_ref.offset, layout::round_up8(version_ref.length)) ||
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
  Truth numeric_compare(std::uint64_t w0) noexcept {
    const std::uint32_t first = node_first(w0);
    if (node_argc(w0) != 2 || !operands_in_range(w0)) return Truth::Undecided;
    const std::uint64_t x = nodes_.word(first, 0), y = nodes_.word(first + 1, 0);
    const bool var_first = node_op(x) == RuleOp::Var && node_argc(x) == 0 && node_op(y) == RuleOp::Number;
    const bool var_second = node_op(y) == RuleOp::Var && node_argc(y) == 0 && node_op(x) == RuleOp::Number;
    if (!var_first && !var_second) return Truth::Undecided;
    bool certain;
    const Context::Attribute* a = var_first ? attribute(first, x, certain) : attribute(first + 1, y, certain);
    if (a == nullptr || a->type != Context::Type::Number) return Truth::Undecided;
    const double constant = std::bit_cast<double>(nodes_.word(var_first ? first + 1 : first, 1));
    const double l = var_first ? a->number : constant, r = var_first ? constant : a->number;
    switch (node_op(w0)) {  // NaN compares false everywhere, as in the interpreter
      case RuleOp::Less: return truth(l < r);
      case RuleOp::LessEqual: return truth(l < r || l == r);
      case RuleOp::Greater: return truth(r < l);
      default: return truth(r < l || l == r);
    }
  }

  // fractional with constant buckets on the targeting key (flag key + targeting key).
  FastDecision fractional(std::uint32_t index) noexcept {
    RuleNode n;
    if (!nodes_.read(index, n)) return kUndecided;
    std::uint64_t total;
    bool valid;
    if (n.argc == 0) return kNull;
    if (!constant_buckets(nodes_, n.first, n.argc, total, valid)) return kUndecided;
    if (!valid || total == 0 || total > kMaxFractionalTotal) return kNull;
    const std::string_view tk = targeting_key(context_);
    if (tk.empty()) return kNull;
    // The flag key's part of the hash was done at load.
    if ((n.flags & layout::kFlagKeyHashed) == 0 || n.b != flag_key_.length) return kUndecided;
    const Murmur3Prefix prefix{static_cast<std::uint32_t>(n.a), static_cast<std::uint32_t>(n.a >> 32) & 0xFFFFFF,
                               static_cast<std::uint32_t>(n.a >> 56) & 3, flag_key_.length};
    const std::uint64_t point = (std::uint64_t{murmur3_finish(prefix, tk)} * total) >> 32;
    std::uint32_t variant;
    if (!constant_bucket_at(nodes_, n.first, n.argc, point, variant)) return kNull;
    const RuleOp op = node_op(nodes_.word(variant, 0));
    if (op == RuleOp::Null) return kNull;
    const std::uint64_t hint = nodes_.word(variant, 2);
    if (op == RuleOp::String && hint != 0) return FastDecision{Kind::Variant, static_cast<std::uint16_t>(hint - 1)};
    return kUndecided;  // a bucket named by a number, a boolean or no variant
  }

  // Copies, not references: the shared-memory loads are atomic, and the compiler reloads
  // anything reached through a pointer after each of them.
  const SlotView slot_;
  const RuleNodes nodes_;
  const Context* context_;
  const layout::StringRef flag_key_;
};

}  // namespace

[[gnu::flatten]] FastValue fast_targeted_value(const Mapping& mapping, std::uint32_t index, layout::ValueKind want,
                              const Context& context, std::uint64_t& payload) noexcept {
  using layout::FlagRecord;
  FastValue outcome = FastValue::General;
  const auto body = [&](const SlotView& slot) {
    outcome = FastValue::General;
    const std::byte* record = record_at(slot, index);
    if (record == nullptr) return true;
    const std::uint64_t word0 = shared::load<std::uint64_t>(record);
    if (layout::word0_state(word0) != layout::FlagState::Enabled || !layout::word0_targeting(word0) ||
        layout::word0_kind(word0) != want)
      return true;
    const std::uint64_t at = slot.load<std::uint32_t>(offsetof(layout::ImageHeader, rules_offset)) +
                             std::uint64_t{index} * sizeof(layout::RuleRef);
    if (!slot.holds_words(at, sizeof(layout::RuleRef))) return true;
    const std::uint64_t ref = slot.load<std::uint64_t>(at);
    RuleNodes nodes;
    if (!nodes.open(slot, layout::RuleRef{static_cast<std::uint32_t>(ref), static_cast<std::uint32_t>(ref >> 32)}))
      return true;
    const auto key = layout::unpack_string_ref(shared::load<std::uint64_t>(record + offsetof(FlagRecord, key)));
    const FastDecision decision = FastRule(slot, nodes, &context, key).result(0, 0);
    if (decision.kind == Kind::Null) {
      if (layout::word0_default_variant(word0) == layout::kNoDefaultVariant) {
        outcome = FastValue::Fallback;
      } else {
        payload = shared::load<std::uint64_t>(record + offsetof(FlagRecord, default_payload));
        outcome = FastValue::Value;
      }
      return true;
    }
    if (decision.kind != Kind::Variant || decision.variant >= layout::word0_variant_count(word0)) return true;
    const std::uint64_t variant = shared::load<std::uint32_t>(record + offsetof(FlagRecord, variants_offset)) +
                                  std::uint64_t{decision.variant} * sizeof(layout::VariantRecord);
    if (!slot.holds_words(variant, sizeof(layout::VariantRecord))) return true;
    payload = slot.load<std::uint64_t>(variant + offsetof(layout::VariantRecord, payload));
    outcome = FastValue::Value;
    return true;
  };
  return read_section(mapping, body) == SectionResult::Ok ? outcome : FastValue::General;
}

FastDecision decide_fast(const SlotView& slot, const RuleNodes& nodes, const Context* context,
                         layout::StringRef flag_key) noexcept {
  return FastRule(slot, nodes, context, flag_key).result(0, 0);
}

}  // namespace flagd::detail
