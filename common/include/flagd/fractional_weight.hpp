// flagd's rule for a `fractional` bucket's weight, shared by the loader (which sums constant
// weights into the fast form, fast_form.hpp) and the reader's interpreter.
#pragma once

#include <cstdint>

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

}  // namespace flagd
