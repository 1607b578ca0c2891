// flagd's `fractional` (its "v2" bucketing), defined once for the loader, which compiles
// constant buckets into a rule's fast form, and the reader, whose interpreter and fast form
// evaluate it: a bucket's weight, the total, the point a key's hash falls on, and which buckets
// are constant (read where they lie, never evaluated).
#pragma once

#include <cstdint>

#include "flagd/rule_layout.hpp"

namespace flagd {

// The largest total of weights a rollout may have (flagd rejects more: the bucket index is
// computed in 32 bits).
inline constexpr std::uint64_t kMaxFractionalTotal = 2147483647;

// The weight a number in a bucket's second place gives: false if it is not a whole number no
// larger than kMaxFractionalTotal (the rollout then gives null); a negative whole number weighs 0.
// flagd's engine checks float64(int64(d)) == d, so below -2^63 (where int64 conversion gives
// its "indefinite" value) nothing is whole. NaN fails every comparison.
inline bool fractional_weight(double d, std::uint64_t& weight) noexcept {
  const bool valid = d <= static_cast<double>(kMaxFractionalTotal) && d >= -9223372036854775808.0 &&
                     d == static_cast<double>(static_cast<std::int64_t>(d));
  weight = valid && d > 0 ? static_cast<std::uint64_t>(d) : 0;
  return valid;
}

// A total that buckets anything: a rollout of no weight, or too much, gives null.
inline bool fractional_total_ok(std::uint64_t total) noexcept { return total != 0 && total <= kMaxFractionalTotal; }

// The point in [0, total) the key's MurmurHash3 falls on (a total fractional_total_ok() accepts
// fits 32 bits); the bucket chosen is the first whose running total of weights exceeds it.
inline std::uint64_t fractional_point(std::uint32_t hash, std::uint32_t total) noexcept {
  return (std::uint64_t{hash} * total) >> 32;
}

// A bucket of constants, [variant, weight?, extras...]: a string, boolean, number or null variant;
// a number or null weight (absent or null: 1); constant extras, which flagd ignores.
struct ConstantBucket {
  std::uint32_t variant = 0;  // its node
  std::uint64_t weight = 1;
  bool valid = true;          // the weight is one (fractional_weight)
};

// Whether node `bucket` is such a bucket. `Nodes` reads a rule's nodes by index: op(i) (Count_
// for no node), argc(i), first(i) (its operands lie in the rule when op(i) is a node's) and
// number(i); the loader's drafts and the reader's image both provide it.
template <class Nodes>
bool constant_bucket(const Nodes& nodes, std::uint32_t bucket, ConstantBucket& out) noexcept {
  using layout::RuleOp;
  if (nodes.op(bucket) != RuleOp::Array || nodes.argc(bucket) == 0) return false;
  const std::uint32_t first = nodes.first(bucket), argc = nodes.argc(bucket);
  const RuleOp variant = nodes.op(first);
  if (variant != RuleOp::String && variant != RuleOp::Bool && variant != RuleOp::Number && variant != RuleOp::Null)
    return false;
  out = ConstantBucket{first, 1, true};
  if (argc >= 2) {
    const RuleOp weight = nodes.op(first + 1);
    if (weight == RuleOp::Number) out.valid = fractional_weight(nodes.number(first + 1), out.weight);
    else if (weight != RuleOp::Null) return false;  // a computed or non-number weight
  }
  for (std::uint32_t k = 2; k < argc; ++k) {
    const RuleOp extra = nodes.op(first + k);
    if (extra > RuleOp::String && extra != RuleOp::Object) return false;
  }
  return true;
}

// Whether the `argc` buckets from node `first` (a fractional's operands) are all constant, with
// the total of their weights and whether every weight is valid.
template <class Nodes>
bool constant_buckets(const Nodes& nodes, std::uint32_t first, std::uint32_t argc, std::uint64_t& total,
                      bool& valid) noexcept {
  total = 0;
  valid = true;
  for (std::uint32_t i = 0; i < argc; ++i) {
    ConstantBucket b;
    if (!constant_bucket(nodes, first + i, b)) return false;
    valid = valid && b.valid;
    total += b.weight;
  }
  return true;
}

// The variant node of the constant bucket `point` falls in; false if none (or one is not constant).
template <class Nodes>
bool constant_bucket_at(const Nodes& nodes, std::uint32_t first, std::uint32_t argc, std::uint64_t point,
                        std::uint32_t& variant) noexcept {
  std::uint64_t running = 0;
  for (std::uint32_t i = 0; i < argc; ++i) {
    ConstantBucket b;
    if (!constant_bucket(nodes, first + i, b)) return false;
    running += b.weight;
    if (running > point) {
      variant = b.variant;
      return true;
    }
  }
  return false;
}

}  // namespace flagd
