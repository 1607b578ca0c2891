// The fast form of a targeting rule: the shapes nearly every flag file is made of, compiled at
// load into straight-line code that a reader runs without a stack, in one pass, reading its
// constants where they lie.
//
// Covered: an `if` chain whose conditions are and/or/!/!! over attribute tests (==, !=, ===, !==,
// starts_with, ends_with and `in` against string constants; sem_ver against a release version;
// <, <=, >, >= against a number) and whose results are variant names, null, nested ifs or a
// `fractional` with constant buckets; or such a `fractional` alone. A part of a rule outside that
// set compiles to an Undecided instruction: the reader then evaluates the whole rule with the
// general interpreter. The compiled RuleNode array (rule_layout.hpp) stays the rule's reference
// form; the fast form is an addition, and a rule may have none.
//
// A fast form is an array of 64-bit words (FastFormRef gives where), a power of two of them (zero
// words pad it), so that a reader masks every index it reads with the length - 1 and stays inside
// the form whatever torn words say; kFastGuardWords zero words follow it, so that an instruction
// at index i <= length - 1 may read its words i + 1 .. i + kFastGuardWords - 1 unmasked.
// Instructions follow one another; the first is at word 0.
// Every instruction begins with
//
//    63          48 47          32 31          16 15     8 7      0
//   +--------------+--------------+--------------+--------+--------+
//   | on_false     | on_true      | words        | aux    | op     |
//   +--------------+--------------+--------------+--------+--------+
//
// `words` is the instruction's length, word 0 included. Tests continue at instruction on_true or
// on_false (word indexes, always after the test itself, so every run ends); a test whose
// attribute is of a type it does not compare gives Undecided instead. Results end the run. A
// target that is a result (Variant, Null, Undecided) carries kFastResultTarget, so that a run ends
// there without going round its loop once more.
//
// Tests name a context attribute by the words after word 0:
//   word 1        key_hash(path) | path length << 32 | operand length << 48 (the string tests'
//                 constant, else 0)
//   words 2..     the path's bytes, zero-padded: length / 8 + 1 words (fast_string_words)
// and then their operands:
//   StringEqual,  the constant's bytes, zero-padded, then its last 8 bytes as a word (all of it,
//   StartsWith,   as its first word, if shorter): with the context's first and last words of
//   EndsWith      the value, strings of up to 16 bytes compare in two loads. != and !== are
//                 StringEqual with its targets swapped (a missing attribute is null, equal to
//                 no string)
//   StringIn      a count word; per item a length word, its bytes, zero-padded, and its last
//                 8 bytes as above
//   NumberTest    aux: the RuleOp (Less, LessEqual, Greater, GreaterEqual) | kFastConstantFirst;
//                 the constant's double bits
//   SemVerTest    aux: a SemVerOp (semver.hpp); the constant release's major, minor and patch words
// A test's aux also carries kFastPathMayNameListElement.
//
// The short tests: the string tests again, for a path of at most 16 bytes and constants of at most
// 16 (kMaxFastShortBytes), nearly every test in practice. All their words sit at fixed places, so
// a reader reads them from the instruction's index without masking each, and finds the attribute
// by the path's first and last words without a length check. Word 0's `words` field holds the
// operand instead of the length: the constant's length, or ShortIn's item count.
//   word 1        key_hash(path) | path length << 32
//   word 2, 3     the path's first 8 bytes and its last 8 (the whole path, zero-padded, in both
//                 if shorter): with the length they are the whole path
//   ShortEqual    word 4, 5: the constant's first and last words, as word 2 and 3
//   ShortStarts-  word 4: the constant's first word; word 5: its last word if it is longer than
//   With          8 bytes, else the mask of its bytes in a word
//   ShortEndsWith word 4, 5: the constant's first and last words
//   ShortIn       per item three words: its length, first word and last word
//
// Results:
//   Variant       word 1: the variant's index; word 2: its payload (as in its VariantRecord)
//   Null          the rule gives null (the flag's default variant)
//   Undecided     the general interpreter decides the rule
//   Fractional    word 1: the flag key's MurmurHash3 prefix, h | carry << 32 | carry_bytes << 56;
//                 word 2: the flag key's length | bucket count << 32; word 3: the weights' total
//                 (1 to kMaxFractionalTotal); per bucket three words: the running total of the
//                 weights up to and including it, a FastBucket word, the variant's payload
#pragma once

#include <cstdint>

namespace flagd::layout {

enum class FastOp : std::uint8_t {
  Jump,  // on_true only
  StringEqual, StartsWith, EndsWith, StringIn, NumberTest, SemVerTest,
  Variant, Null, Undecided, Fractional,
  ShortEqual, ShortStartsWith, ShortEndsWith, ShortIn,
  Count_
};

// Word 0 of an instruction.
struct FastHead {
  FastOp op;
  std::uint8_t aux;
  std::uint16_t words, on_true, on_false;  // words: a short test's operand instead
};

inline constexpr bool is_short_test(FastOp op) noexcept {
  return op == FastOp::ShortEqual || op == FastOp::ShortStartsWith || op == FastOp::ShortEndsWith ||
         op == FastOp::ShortIn;
}

inline constexpr std::uint64_t pack_fast_head(FastHead h) noexcept {
  return static_cast<std::uint64_t>(h.op) | std::uint64_t{h.aux} << 8 | std::uint64_t{h.words} << 16 |
         std::uint64_t{h.on_true} << 32 | std::uint64_t{h.on_false} << 48;
}
inline constexpr FastHead unpack_fast_head(std::uint64_t w) noexcept {
  return FastHead{static_cast<FastOp>(w & 0xFF), static_cast<std::uint8_t>(w >> 8), static_cast<std::uint16_t>(w >> 16),
                  static_cast<std::uint16_t>(w >> 32), static_cast<std::uint16_t>(w >> 48)};
}

// Longest fast form: a power of two whose word indexes fit the 16-bit jump targets, beside
// kFastResultTarget.
inline constexpr std::uint32_t kMaxFastFormWords = 32768;
inline constexpr std::uint16_t kFastResultTarget = 0x8000;
// Zero words after a form's power-of-two length (see above), counted in neither FastFormRef::words
// nor fast_words_log2.
inline constexpr std::uint32_t kFastGuardWords = 8;
// Longest path and constant of a short test: two words each.
inline constexpr std::uint64_t kMaxFastShortBytes = 16;

// Words a string of `length` bytes takes: its bytes and at least one zero byte, so that a string
// of up to 8 bytes is compared in one load, the empty one included.
inline constexpr std::uint64_t fast_string_words(std::uint64_t length) noexcept { return length / 8 + 1; }
// Longest path or constant a test holds (lengths are 16-bit fields).
inline constexpr std::uint64_t kMaxFastStringBytes = 65535;

// Test aux bit: the path has more than one segment (see kPathMayNameListElement).
inline constexpr std::uint8_t kFastPathMayNameListElement = 0x40;
// NumberTest aux bit: the constant is the comparison's left operand.
inline constexpr std::uint8_t kFastConstantFirst = 0x80;
// Test aux bits that are not the operator.
inline constexpr std::uint8_t kFastAuxFlags = kFastPathMayNameListElement | kFastConstantFirst;

// A Fractional bucket: its kind in the low byte, the variant's index in bits 8..23.
enum class FastBucketKind : std::uint8_t { Variant, Null, Undecided };
inline constexpr std::uint64_t pack_fast_bucket(FastBucketKind kind, std::uint16_t variant) noexcept {
  return static_cast<std::uint64_t>(kind) | std::uint64_t{variant} << 8;
}

// Where a reader found a fast form (from RuleRef).
struct FastFormRef {
  std::uint32_t offset;  // 8-aligned, in the image
  std::uint32_t words;   // a power of two; kFastGuardWords zero words follow
};

}  // namespace flagd::layout
