// MurmurHash3_x86_32 (Austin Appleby's public-domain algorithm), the hash flagd's `fractional`
// operator buckets with: over the UTF-8 bytes of the bucketing key, seed 0.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace flagd {

namespace detail {
inline constexpr std::uint32_t rotl32(std::uint32_t x, int r) noexcept { return (x << r) | (x >> (32 - r)); }
}  // namespace detail

// The hash of a key that continues: the state after the whole 4-byte blocks of a prefix, with the
// prefix's last 0..3 bytes carried. `fractional` hashes flag key + targeting key; the flag key is
// known when the file loads, so its part of the work is done there (and stored in the rule).
struct Murmur3Prefix {
  std::uint32_t h = 0;
  std::uint32_t carry = 0;        // the prefix's last `carry_bytes` bytes, little-endian
  std::uint32_t carry_bytes = 0;  // 0..3
  std::uint32_t length = 0;       // bytes of the prefix
};

namespace detail {
inline constexpr std::uint32_t kMurmurC1 = 0xcc9e2d51, kMurmurC2 = 0x1b873593;
inline std::uint32_t murmur3_mix(std::uint32_t h, std::uint32_t k) noexcept {
  k *= kMurmurC1;
  k = rotl32(k, 15);
  k *= kMurmurC2;
  h ^= k;
  h = rotl32(h, 13);
  return h * 5 + 0xe6546b64;
}
}  // namespace detail

inline Murmur3Prefix murmur3_prefix(std::string_view a, std::uint32_t seed = 0) noexcept {
  Murmur3Prefix p;
  p.h = seed;
  std::size_t i = 0;
  for (; i + 4 <= a.size(); i += 4) {
    std::uint32_t k;
    std::memcpy(&k, a.data() + i, 4);  // little-endian, as the reference reads blocks
    p.h = detail::murmur3_mix(p.h, k);
  }
  for (std::size_t j = i; j < a.size(); ++j)
    p.carry |= static_cast<std::uint32_t>(static_cast<unsigned char>(a[j])) << (8 * (j - i));
  p.carry_bytes = static_cast<std::uint32_t>(a.size() - i);
  p.length = static_cast<std::uint32_t>(a.size());
  return p;
}

// The hash of the prefix followed by `b`. Partial blocks are read with whole 4-byte loads where
// `b` is long enough (shifting the unwanted bytes out) rather than byte by byte: the targeting key
// of a rollout is hashed on every evaluation.
inline std::uint32_t murmur3_finish(const Murmur3Prefix& p, std::string_view b) noexcept {
  std::uint32_t h = p.h;
  std::uint32_t k = p.carry;
  std::uint32_t have = p.carry_bytes;  // bytes in k
  const auto* data = reinterpret_cast<const unsigned char*>(b.data());
  const std::size_t n = b.size();
  std::size_t i = 0;
  // Complete the carried block from b's first bytes.
  if (have != 0) {
    const std::size_t need = 4 - have;
    if (n >= 4) {
      std::uint32_t w;
      std::memcpy(&w, data, 4);
      k |= w << (8 * have);  // b's first `need` bytes, above the carried ones
      i = need;
      have = 4;
    } else {
      for (; have < 4 && i < n; ++have, ++i) k |= static_cast<std::uint32_t>(data[i]) << (8 * have);
    }
    if (have == 4) {
      h = detail::murmur3_mix(h, k);
      k = 0;
      have = 0;
    }
  }
  if (have == 0) {
    // Two blocks a round: the loop's own count and branch are a fifth of a block's work.
    for (; i + 8 <= n; i += 8) {
      std::uint32_t k2;
      std::memcpy(&k, data + i, 4);
      std::memcpy(&k2, data + i + 4, 4);
      h = detail::murmur3_mix(detail::murmur3_mix(h, k), k2);
    }
    for (; i + 4 <= n; i += 4) {
      std::memcpy(&k, data + i, 4);
      h = detail::murmur3_mix(h, k);
    }
    const std::size_t rest = n - i;
    k = 0;
    if (rest != 0 && n >= 4) {
      std::uint32_t w;
      std::memcpy(&w, data + n - 4, 4);  // ends with the rest: shift the bytes before it out
      k = w >> (8 * (4 - rest));
      have = static_cast<std::uint32_t>(rest);
    } else {
      for (; i < n; ++i, ++have) k |= static_cast<std::uint32_t>(data[i]) << (8 * have);
    }
  }
  if (have != 0) {
    k *= detail::kMurmurC1;
    k = detail::rotl32(k, 15);
    k *= detail::kMurmurC2;
    h ^= k;
  }
  h ^= static_cast<std::uint32_t>(p.length + n);
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

// Hashes the concatenation of `a` and `b` without building it (flag key + targeting key).
inline std::uint32_t murmur3_x86_32(std::string_view a, std::string_view b = {}, std::uint32_t seed = 0) noexcept {
  return murmur3_finish(murmur3_prefix(a, seed), b);
}

}  // namespace flagd
