#include "fast_form_compiler.hpp"

#include <bit>
#include <cstring>
#include <string>

#include "flagd/fast_form.hpp"
#include "flagd/attribute_test.hpp"
#include "flagd/fractional.hpp"
#include "flagd/key_hash.hpp"
#include "flagd/murmur3.hpp"
#include "flagd/semver.hpp"

namespace flagd {

using layout::FastBucketKind;
using layout::FastOp;
using layout::RuleOp;

bool path_may_name_list_element(std::string_view path) { return path.find('.') != std::string_view::npos; }

namespace {

// Emits instructions in rule order. Jumps name labels, bound to instruction indexes as the code
// grows and patched in at the end: every label is bound after the tests that jump to it, so all
// jumps go forward.
class FastFormCompiler {
 public:
  FastFormCompiler(const FlagDefinition& flag, std::span<const std::uint64_t> payloads)
      : flag_(flag), rule_(flag.rule), payloads_(payloads) {}

  std::vector<std::uint64_t> compile() {
    result(0);
    if (code_.empty() || layout::unpack_fast_head(code_[0]).op == FastOp::Undecided) return {};
    if (code_.size() > layout::kMaxFastFormWords || !patch()) return {};
    // See fast_form.hpp: readers mask indexes, and read a short test's words unmasked.
    code_.resize(std::bit_ceil(code_.size()) + layout::kFastGuardWords, 0);
    return std::move(code_);
  }

 private:
  using Label = std::uint32_t;
  static constexpr Label kNoLabel = ~Label{0};
  static constexpr std::uint64_t kUnbound = ~std::uint64_t{0};

  struct Jump {
    std::size_t at;  // the instruction
    Label on_true, on_false;
  };

  Label label() {
    bound_.push_back(kUnbound);
    return static_cast<Label>(bound_.size() - 1);
  }
  void bind(Label l) { bound_[l] = code_.size(); }

  // An instruction is begun, its operand words pushed, then ended (which sets its length).
  std::size_t begin(FastOp op, std::uint8_t aux = 0) {
    code_.push_back(layout::pack_fast_head({op, aux, 0, 0, 0}));
    return code_.size() - 1;
  }
  void end(std::size_t at, Label on_true = kNoLabel, Label on_false = kNoLabel) {
    layout::FastHead head = layout::unpack_fast_head(code_[at]);
    if (!layout::is_short_test(head.op))  // a short test's field holds its operand instead
      head.words = static_cast<std::uint16_t>(std::min<std::size_t>(code_.size() - at, 0xFFFF));
    code_[at] = layout::pack_fast_head(head);
    if (on_true != kNoLabel) jumps_.push_back({at, on_true, on_false});
  }

  bool patch() {
    for (const Jump& j : jumps_) {
      const std::uint64_t t = bound_[j.on_true];
      const std::uint64_t f = j.on_false == kNoLabel ? t : bound_[j.on_false];
      if (t == kUnbound || f == kUnbound || t <= j.at || f <= j.at || t >= code_.size() || f >= code_.size())
        return false;
      layout::FastHead head = layout::unpack_fast_head(code_[j.at]);
      head.on_true = target(t);
      head.on_false = target(f);
      code_[j.at] = layout::pack_fast_head(head);
    }
    return true;
  }

  // A jump target: a result instruction's index is marked, so the run ends there directly.
  std::uint16_t target(std::uint64_t at) const {
    const FastOp op = layout::unpack_fast_head(code_[at]).op;
    const bool result = op == FastOp::Variant || op == FastOp::Null || op == FastOp::Undecided;
    return static_cast<std::uint16_t>(at | (result ? layout::kFastResultTarget : 0));
  }

  // A string's bytes, zero-padded (fast_string_words).
  void put_bytes(std::string_view s) {
    const std::size_t at = code_.size();
    code_.resize(at + layout::fast_string_words(s.size()), 0);
    std::memcpy(code_.data() + at, s.data(), s.size());
  }
  // A string constant of a test: its bytes and its last word (fast_form.hpp).
  void put_constant(std::string_view s) {
    put_bytes(s);
    code_.push_back(tail_word_of(s));
  }
  void put_string(std::string_view s) {
    code_.push_back(s.size());
    put_constant(s);
  }
  // A test's word 0 and path; false (and nothing emitted) if a length does not fit its field.
  bool begin_test(FastOp op, std::uint8_t aux, std::string_view path, std::size_t operand_length, std::size_t& at) {
    if (path.size() > layout::kMaxFastStringBytes || operand_length > layout::kMaxFastStringBytes) return false;
    at = begin(op, static_cast<std::uint8_t>(aux | (path_may_name_list_element(path) ? layout::kFastPathMayNameListElement : 0)));
    code_.push_back(key_hash(path) | std::uint64_t{path.size()} << 32 | std::uint64_t{operand_length} << 48);
    put_bytes(path);
    return true;
  }

  // A short test's word 0 to 3 (fast_form.hpp); `operand` is the constant's length or the item count.
  std::size_t begin_short_test(FastOp op, std::string_view path, std::size_t operand) {
    code_.push_back(layout::pack_fast_head(
        {op, path_may_name_list_element(path) ? layout::kFastPathMayNameListElement : std::uint8_t{0},
         static_cast<std::uint16_t>(operand), 0, 0}));
    const std::size_t at = code_.size() - 1;
    code_.push_back(key_hash(path) | std::uint64_t{path.size()} << 32);  // Context::key_tag
    code_.push_back(head_word(path));
    code_.push_back(tail_word_of(path));
    return at;
  }
  static bool short_string(std::string_view s) { return s.size() <= layout::kMaxFastShortBytes; }

  void undecided() { end(begin(FastOp::Undecided)); }
  void null() { end(begin(FastOp::Null)); }
  void jump(Label to) { end(begin(FastOp::Jump), to, to); }

  // The node whose value is the rule's result.
  void result(std::uint32_t index) {
    const RuleDraftNode& n = rule_[index];
    switch (n.op) {
      case RuleOp::String:
        if (n.variant_hint != 0 && n.variant_hint <= payloads_.size()) {
          const std::size_t at = begin(FastOp::Variant);
          code_.push_back(n.variant_hint - 1u);
          code_.push_back(payloads_[n.variant_hint - 1u]);
          end(at);
        } else {
          undecided();
        }
        return;
      case RuleOp::Null: null(); return;
      case RuleOp::If: if_chain(n); return;
      case RuleOp::Fractional: fractional(n); return;
      default: undecided(); return;
    }
  }

  void if_chain(const RuleDraftNode& n) {
    std::uint32_t i = 0;
    for (; i + 1 < n.argc; i += 2) {
      const Label then = label(), next = label();
      condition(n.first + i, then, next);
      bind(then);
      result(n.first + i + 1);
      bind(next);
    }
    if (i < n.argc) result(n.first + i);
    else null();
  }

  // Code that continues at `on_true` or `on_false` by the truthiness of node `index`.
  void condition(std::uint32_t index, Label on_true, Label on_false) {
    const RuleDraftNode& n = rule_[index];
    switch (n.op) {
      case RuleOp::Bool: jump(n.boolean ? on_true : on_false); return;
      case RuleOp::Null: jump(on_false); return;
      case RuleOp::And:
      case RuleOp::Or: {
        // `and` gives its first falsy operand or its last, `or` its first truthy one or its last:
        // either's truthiness is the short-circuit and/or of the operands'. No operand: null.
        if (n.argc == 0) return jump(on_false);
        const bool is_and = n.op == RuleOp::And;
        for (std::uint32_t i = 0; i + 1 < n.argc; ++i) {
          const Label next = label();
          condition(n.first + i, is_and ? next : on_true, is_and ? on_false : next);
          bind(next);
        }
        return condition(n.first + n.argc - 1, on_true, on_false);
      }
      // ! and !! of their first operand; of none: of []. flagd's engine evaluates the others
      // too (which may fail), so only one is taken here.
      case RuleOp::Not:
        if (n.argc > 1) return undecided();
        return n.argc == 0 ? jump(on_true) : condition(n.first, on_false, on_true);
      case RuleOp::NotNot:
        if (n.argc > 1) return undecided();
        return n.argc == 0 ? jump(on_false) : condition(n.first, on_true, on_false);
      case RuleOp::AttrTest: return attribute_test(n, on_true, on_false);
      case RuleOp::SemVer: return sem_ver(n, on_true, on_false);
      case RuleOp::Less:
      case RuleOp::LessEqual:
      case RuleOp::Greater:
      case RuleOp::GreaterEqual: return number_test(n, on_true, on_false);
      default: return undecided();
    }
  }

  // A fused attribute test (attribute_test.hpp): the rule compiler fused it only for string
  // constants, so only the operator and the lengths decide the instruction.
  void attribute_test(const RuleDraftNode& n, Label on_true, Label on_false) {
    AttributeTest test;
    if (n.argc != 1 || !attribute_test_of(n.fused, test)) return undecided();
    const RuleDraftNode& constant = rule_[n.first];
    if (test.kind == AttributeTestKind::In) {
      bool short_items = short_string(n.text);  // argc fits the 16-bit count
      for (std::uint32_t i = 0; i < constant.argc; ++i) short_items = short_items && short_string(rule_[constant.first + i].text);
      if (short_items) {
        const std::size_t at = begin_short_test(FastOp::ShortIn, n.text, constant.argc);
        for (std::uint32_t i = 0; i < constant.argc; ++i) {
          const std::string_view item = rule_[constant.first + i].text;
          code_.push_back(item.size());
          code_.push_back(head_word(item));
          code_.push_back(tail_word_of(item));
        }
        return end(at, on_true, on_false);
      }
      std::size_t at;
      if (!begin_test(FastOp::StringIn, 0, n.text, 0, at)) return undecided();
      code_.push_back(constant.argc);
      for (std::uint32_t i = 0; i < constant.argc; ++i) put_string(rule_[constant.first + i].text);
      return end(at, on_true, on_false);
    }
    // != and !== are == with the targets swapped.
    const FastOp op = test.kind == AttributeTestKind::Equal      ? FastOp::StringEqual
                      : test.kind == AttributeTestKind::StartsWith ? FastOp::StartsWith
                                                                   : FastOp::EndsWith;
    const Label then = test.negated ? on_false : on_true, otherwise = test.negated ? on_true : on_false;
    if (short_string(n.text) && short_string(constant.text)) {
      const std::string_view c = constant.text;
      const FastOp short_op = op == FastOp::StringEqual ? FastOp::ShortEqual
                              : op == FastOp::StartsWith ? FastOp::ShortStartsWith
                                                         : FastOp::ShortEndsWith;
      const std::size_t at = begin_short_test(short_op, n.text, c.size());
      code_.push_back(head_word(c));
      const bool mask = short_op == FastOp::ShortStartsWith && c.size() <= 8;
      code_.push_back(mask ? (c.size() == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * c.size())) - 1)
                           : tail_word_of(c));
      return end(at, then, otherwise);
    }
    std::size_t at;
    if (!begin_test(op, 0, n.text, constant.text.size(), at)) return undecided();
    put_constant(constant.text);
    end(at, then, otherwise);
  }

  // An attribute's var: a path (not the empty one, the whole data) without a default.
  static bool plain_var(const RuleDraftNode& n) { return n.op == RuleOp::Var && n.argc == 0 && !n.text.empty(); }

  // sem_ver of an attribute against a constant release ("2.4.0", not "2.4.0-rc.1").
  void sem_ver(const RuleDraftNode& n, Label on_true, Label on_false) {
    if (n.argc != 3) return undecided();
    const RuleDraftNode &value = rule_[n.first], &op = rule_[n.first + 1], &version = rule_[n.first + 2];
    if (!plain_var(value) || op.op != RuleOp::String || version.op != RuleOp::String) return undecided();
    SemVerOp compare;
    if (!parse_semver_op(op.text, compare)) return undecided();
    SemVer constant;
    if (!parse_semver(version.text, constant) || !constant.prerelease.empty() || constant.major == kBigPart ||
        constant.minor == kBigPart || constant.patch == kBigPart)
      return undecided();
    std::size_t at;
    if (!begin_test(FastOp::SemVerTest, static_cast<std::uint8_t>(compare), value.text, 0, at)) return undecided();
    code_.push_back(constant.major);
    code_.push_back(constant.minor);
    code_.push_back(constant.patch);
    end(at, on_true, on_false);
  }

  // <, <=, >, >= of an attribute and a number constant, either way round.
  void number_test(const RuleDraftNode& n, Label on_true, Label on_false) {
    if (n.argc != 2) return undecided();
    const RuleDraftNode &x = rule_[n.first], &y = rule_[n.first + 1];
    const bool var_first = plain_var(x) && y.op == RuleOp::Number;
    const bool var_second = plain_var(y) && x.op == RuleOp::Number;
    if (!var_first && !var_second) return undecided();
    std::size_t at;
    const auto aux = static_cast<std::uint8_t>(static_cast<std::uint8_t>(n.op) | (var_first ? 0 : layout::kFastConstantFirst));
    if (!begin_test(FastOp::NumberTest, aux, var_first ? x.text : y.text, 0, at)) return undecided();
    code_.push_back(std::bit_cast<std::uint64_t>(var_first ? y.number : x.number));
    end(at, on_true, on_false);
  }

  // `fractional` with constant buckets (fractional.hpp): their running totals, and each
  // bucket's variant index and payload where a string names a variant.
  void fractional(const RuleDraftNode& n) {
    if (n.argc == 0) return null();
    std::uint64_t total;
    bool valid;
    if (!constant_buckets(drafts_, n.first, n.argc, total, valid)) return undecided();
    if (!valid || !fractional_total_ok(total)) return null();
    const Murmur3Prefix prefix = murmur3_prefix(flag_.key);
    const std::size_t at = begin(FastOp::Fractional);
    code_.push_back(prefix.h | std::uint64_t{prefix.carry} << 32 | std::uint64_t{prefix.carry_bytes} << 56);
    code_.push_back(prefix.length | std::uint64_t{n.argc} << 32);
    code_.push_back(total);
    std::uint64_t running = 0;
    for (std::uint32_t i = 0; i < n.argc; ++i) {
      ConstantBucket b;
      constant_bucket(drafts_, n.first + i, b);
      const RuleDraftNode& variant = rule_[b.variant];
      std::uint64_t tag = layout::pack_fast_bucket(FastBucketKind::Undecided, 0), payload = 0;
      if (variant.op == RuleOp::Null) {
        tag = layout::pack_fast_bucket(FastBucketKind::Null, 0);
      } else if (variant.op == RuleOp::String && variant.variant_hint != 0 && variant.variant_hint <= payloads_.size()) {
        tag = layout::pack_fast_bucket(FastBucketKind::Variant, static_cast<std::uint16_t>(variant.variant_hint - 1));
        payload = payloads_[variant.variant_hint - 1u];
      }  // a number, a boolean or a string naming no variant: the interpreter says so
      running += b.weight;
      code_.push_back(running);
      code_.push_back(tag);
      code_.push_back(payload);
    }
    end(at);
  }

  // The drafts as fractional.hpp reads nodes.
  struct Drafts {
    const std::vector<RuleDraftNode>& rule;
    RuleOp op(std::uint32_t i) const { return i < rule.size() ? rule[i].op : RuleOp::Count_; }
    std::uint32_t argc(std::uint32_t i) const { return i < rule.size() ? rule[i].argc : 0; }
    std::uint32_t first(std::uint32_t i) const { return i < rule.size() ? rule[i].first : 0; }
    double number(std::uint32_t i) const { return i < rule.size() ? rule[i].number : 0; }
  };

  const FlagDefinition& flag_;
  const std::vector<RuleDraftNode>& rule_;
  const Drafts drafts_{rule_};
  std::span<const std::uint64_t> payloads_;
  std::vector<std::uint64_t> code_;
  std::vector<std::uint64_t> bound_;  // per label: the instruction index, or kUnbound
  std::vector<Jump> jumps_;
};

}  // namespace

std::vector<std::uint64_t> compile_fast_form(const FlagDefinition& flag, std::span<const std::uint64_t> payloads) {
  if (flag.rule.empty()) return {};
  return FastFormCompiler(flag, payloads).compile();
}

}  // namespace flagd
