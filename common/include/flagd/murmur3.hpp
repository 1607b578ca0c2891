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

// Hashes the concatenation of `a` and `b` without building it (flag key + targeting key).
inline std::uint32_t murmur3_x86_32(std::string_view a, std::string_view b = {},
                                    std::uint32_t seed = 0) noexcept {
  constexpr std::uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  const std::size_t length = a.size() + b.size();
  const auto byte_at = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(i < a.size() ? a[i] : b[i - a.size()]));
  };
  std::uint32_t h = seed;
  std::size_t i = 0;
  for (; i + 4 <= length; i += 4) {
    std::uint32_t k;
    if (i + 4 <= a.size()) {
      std::memcpy(&k, a.data() + i, 4);  // little-endian, as the reference reads blocks
    } else if (i >= a.size()) {
      std::memcpy(&k, b.data() + (i - a.size()), 4);
    } else {
      k = byte_at(i) | byte_at(i + 1) << 8 | byte_at(i + 2) << 16 | byte_at(i + 3) << 24;
    }
    k *= c1;
    k = detail::rotl32(k, 15);
    k *= c2;
    h ^= k;
    h = detail::rotl32(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  std::uint32_t k = 0;
  switch (length - i) {
    case 3: k ^= byte_at(i + 2) << 16; [[fallthrough]];
    case 2: k ^= byte_at(i + 1) << 8; [[fallthrough]];
    case 1:
      k ^= byte_at(i);
      k *= c1;
      k = detail::rotl32(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<std::uint32_t>(length);
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

}  // namespace flagd
