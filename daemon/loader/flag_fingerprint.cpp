#include "flag_fingerprint.hpp"

#include <bit>
#include <cstring>
#include <string_view>

#include "flagd/key_hash.hpp"

namespace flagd {

namespace {

// Eight bytes per multiply: the loader hashes every flag of every reload.
class Hash64 {
 public:
  void word(std::uint64_t w) noexcept {
    h_ = (h_ ^ w) * 0xbf58476d1ce4e5b9ull;
    h_ ^= h_ >> 31;
  }
  void text(std::string_view s) noexcept {
    word(s.size());
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      word(w);
    }
    if (i < s.size()) word(tail_word(s.data() + i, s.size() - i));
  }
  void number(double d) noexcept { word(std::bit_cast<std::uint64_t>(d)); }
  std::uint64_t finish() const noexcept {
    std::uint64_t h = h_ * 0x94d049bb133111ebull;
    h ^= h >> 32;
    return h != 0 ? h : 1;
  }

 private:
  std::uint64_t h_ = 0x9E3779B97F4A7C15ull;
};

}  // namespace

std::uint64_t fingerprint(const FlagDefinition& flag) noexcept {
  Hash64 h;
  h.text(flag.key);
  h.word(std::uint64_t{flag.enabled} | std::uint64_t{static_cast<std::uint8_t>(flag.kind)} << 8 |
         std::uint64_t{flag.default_variant.value_or(0xFFFF)} << 16 | std::uint64_t{flag.variants.size()} << 32);
  for (const auto& v : flag.variants) {
    h.text(v.key);
    h.word(std::uint64_t{static_cast<std::uint8_t>(v.value.kind)} | std::uint64_t{v.value.boolean} << 8);
    h.number(v.value.number);
    h.text(v.value.text);
  }
  h.word(flag.metadata.size());
  for (const auto& m : flag.metadata) {
    h.text(m.key);
    h.word(std::uint64_t{static_cast<std::uint8_t>(m.kind)} | std::uint64_t{m.boolean} << 8);
    h.number(m.number);
    h.text(m.text);
  }
  h.word(flag.rule.size());
  for (const auto& n : flag.rule) {
    h.word(std::uint64_t{static_cast<std::uint8_t>(n.op)} | std::uint64_t{n.argc} << 8 | std::uint64_t{n.first} << 24 |
           std::uint64_t{n.boolean} << 56 | std::uint64_t{static_cast<std::uint8_t>(n.fused)} << 57);
    h.number(n.number);
    h.text(n.text);
  }
  return h.finish();
}

}  // namespace flagd
