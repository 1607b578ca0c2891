// The compiled form of targeting rules inside an image.
//
// A flag's rule is an array of RuleNode. Node 0 is the root; a node's operands are the `argc`
// nodes starting at `first`, so every node's children are contiguous and no node points back.
// The array is reached through the image's RuleRef table (one entry per flag index, beside the
// records, so that FlagRecord stays 32 bytes for the static hot path), which also gives the rule's
// fast form, if it has one (fast_form.hpp). Strings (constants and
// `var` paths) are image strings; `var` paths carry their key hash, so that a lookup in the
// evaluation context compares hashes before bytes and never hashes at evaluation time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flagd::layout {

enum class RuleOp : std::uint8_t {
  // constants
  Null, Bool, Number, String, Array, Object,
  // context
  Var, FlagKey, Timestamp, Missing, MissingSome,
  // logic and comparison
  If, Equal, StrictEqual, NotEqual, StrictNotEqual, Not, NotNot, Or, And,
  Less, LessEqual, Greater, GreaterEqual,
  // arithmetic
  Max, Min, Add, Subtract, Multiply, Divide, Modulo,
  // strings and arrays
  In, Cat, Substr, Merge, Map, Filter, Reduce, All, None, Some,
  // flagd's operators
  Fractional, SemVer, StartsWith, EndsWith,
  // An operation flagd's engine fails when evaluation reaches it (PARSE_ERROR): an unknown
  // operator (a $ref left unexpanded included), or operands it cannot take (`if` of a number).
  Invalid,
  // A context attribute tested against constants, fused at load from ==, !=, ===, !==,
  // starts_with, ends_with (attribute first) or in (attribute in a list of strings): the same
  // operator, evaluated without copying the constants out of the image. `a`: the attribute's path;
  // `b`: its key hash | the original operator << 32; the one operand: the constant(s).
  AttrTest,
  // jsonlogic's operators beyond the classic set
  Abs, Set, ContainsAll, ContainsAny, ContainsNone,
  // The one operand of an operator written with a single value instead of an array of them
  // ({"!": {"var": "a"}}): flagd's engine hands the operator that value's evaluation as its whole
  // operand list, so an array it evaluates to is the list, and anything else a value the
  // operator takes or fails on as it does.
  Spread,
  // `var` of a path known only at evaluation ({"var": {"cat": ...}}, {"var": null}, the array
  // form with more than two operands): the one operand is the var's operand, evaluated.
  VarOf,
  // {"var": "$flagd"}: the object of flagd's properties, {"flagKey": ..., "timestamp": ...}.
  FlagdObject,
  Count_
};

// RuleNode::flags bits.
// The path of a Var or AttrTest node has more than one segment: when no attribute has the whole
// path, a shorter one may name a list attribute, whose element the next segment names ("tags.0",
// and, as flagd reads a segment as a number, "tags.x" too), which only the general evaluator
// resolves.
inline constexpr std::uint8_t kPathMayNameListElement = 1;
// A Fractional node carries the MurmurHash3 prefix of its flag's key (murmur3.hpp), hashed at load:
// `a` = h | carry << 32 | carry_bytes << 56, `b` = the key's length.
inline constexpr std::uint8_t kFlagKeyHashed = 2;

struct RuleNode {
  RuleOp op;
  std::uint8_t flags;   // kPathMayNameListElement, kFlagKeyHashed, else 0
  std::uint16_t argc;   // operands, at [first, first + argc)
  std::uint32_t first;
  std::uint64_t a;      // Bool: 0/1; Number: double bits; String, Var: packed StringRef; Object:
                        // packed StringRef of its JSON text as flagd's engine encodes it
  std::uint64_t b;      // Var: key hash of the path; String: index + 1 of the variant it names, or 0
};
static_assert(sizeof(RuleNode) == 24);
static_assert(offsetof(RuleNode, flags) == 1);
static_assert(offsetof(RuleNode, first) == 4);
static_assert(offsetof(RuleNode, a) == 8);

struct RuleRef {
  std::uint32_t nodes_offset;  // RuleNode[node_count], 0 if the flag has no rule
  std::uint32_t node_count;
  std::uint32_t fast_offset;      // the rule's fast form (fast_form.hpp); 0: the rule has none
  std::uint32_t fast_words_log2;  // it has 1 << fast_words_log2 words: a power of two by construction
};
static_assert(sizeof(RuleRef) == 16);
static_assert(offsetof(RuleRef, fast_offset) == 8);

}  // namespace flagd::layout
