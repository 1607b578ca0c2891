// Reading a compiled rule's nodes (rule_layout.hpp) out of a slot, for the general interpreter
// (rule_eval.hpp), and the context lookups it shares with the fast forms (fast_form_eval.hpp).
// Torn bytes are expected: every node read is checked against the rule's node count.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flagd/attribute_test.hpp"
#include "flagd/context.hpp"
#include "flagd/fractional.hpp"
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

  // Node fields for the rules of fractional.hpp: op Count_ for an index out of range, and no
  // operands unless they all lie in the rule after the node.
  layout::RuleOp op(std::uint32_t index) const noexcept {
    return index < count_ ? static_cast<layout::RuleOp>(word(index, 0) & 0xFF) : layout::RuleOp::Count_;
  }
  std::uint32_t argc(std::uint32_t index) const noexcept {
    if (index >= count_) return 0;
    const std::uint64_t w0 = word(index, 0);
    const std::uint32_t n = static_cast<std::uint16_t>(w0 >> 16), first = static_cast<std::uint32_t>(w0 >> 32);
    return first > index && first < count_ && n <= count_ - first ? n : 0;
  }
  std::uint32_t first(std::uint32_t index) const noexcept {
    return index < count_ ? static_cast<std::uint32_t>(word(index, 0) >> 32) : 0;
  }
  double number(std::uint32_t index) const noexcept {
    return index < count_ ? std::bit_cast<double>(word(index, 1)) : 0;
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

// The result of a fused attribute test (RuleOp::AttrTest, attribute_test.hpp) on a string
// attribute: the constants are compared where they lie in the image. Undecided: a constant the
// test does not compare strings with this way (the general path decides); Malformed: the nodes
// make no sense.
enum class StringTestResult : std::uint8_t { False, True, Undecided, Malformed };

// A constant string in the image, compared where it lies (one word at a time; the whole text with
// its first word first).
struct ImageConstant {
  const SlotView& slot;
  layout::StringRef ref;
  const Context::Attribute& attribute;
  std::size_t size() const noexcept { return ref.length; }
  bool same(std::string_view piece) const noexcept {
    if (piece.data() == attribute.text.data() && piece.size() == attribute.text.size())
      return equals_headed(slot, ref, piece, attribute.text_head);
    return string_equals(slot, ref, piece);
  }
};

// `op` is the operator the test stands for, `constant` its operand node, `attribute` a string.
// `compared` receives the bytes of text compared (strings of unequal lengths compare none), for
// the interpreter's step budget.
inline StringTestResult string_attribute_test(const SlotView& slot, const RuleNodes& nodes, layout::RuleOp op,
                                              const layout::RuleNode& constant, const Context::Attribute& attribute,
                                              std::uint64_t& compared) noexcept {
  using layout::RuleOp;
  const std::string_view text = attribute.text;
  compared = 0;
  AttributeTest test;
  if (!attribute_test_of(op, test)) return StringTestResult::Malformed;
  if (test.kind == AttributeTestKind::In) {
    if (constant.op != RuleOp::Array) return StringTestResult::Undecided;
    for (std::uint32_t i = 0; i < constant.argc; ++i) {
      layout::RuleNode item;
      if (!nodes.read(constant.first + i, item) || item.op != RuleOp::String) return StringTestResult::Malformed;
      const ImageConstant c{slot, layout::unpack_string_ref(item.a), attribute};
      if (c.size() == text.size()) compared += text.size();
      if (string_test_holds(test.kind, text, c)) return StringTestResult::True;
    }
    return StringTestResult::False;
  }
  if (constant.op != RuleOp::String) return StringTestResult::Undecided;
  const ImageConstant c{slot, layout::unpack_string_ref(constant.a), attribute};
  if (c.size() <= text.size()) compared = c.size();
  return string_test_holds(test.kind, text, c) != test.negated ? StringTestResult::True : StringTestResult::False;
}

// The operator an AttrTest node stands for.
inline layout::RuleOp fused_operator(const layout::RuleNode& test) noexcept {
  return static_cast<layout::RuleOp>((test.b >> 32) & 0xFF);
}

}  // namespace flagd::detail
