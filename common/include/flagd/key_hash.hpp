// The hash of flag keys in an image's key table. Writer and readers must agree on it, so it is
// defined once, here. FNV-1a: short keys, no seed, no tables; only by-key lookups pay for it.
#pragma once

#include <cstdint>
#include <string_view>

namespace flagd {

inline std::uint32_t key_hash(std::string_view key) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

// Probes a lookup may make before giving up; the writer sizes the table so none needs more.
inline constexpr std::uint32_t kMaxKeyProbes = 32;

}  // namespace flagd
