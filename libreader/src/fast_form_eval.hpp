// Running a rule's fast form (flagd/fast_form.hpp): the compiled shapes nearly every flag file is
// made of, evaluated in one forward pass with no stack and no copies.
//
// It decides only what it is sure of: an attribute of another type than a test compares, or an
// Undecided instruction, gives Undecided, and the general interpreter (rule_eval.hpp) evaluates
// the rule instead. Every decision equals the interpreter's; tests/test_fast_rules.cpp checks
// that on generated rules and contexts. Torn bytes are expected: a form's length is a power of two
// and every index read from it is masked with length - 1; an instruction's own fixed words are read
// from its index, up to the guard words that follow the form, and a list or bucket run is checked
// once to lie in the form. So whatever its words say a run reads only the form; and it follows only
// forward jumps, so it always ends.
//
// Header-only, so that each caller gets the run it needs compiled in one piece: a decision for the
// detailed and numeric forms, the boolean answer itself for get_bool (run_fast_form_bool). At this
// scale a call, its register saves and a decision passed across it cost as much as a test.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "flagd/context.hpp"
#include "flagd/fast_form.hpp"
#include "flagd/key_hash.hpp"
#include "flagd/murmur3.hpp"
#include "flagd/rule_layout.hpp"
#include "flagd/semver.hpp"
#include "image_read.hpp"
#include "rule_nodes.hpp"

namespace flagd::detail {

struct FastDecision {
  enum class Kind : std::uint8_t { Undecided, Variant, Null };
  Kind kind = Kind::Undecided;
  std::uint16_t variant = 0;  // Variant: the index of the flag's variant the rule chose
  std::uint64_t payload = 0;  // Variant: its payload, as the form stores it
};

namespace fast_form {

using layout::FastOp;
using layout::RuleOp;
using Kind = FastDecision::Kind;

enum class Truth : std::uint8_t { False, True, Undecided };

inline Truth truth(bool b) noexcept { return b ? Truth::True : Truth::False; }

inline constexpr FastDecision kUndecided{};
inline constexpr FastDecision kNull{Kind::Null, 0, 0};

// A run has no step budget, so what it reads of a context string must be bounded by a constant:
// every test but these two compares at most the bytes of the form's own constants. A longer
// version or targeting key leaves the rule to the interpreter, which charges it to its budget.
inline constexpr std::size_t kMaxParsedVersionBytes = 256;  // a form may hold many sem_ver tests
inline constexpr std::size_t kMaxHashedKeyBytes = 4096;     // one fractional per run

class FastForm {
 public:
  // `context` is not null (an empty Context stands for none).
  FastForm(const std::byte* words, std::uint32_t count, const Context* context) noexcept
      : words_(words), mask_(count - 1), context_(context) {}

  // The short tests and the results, what nearly every rule is made of, run inline in the
  // caller; at any other instruction the run goes on out of line (run_from, fractional_from), so
  // that the common run needs few registers and its caller saves and restores none. `finish`
  // turns the decision into what the caller returns, in the function that decides: the calls out
  // of line are then the caller's last act (tail calls), and nothing the caller holds outlives them.
  template <class Finish>
  [[gnu::always_inline]] auto run(Finish finish) const noexcept -> decltype(finish(FastDecision{})) {
    // A rollout alone, the commonest rule after one test, goes there before the loop takes the
    // registers it saves (measured: 11 instructions fewer for such a rule, 2 to 4 more for the others).
    if (layout::unpack_fast_head(cell(words_, 0)).op == FastOp::Fractional)
      return fractional_from(words_, mask_ + 1, context_, 0, finish);
    return run_loop<true>(0, finish);
  }
  [[gnu::always_inline]] FastDecision run() const noexcept { return run(AsDecision{}); }

 private:
  struct AsDecision {
    FastDecision operator()(FastDecision d) const noexcept { return d; }
  };

  // Static, with the form's words as arguments: the inline run's object never needs an address.
  template <class Finish>
  [[gnu::noinline]] static auto run_from(const std::byte* words, std::uint32_t count, const Context* context,
                                         std::uint32_t pc, Finish finish) noexcept -> decltype(finish(FastDecision{})) {
    return FastForm(words, count, context).run_loop<false>(pc, finish);
  }
  template <class Finish>
  [[gnu::noinline]] static auto fractional_from(const std::byte* words, std::uint32_t count, const Context* context,
                                                std::uint32_t pc, Finish finish) noexcept
      -> decltype(finish(FastDecision{})) {
    return finish(FastForm(words, count, context).fractional(pc));
  }

  template <bool kCommonOnly, class Finish>
  [[gnu::always_inline]] auto run_loop(std::uint32_t pc, Finish finish) const noexcept
      -> decltype(finish(FastDecision{})) {
    while (pc <= mask_) {
      // pc <= mask_: the guard words let a short test read up to cell(pc, kFastGuardWords - 1).
      const std::byte* const here = words_ + std::uint64_t{pc} * 8;
      const layout::FastHead head = layout::unpack_fast_head(cell(here, 0));
      Truth t;
      switch (head.op) {
        case FastOp::ShortEqual: t = short_equal(here); break;
        case FastOp::ShortStartsWith: t = short_starts_with(here); break;
        case FastOp::ShortEndsWith: t = short_ends_with(here); break;
        case FastOp::ShortIn: t = short_in(pc, here); break;
        case FastOp::Jump: t = Truth::True; break;
        case FastOp::Variant:
        case FastOp::Null: return finish(result(here, head));
        case FastOp::Fractional:
          if constexpr (kCommonOnly) return fractional_from(words_, mask_ + 1, context_, pc, finish);
          else return finish(fractional(pc));
        case FastOp::StringEqual:
        case FastOp::StartsWith:
        case FastOp::EndsWith:
        case FastOp::StringIn:
        case FastOp::NumberTest:
        case FastOp::SemVerTest:
          if constexpr (kCommonOnly) {
            return run_from(words_, mask_ + 1, context_, pc, finish);
          } else {
            switch (head.op) {
              case FastOp::StringEqual: t = string_equal(pc, head); break;
              case FastOp::StartsWith: t = affix(pc, head, true); break;
              case FastOp::EndsWith: t = affix(pc, head, false); break;
              case FastOp::StringIn: t = string_in(pc, head); break;
              case FastOp::NumberTest: t = number_test(pc, head); break;
              default: t = sem_ver(pc, head); break;
            }
            break;
          }
        default: return finish(kUndecided);
      }
      if (t == Truth::Undecided) return finish(kUndecided);
      // Word 0 again rather than kept in registers through the test (the test needs them all).
      const std::uint32_t next = static_cast<std::uint16_t>(cell(here, 0) >> (t == Truth::True ? 32 : 48));
      if (next & layout::kFastResultTarget) {
        const std::byte* const target = words_ + std::uint64_t{next & mask_} * 8;  // mask_ < kFastResultTarget
        return finish(result(target, layout::unpack_fast_head(cell(target, 0))));
      }
      if (next <= pc) return finish(kUndecided);  // torn: only forward jumps are compiled
      pc = next;
    }
    return finish(kUndecided);
  }

  // The result instruction at `at` (an instruction index <= mask_).
  static FastDecision result(const std::byte* at, const layout::FastHead& head) noexcept {
    if (head.op == FastOp::Variant)
      return FastDecision{Kind::Variant, static_cast<std::uint16_t>(cell(at, 1)), cell(at, 2)};
    return head.op == FastOp::Null ? kNull : kUndecided;
  }

  // Masked: an index read from torn words still names a word of the form.
  std::uint64_t word(std::uint32_t i) const noexcept {
    return shared::load<std::uint64_t>(words_ + std::uint64_t{i & mask_} * 8);
  }
  // A short test's operand (word 0's `words` field) and aux byte, read where they lie when needed
  // rather than unpacked from word 0 at every instruction.
  static std::uint32_t short_operand(const std::byte* at) noexcept { return shared::load<std::uint16_t>(at + 2); }
  static Truth short_missing(const std::byte* at) noexcept { return missing(shared::load<std::uint8_t>(at + 1)); }

  // Word k of the instruction at `at`, an instruction index <= mask_: k < kFastGuardWords, or
  // checked to lie in the form.
  static std::uint64_t cell(const std::byte* at, std::uint32_t k) noexcept {
    return shared::load<std::uint64_t>(at + std::uint64_t{k} * 8);
  }

  // ---- short tests: a path and constants of at most 16 bytes, at fixed words (fast_form.hpp)

  // The string attribute a short test names, or why there is none (as string_attribute).
  [[gnu::always_inline]] const Context::Attribute* short_attribute(const std::byte* at, Truth& otherwise) const noexcept {
    const std::uint64_t key_head = cell(at, 2), key_tail = cell(at, 3);
    // With the length in the tag, the first and last words are the whole path.
    const Context::Attribute* a = context_->find_tagged(cell(at, 1), [&](const Context::Attribute& x) {
      return x.key_head == key_head && x.key_tail == key_tail;
    });
    return string_only(a, [at] { return short_missing(at); }, otherwise);
  }

  // Up to 16 bytes: the length, the first and the last words (each the whole text if shorter).
  static bool short_equals(const Context::Attribute& a, std::uint64_t length, std::uint64_t head,
                           std::uint64_t tail) noexcept {
    return a.text.size() == length && a.text_head == head && a.text_tail == tail;
  }

  [[gnu::always_inline]] Truth short_equal(const std::byte* at) const noexcept {
    Truth otherwise;
    const Context::Attribute* a = short_attribute(at, otherwise);
    if (a == nullptr) return otherwise;
    return truth(short_equals(*a, short_operand(at), cell(at, 4), cell(at, 5)));
  }

  [[gnu::always_inline]] Truth short_starts_with(const std::byte* at) const noexcept {
    Truth otherwise;
    const Context::Attribute* a = short_attribute(at, otherwise);
    if (a == nullptr) return otherwise;
    const std::uint64_t length = short_operand(at);
    if (length > a->text.size()) return Truth::False;
    if (length <= 8) return truth((a->text_head & cell(at, 5)) == cell(at, 4));  // word 5: the mask
    std::uint64_t last;  // length <= 16 and the text is at least as long
    std::memcpy(&last, a->text.data() + length - 8, 8);
    return truth(a->text_head == cell(at, 4) && last == cell(at, 5));
  }

  [[gnu::always_inline]] Truth short_ends_with(const std::byte* at) const noexcept {
    Truth otherwise;
    const Context::Attribute* a = short_attribute(at, otherwise);
    if (a == nullptr) return otherwise;
    const std::uint64_t length = short_operand(at), size = a->text.size();
    if (length > size) return Truth::False;
    if (length == 0) return Truth::True;
    if (length <= 8) {
      // The text's last word holds its last bytes at its top (or the whole text, zero-padded, if
      // shorter than a word): shifted down, the suffix's bytes, zero-padded.
      const std::uint64_t shift = 8 * ((size < 8 ? size : 8) - length);
      return truth((a->text_tail >> shift) == cell(at, 4));
    }
    std::uint64_t first;  // 8 < length <= 16 <= ... the text is at least as long
    std::memcpy(&first, a->text.data() + size - length, 8);
    return truth(first == cell(at, 4) && a->text_tail == cell(at, 5));
  }

  // Items of three words (length, first, last) from word 4.
  [[gnu::always_inline]] Truth short_in(std::uint32_t pc, const std::byte* at) const noexcept {
    Truth otherwise;
    const Context::Attribute* a = short_attribute(at, otherwise);
    if (a == nullptr) return otherwise;  // null is in no list of strings
    const std::uint32_t items = short_operand(at);
    // torn: a count that runs past the form decides nothing; else every item lies in it
    if (pc + 4 + 3 * items > mask_ + 1) return Truth::Undecided;
    for (std::uint32_t i = 0; i < items; ++i)
      if (short_equals(*a, cell(at, 4 + 3 * i), cell(at, 5 + 3 * i), cell(at, 6 + 3 * i))) return Truth::True;
    return Truth::False;
  }

  // True if the words from `at` hold exactly `s` (zero-padded); they lie in the form.
  bool holds(std::uint32_t at, std::string_view s) const noexcept {
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8, ++at) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (word(at) != w) return false;
    }
    return i == s.size() || word(at) == tail_word(s.data() + i, s.size() - i);
  }

  // A string or version test whose attribute the context lacks: False (null equals, starts, ends
  // and is in no string, and sem_ver of null is null), unless its path may name a list element,
  // which only the interpreter resolves.
  static Truth missing(std::uint8_t aux) noexcept {
    return (aux & layout::kFastPathMayNameListElement) != 0 ? Truth::Undecided : Truth::False;
  }
  static Truth missing(const layout::FastHead& head) noexcept { return missing(head.aux); }

  // `a` if it is a string attribute; else nullptr, and why in `otherwise`: if_missing() for no
  // attribute (called only then: a short test reads its aux byte only then), Undecided for one of
  // another type.
  template <class IfMissing>
  [[gnu::always_inline]] static const Context::Attribute* string_only(const Context::Attribute* a, IfMissing if_missing,
                                                                      Truth& otherwise) noexcept {
    if (a == nullptr) {
      otherwise = if_missing();
      return nullptr;
    }
    if (a->type != Context::Type::String) {
      otherwise = Truth::Undecided;
      return nullptr;
    }
    return a;
  }

  // A test at `pc`, decoded: the attribute it names (nullptr if the context has none) and where
  // its operands begin.
  struct Test {
    const Context::Attribute* attribute;
    std::uint32_t operands;        // word index
    std::uint64_t operand_length;  // the string tests: the constant's bytes
  };

  [[gnu::always_inline]] void decode(std::uint32_t pc, Test& test) const noexcept {
    const std::uint64_t w1 = word(pc + 1);
    const std::size_t length = static_cast<std::uint16_t>(w1 >> 32);
    test.operand_length = w1 >> 48;
    test.operands = static_cast<std::uint32_t>(pc + 2 + layout::fast_string_words(length));
    // Word 1's low 48 bits are the path's key tag: hash and length.
    const std::uint64_t key_head = word(pc + 2);
    test.attribute = context_->find_tagged(w1 & 0xFFFF'FFFF'FFFF, [&](const Context::Attribute& a) {
      return a.key_head == key_head && (length <= 8 || holds(pc + 3, a.key.substr(8)));
    });
  }

  // The string attribute the test names, or why there is none: False for a missing attribute (null
  // equals, starts and ends no string), Undecided for one of another type.
  [[gnu::always_inline]] const Context::Attribute* string_attribute(std::uint32_t pc, const layout::FastHead& head,
                                                                    Test& test, Truth& otherwise) const noexcept {
    decode(pc, test);
    return string_only(test.attribute, [&head] { return missing(head); }, otherwise);
  }

  // The string attribute `a` (its text, with its first and last words) equals the constant of
  // `length` bytes whose words start at `at`.
  bool equals(std::uint32_t at, std::uint64_t length, const Context::Attribute& a) const noexcept {
    return length == a.text.size() && word(at) == a.text_head &&
           (length <= 8 || (word(at + static_cast<std::uint32_t>(layout::fast_string_words(length))) == a.text_tail &&
                            (length <= 16 || holds(at + 1, a.text.substr(8)))));
  }

  [[gnu::always_inline]] Truth string_equal(std::uint32_t pc, const layout::FastHead& head) const noexcept {
    Test test;
    Truth otherwise;
    const Context::Attribute* a = string_attribute(pc, head, test, otherwise);
    if (a == nullptr) return otherwise;
    return truth(equals(test.operands, test.operand_length, *a));
  }

  // starts_with (`prefix`) or ends_with: up to 8 bytes from a word of the value shifted or masked,
  // up to 16 with two 8-byte loads inside the value, longer byte for byte.
  [[gnu::always_inline]] Truth affix(std::uint32_t pc, const layout::FastHead& head, bool prefix) const noexcept {
    Test test;
    Truth otherwise;
    const Context::Attribute* a = string_attribute(pc, head, test, otherwise);
    if (a == nullptr) return otherwise;
    const std::string_view text = a->text;
    const std::uint64_t length = test.operand_length;
    const std::uint32_t at = test.operands;
    if (length > text.size()) return Truth::False;
    if (length == 0) return Truth::True;
    if (length <= 8) {
      std::uint64_t piece;
      if (prefix) {
        piece = length == 8 ? a->text_head : a->text_head & ((std::uint64_t{1} << (8 * length)) - 1);
      } else if (text.size() >= 8) {
        piece = a->text_tail >> (8 * (8 - length));
      } else {  // the whole text is in text_head, zero-padded
        piece = a->text_head >> (8 * (text.size() - length));
      }
      return truth(piece == word(at));
    }
    if (length <= 16) {
      std::uint64_t first, last;
      if (prefix) {
        first = a->text_head;
        std::memcpy(&last, text.data() + length - 8, 8);
      } else {
        std::memcpy(&first, text.data() + text.size() - length, 8);
        last = a->text_tail;
      }
      return truth(first == word(at) &&
                   last == word(at + static_cast<std::uint32_t>(layout::fast_string_words(length))));
    }
    return truth(holds(at, prefix ? text.substr(0, length) : text.substr(text.size() - length)));
  }

  // A string attribute in a list of string constants.
  [[gnu::always_inline]] Truth string_in(std::uint32_t pc, const layout::FastHead& head) const noexcept {
    Test test;
    decode(pc, test);
    const Context::Attribute* a = test.attribute;
    if (a == nullptr) return missing(head);  // null is in no list of strings
    if (a->type != Context::Type::String) return Truth::Undecided;
    const std::uint64_t items = word(test.operands);
    if (items > mask_) return Truth::Undecided;  // torn: no list is longer than the form
    std::uint32_t item = test.operands + 1;
    for (std::uint64_t i = 0; i < items; ++i) {
      const std::uint64_t length = word(item) & 0xFFFFFFFF;  // torn: any value, masked anyway
      if (equals(item + 1, length, *a)) return Truth::True;
      item += static_cast<std::uint32_t>(2 + layout::fast_string_words(length));
    }
    return Truth::False;
  }

  // <, <=, >, >= of a number attribute and a number constant.
  Truth number_test(std::uint32_t pc, const layout::FastHead& head) const noexcept {
    Test test;
    decode(pc, test);
    const Context::Attribute* a = test.attribute;
    if (a == nullptr || a->type != Context::Type::Number) return Truth::Undecided;
    const double constant = std::bit_cast<double>(word(test.operands));
    const bool constant_first = (head.aux & layout::kFastConstantFirst) != 0;
    const double l = constant_first ? constant : a->number, r = constant_first ? a->number : constant;
    switch (static_cast<RuleOp>(head.aux & ~layout::kFastAuxFlags)) {  // NaN compares false everywhere
      case RuleOp::Less: return truth(l < r);
      case RuleOp::LessEqual: return truth(l < r || l == r);
      case RuleOp::Greater: return truth(r < l);
      case RuleOp::GreaterEqual: return truth(r < l || l == r);
      default: return Truth::Undecided;
    }
  }

  // sem_ver of a string attribute against a release parsed at load.
  [[gnu::always_inline]] Truth sem_ver(std::uint32_t pc, const layout::FastHead& head) const noexcept {
    Test test;
    decode(pc, test);
    const Context::Attribute* a = test.attribute;
    if (a == nullptr) return missing(head);  // null: sem_ver gives null
    if (a->type != Context::Type::String || a->text.size() > kMaxParsedVersionBytes) return Truth::Undecided;
    SemVer left;
    if (!parse_semver(a->text, left)) return Truth::False;
    const std::uint32_t at = test.operands;
    const SemVer right{word(at), word(at + 1), word(at + 2), {}, {}};
    const auto op = static_cast<SemVerOp>(head.aux & ~layout::kFastAuxFlags);
    if (op > SemVerOp::Minor) return Truth::Undecided;  // torn
    return truth(semver_holds(op, left, right));
  }

  // The bucket of flag key + targeting key, by the running totals the form holds.
  [[gnu::always_inline]] FastDecision fractional(std::uint32_t pc) const noexcept {
    const std::byte* const at = words_ + std::uint64_t{pc} * 8;  // pc <= mask_: words 1 to 3 are in the guard
    const std::uint64_t prefix_word = cell(at, 1), sizes = cell(at, 2), total = cell(at, 3);
    const std::uint64_t buckets = sizes >> 32;
    // torn: a count that runs past the form decides nothing; else every bucket lies in it
    if (pc + 4 + 3 * buckets > std::uint64_t{mask_} + 1) return kUndecided;
    const std::string_view tk = targeting_key(context_);
    if (tk.size() - 1 >= kMaxHashedKeyBytes) return tk.empty() ? kNull : kUndecided;  // one test for both
    const Murmur3Prefix prefix{static_cast<std::uint32_t>(prefix_word),
                               static_cast<std::uint32_t>(prefix_word >> 32) & 0xFFFFFF,
                               static_cast<std::uint32_t>(prefix_word >> 56) & 3, static_cast<std::uint32_t>(sizes)};
    const std::uint64_t point = fractional_point(murmur3_finish(prefix, tk), static_cast<std::uint32_t>(total));
    const std::byte* bucket = at + 4 * 8;
    for (std::uint64_t i = 0; i < buckets; ++i, bucket += 3 * 8) {
      if (cell(bucket, 0) <= point) continue;
      const std::uint64_t tag = cell(bucket, 1);
      switch (static_cast<layout::FastBucketKind>(tag & 0xFF)) {
        case layout::FastBucketKind::Variant:
          return FastDecision{Kind::Variant, static_cast<std::uint16_t>(tag >> 8), cell(bucket, 2)};
        case layout::FastBucketKind::Null: return kNull;
        default: return kUndecided;  // a bucket named by a number, a boolean or no variant
      }
    }
    return kNull;
  }

  const std::byte* const words_;
  const std::uint32_t mask_;  // the form's length - 1 (a power of two)
  const Context* const context_;
};

}  // namespace fast_form

// The fast form of flag `index`'s rule, checked to lie in the slot; false if the rule has none (or
// the reference is torn).
inline bool open_fast_form(const SlotView& slot, std::uint32_t index, layout::FastFormRef& form) noexcept {
  // Every run pays for this, so each range is one comparison: offsets are 32-bit and lengths far
  // smaller, so no sum overflows, and offsets are rounded down to a word instead of checked (a torn
  // one still names words inside the slot).
  const std::uint64_t ref_at =
      (slot.load<std::uint32_t>(offsetof(layout::ImageHeader, rules_offset)) & ~std::uint64_t{7}) +
      std::uint64_t{index} * sizeof(layout::RuleRef);
  if (ref_at + sizeof(layout::RuleRef) > slot.bytes) return false;
  const std::uint64_t w = slot.load<std::uint64_t>(ref_at + offsetof(layout::RuleRef, fast_offset));
  form = layout::FastFormRef{static_cast<std::uint32_t>(w) & ~std::uint32_t{7}, std::uint32_t{1} << ((w >> 32) & 31)};
  return form.offset != 0 && form.offset + (std::uint64_t{form.words} + layout::kFastGuardWords) * 8 <= slot.bytes;
}

// `form` must come from open_fast_form().
inline FastDecision run_fast_form(const SlotView& slot, layout::FastFormRef form, const Context* context) noexcept {
  return fast_form::FastForm(slot.image + form.offset, form.words, context).run();
}

// The same for a boolean flag, answered as detail::targeted_bool answers: the variant's payload as
// kTargetedTrue or kTargetedFalse, `null_answer` for null, kTargetedUndecided. Inlined into
// targeted_bool, so that the whole targeted get_bool is one call and no decision crosses one
// (measured: 3 to 7 instructions fewer per evaluation than a tail call into a function of its own).
struct AsTargetedBool {
  std::uint64_t null_answer;
  std::uint64_t operator()(const FastDecision& d) const noexcept {
    switch (d.kind) {
      case FastDecision::Kind::Variant: return d.payload != 0 ? kTargetedTrue : kTargetedFalse;
      case FastDecision::Kind::Null: return null_answer;
      default: return kTargetedUndecided;
    }
  }
};
[[gnu::always_inline]] inline std::uint64_t run_fast_form_bool(const SlotView& slot, layout::FastFormRef form,
                                                               const Context* context, std::uint64_t null_answer) noexcept {
  return fast_form::FastForm(slot.image + form.offset, form.words, context).run(AsTargetedBool{null_answer});
}

// The value-only evaluation of an enabled flag of kind `want`, in one read section of its own,
// when the answer is a payload: a static flag's default variant, or the variant a rule's fast
// form chooses. Value (the payload), Fallback (a rule gave null and the flag has no default
// variant), or General: anything else (another state or kind, no default variant, an undecided
// rule, a busy or malformed image), which the general path evaluates.
enum class FastValue : std::uint8_t { Value, Fallback, General };
inline FastValue fast_value(const Mapping& mapping, std::uint32_t index, layout::ValueKind want,
                              const Context& context, std::uint64_t& payload) noexcept {
  using layout::FlagRecord;
  FastValue outcome = FastValue::General;
  const auto body = [&](const SlotView& slot) {
    outcome = FastValue::General;
    const std::byte* record = record_at(slot, index);
    if (record == nullptr) return true;
    const std::uint64_t word0 = shared::load<std::uint64_t>(record);
    if (layout::word0_state(word0) != layout::FlagState::Enabled || layout::word0_kind(word0) != want) return true;
    if (!layout::word0_targeting(word0)) {  // static: its default variant, which the record holds
      if (layout::word0_default_variant(word0) == layout::kNoDefaultVariant) return true;
      payload = shared::load<std::uint64_t>(record + offsetof(FlagRecord, default_payload));
      outcome = FastValue::Value;
      return true;
    }
    layout::FastFormRef form;
    if (!open_fast_form(slot, index, form)) return true;
    const FastDecision decision = run_fast_form(slot, form, &context);
    switch (decision.kind) {
      case FastDecision::Kind::Variant:
        payload = decision.payload;
        outcome = FastValue::Value;
        break;
      case FastDecision::Kind::Null:
        if (layout::word0_default_variant(word0) == layout::kNoDefaultVariant) {
          outcome = FastValue::Fallback;
        } else {
          payload = shared::load<std::uint64_t>(record + offsetof(FlagRecord, default_payload));
          outcome = FastValue::Value;
        }
        break;
      case FastDecision::Kind::Undecided: break;
    }
    return true;
  };
  return read_section(mapping, body) == SectionResult::Ok ? outcome : FastValue::General;
}

}  // namespace flagd::detail
