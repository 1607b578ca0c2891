// The hash of flag keys in an image's key table. Writer and readers must agree on it, so it is
// defined once, here. Eight bytes per multiply, then a full 64-bit finalizer: flag keys are short
// and only by-key lookups pay for it; the table's probe limit, not the hash, bounds the worst case.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace flagd {

// The last 0..7 bytes of a key as a little-endian word (a variable-length memcpy would be a call).
// Built from fixed-size pieces (4, 2, 1 bytes), which compile to plain loads.
inline std::uint64_t tail_word(const char* p, std::size_t n) noexcept {
  std::uint64_t word = 0;
  std::size_t at = 0;
  if (n & 4) {
    std::uint32_t piece;
    std::memcpy(&piece, p, 4);
    word = piece;
    at = 4;
  }
  if (n & 2) {
    std::uint16_t piece;
    std::memcpy(&piece, p + at, 2);
    word |= std::uint64_t{piece} << (8 * at);
    at += 2;
  }
  if (n & 1) word |= std::uint64_t{static_cast<unsigned char>(p[at])} << (8 * at);
  return word;
}

// The first 8 bytes of a string as a little-endian word, zero-padded: how image strings begin, so
// one comparison of words settles most short keys and values.
// The last 8 bytes of `s` as a little-endian word, or head_word(s) if it is shorter: with
// head_word, two loads that cover any string of up to 16 bytes.
inline std::uint64_t tail_word_of(std::string_view s) noexcept {
  if (s.size() < 8) return tail_word(s.data(), s.size());
  std::uint64_t word;
  std::memcpy(&word, s.data() + s.size() - 8, 8);
  return word;
}

inline std::uint64_t head_word(std::string_view s) noexcept {
  if (s.size() >= 8) {
    std::uint64_t word;
    std::memcpy(&word, s.data(), 8);
    return word;
  }
  return tail_word(s.data(), s.size());
}

inline std::uint32_t key_hash(std::string_view key) noexcept {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ key.size();
  std::size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, key.data() + i, 8);
    h = (h ^ word) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;  // a product's high bits carry the word's high bytes: fold them down
  }
  h ^= tail_word(key.data() + i, key.size() - i);
  // MurmurHash3's 64-bit finalizer: every input bit reaches the low bits that pick the slot.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return static_cast<std::uint32_t>(h);
}

// Probes a lookup may make before giving up; the writer sizes the table so none needs more.
inline constexpr std::uint32_t kMaxKeyProbes = 32;

}  // namespace flagd
