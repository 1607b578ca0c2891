// Reading a compiled rule's nodes (rule_layout.hpp) out of a slot, for the general interpreter
// (rule_eval.hpp), and the context lookups it shares with the fast forms (fast_form_eval.hpp).
// Torn bytes are expected: every node read is checked against the rule's node count.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flagd/context.hpp"
#include "flagd/fractional_weight.hpp"
#include "flagd/limits.hpp"
#include "flagd/rule_layout.hpp"
#include "image_read.hpp"

namespace flagd::detail {

class RuleNodes {
 public:
  // False if the rule's node array does not lie inside the slot (or breaks the node limit).
  bool open(const SlotView& slot, layout::RuleRef rule) noexcept {
    if (rule.node_count == 0 || rule.node_count > limits::kMaxRuleNodes ||
        !slot.holds_words(rule.nodes_offset, std::uint64_t{rule.node_count} * sizeof(layout::RuleNode)))
      return false;
    base_ = slot.image + rule.nodes_offset;
    count_ = rule.node_count;
    return true;
  }

  // Node `index`; false if it is out of range or its operands are not all after it and in range
  // (which makes every walk over the nodes finite).
  bool read(std::uint32_t index, layout::RuleNode& out) const noexcept {
    if (index >= count_) return false;
    const std::byte* at = base_ + std::uint64_t{index} * sizeof(layout::RuleNode);
    const std::uint64_t w0 = shared::load<std::uint64_t>(at);
    out.op = static_cast<layout::RuleOp>(w0 & 0xFF);
    out.flags = static_cast<std::uint8_t>(w0 >> 8);
    out.argc = static_cast<std::uint16_t>(w0 >> 16);
    out.first = static_cast<std::uint32_t>(w0 >> 32);
    out.a = shared::load<std::uint64_t>(at + 8);
    out.b = shared::load<std::uint64_t>(at + 16);
    return out.op < layout::RuleOp::Count_ &&
           (out.argc == 0 || (out.first > index && out.first < count_ && out.argc <= count_ - out.first));
  }

  std::uint32_t count() const noexcept { return count_; }

  // Word `w` (0: op, flags, argc, first; 1: a; 2: b) of node `index` < count(), without decoding
  // or checking its operands: for walks that check each index they read and bound their depth.
  std::uint64_t word(std::uint32_t index, unsigned w) const noexcept {
    return shared::load<std::uint64_t>(base_ + std::uint64_t{index} * sizeof(layout::RuleNode) + w * 8);
  }

 private:
  const std::byte* base_ = nullptr;
  std::uint32_t count_ = 0;
};

// Node word 0, decoded.
inline layout::RuleOp node_op(std::uint64_t w0) noexcept { return static_cast<layout::RuleOp>(w0 & 0xFF); }
inline std::uint8_t node_flags(std::uint64_t w0) noexcept { return static_cast<std::uint8_t>(w0 >> 8); }
inline std::uint32_t node_argc(std::uint64_t w0) noexcept { return static_cast<std::uint16_t>(w0 >> 16); }
inline std::uint32_t node_first(std::uint64_t w0) noexcept { return static_cast<std::uint32_t>(w0 >> 32); }

// True if the image string `ref` holds exactly `s`, whose first 8 bytes (zero-padded) are `head`:
// image strings are zero-padded words, so strings of up to 8 bytes compare in one load.
inline bool equals_headed(const SlotView& slot, layout::StringRef ref, std::string_view s, std::uint64_t head) noexcept {
  if (ref.length != s.size()) return false;
  if (ref.length == 0) return true;
  if (!slot.holds_words(ref.offset, layout::round_up8(ref.length))) return false;
  if (slot.load<std::uint64_t>(ref.offset) != head) return false;
  return s.size() <= 8 ||
         string_equals(slot, layout::StringRef{ref.offset + 8, ref.length - 8}, s.substr(8));
}

// The context attribute a Var or AttrTest node names (its path where it lies in the image, and the
// path's hash), compared by hash first; nullptr if the context has no attribute of that path.
inline const Context::Attribute* find_attribute(const SlotView& slot, const Context* context,
                                                std::uint64_t packed_path, std::uint32_t hash) noexcept {
  if (context == nullptr) return nullptr;
  const layout::StringRef path = layout::unpack_string_ref(packed_path);
  return context->find_tagged(Context::key_tag(hash, path.length), [&](const Context::Attribute& a) {
    return equals_headed(slot, path, a.key, a.key_head);
  });
}

// The context's targeting key if it is a non-empty string, else empty (fractional then gives null).
inline std::string_view targeting_key(const Context* context) noexcept {
  const Context::Attribute* a = context != nullptr ? context->targeting_key() : nullptr;
  return a != nullptr && a->type == Context::Type::String ? a->text : std::string_view{};
}

// The result of a fused attribute test (RuleOp::AttrTest) on a string attribute: the constants
// are compared where they lie in the image. Undecided: a constant the test does not compare
// strings with this way (the general path decides); Malformed: the nodes make no sense.
enum class StringTest : std::uint8_t { False, True, Undecided, Malformed };

// `op` is the operator the test stands for, `constant` its operand node, `attribute` a string.
// `compared` receives the bytes of text compared (strings of unequal lengths compare none), for
// the interpreter's step budget.
inline StringTest string_attribute_test(const SlotView& slot, const RuleNodes& nodes, layout::RuleOp op,
                                        const layout::RuleNode& constant, const Context::Attribute& attribute,
                                        std::uint64_t& compared) noexcept {
  using layout::RuleOp;
  const std::string_view text = attribute.text;
  compared = 0;
  if (op == RuleOp::In && constant.op == RuleOp::Array) {
    for (std::uint32_t i = 0; i < constant.argc; ++i) {
      layout::RuleNode item;
      if (!nodes.read(constant.first + i, item) || item.op != RuleOp::String) return StringTest::Malformed;
      const layout::StringRef ref = layout::unpack_string_ref(item.a);
      if (ref.length == text.size()) compared += text.size();
      if (equals_headed(slot, ref, text, attribute.text_head)) return StringTest::True;
    }
    return StringTest::False;
  }
  if (constant.op != RuleOp::String) return StringTest::Undecided;
  const layout::StringRef c = layout::unpack_string_ref(constant.a);
  if (c.length <= text.size()) compared = c.length;
  bool result;
  switch (op) {
    case RuleOp::Equal:
    case RuleOp::StrictEqual: result = equals_headed(slot, c, text, attribute.text_head); break;
    case RuleOp::NotEqual:
    case RuleOp::StrictNotEqual: result = !equals_headed(slot, c, text, attribute.text_head); break;
    case RuleOp::StartsWith:
      result = c.length <= text.size() && string_equals(slot, c, text.substr(0, c.length));
      break;
    case RuleOp::EndsWith:
      result = c.length <= text.size() && string_equals(slot, c, text.substr(text.size() - c.length));
      break;
    default: return StringTest::Malformed;
  }
  return result ? StringTest::True : StringTest::False;
}

// The operator an AttrTest node stands for.
inline layout::RuleOp fused_operator(const layout::RuleNode& test) noexcept {
  return static_cast<layout::RuleOp>((test.b >> 32) & 0xFF);
}

// `fractional` with constant buckets ([variant constant, weight?, constant extras...]), the usual
// form, read where its nodes lie. constant_buckets() sums the weights (`valid`: every weight is a
// whole number no larger than kMaxFractionalTotal; absent or null counts 1, negative 0); false if
// some bucket is computed, which leaves the operator to the general path. constant_bucket_at()
// gives the node of the variant constant of the bucket a point in [0, total) falls in.
// Bucket node `bucket`: its variant constant's node and its weight; false if it is not constant.
inline bool constant_bucket(const RuleNodes& nodes, std::uint32_t bucket, std::uint32_t& variant,
                            std::uint64_t& weight, bool& valid) noexcept {
  using layout::RuleOp;
  if (bucket >= nodes.count()) return false;
  const std::uint64_t w0 = nodes.word(bucket, 0);
  const std::uint32_t first = node_first(w0), argc = node_argc(w0);
  if (node_op(w0) != RuleOp::Array || argc == 0 || first >= nodes.count() || argc > nodes.count() - first)
    return false;
  const RuleOp v = node_op(nodes.word(first, 0));
  if (v != RuleOp::String && v != RuleOp::Bool && v != RuleOp::Number && v != RuleOp::Null) return false;
  variant = first;
  weight = 1;
  valid = true;
  if (argc >= 2) {
    const RuleOp w = node_op(nodes.word(first + 1, 0));
    if (w == RuleOp::Number) {
      valid = fractional_weight(std::bit_cast<double>(nodes.word(first + 1, 1)), weight);
    } else if (w != RuleOp::Null) {
      return false;  // a computed or non-number weight: the general path decides
    }
  }
  for (std::uint32_t k = 2; k < argc; ++k)  // extra elements are ignored, if constant
    if (node_op(nodes.word(first + k, 0)) > RuleOp::Number) return false;
  return true;
}

// `first`, `argc`: the fractional node's operands (the buckets).
inline bool constant_buckets(const RuleNodes& nodes, std::uint32_t first, std::uint32_t argc, std::uint64_t& total,
                             bool& valid) noexcept {
  total = 0;
  valid = true;
  for (std::uint32_t i = 0; i < argc; ++i) {
    std::uint32_t variant;
    std::uint64_t weight;
    bool weight_valid;
    if (!constant_bucket(nodes, first + i, variant, weight, weight_valid)) return false;
    valid = valid && weight_valid;
    total += weight;
  }
  return true;
}

inline bool constant_bucket_at(const RuleNodes& nodes, std::uint32_t first, std::uint32_t argc, std::uint64_t point,
                               std::uint32_t& variant) noexcept {
  std::uint64_t running = 0;
  for (std::uint32_t i = 0; i < argc; ++i) {
    std::uint64_t weight;
    bool valid;
    if (!constant_bucket(nodes, first + i, variant, weight, valid)) return false;
    running += weight;
    if (running > point) return true;
  }
  return false;
}

}  // namespace flagd::detail
