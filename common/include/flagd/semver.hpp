// Semantic versions as flagd's sem_ver operator reads them (golang.org/x/mod/semver): SemVer 2.0,
// a leading v/V allowed, "1" and "1.2" meaning 1.0.0 and 1.2.0 (only without pre-release or
// build), no leading zeros (but in build metadata), no fourth part, numbers of any length. Build
// metadata is ignored in comparisons. Nothing allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace flagd {

// A part of more than 18 digits (flagd's engine takes any number of them) reads as kBigPart,
// above every shorter one, with its digits in `big`.
inline constexpr std::uint64_t kBigPart = 1'000'000'000'000'000'000;

struct SemVer {
  std::uint64_t major = 0, minor = 0, patch = 0;
  std::string_view prerelease;  // empty: a release
  std::string_view big[3];      // a part's digits where it is kBigPart
};

namespace detail {
// Every form but the plain one below, and every invalid text.
bool parse_semver_decorated(std::string_view text, SemVer& out) noexcept;

// The commonest form, digits and dots only ("2.10.3", "v1.2", "7"), read in one pass, a part at a
// time; inline, since a sem_ver rule parses its attribute on every evaluation. True only for a
// valid version of that form; anything else (including invalid plain forms) is left to
// parse_semver_decorated, which alone decides what is invalid.
inline bool parse_semver_plain(std::string_view text, SemVer& out) noexcept {
  const char* p = text.data();
  const char* const end = p + text.size();
  if (p != end && (*p | 0x20) == 'v') ++p;  // 'v' or 'V', and no other byte
  std::uint64_t* const parts[3] = {&out.major, &out.minor, &out.patch};
  out.minor = 0;
  out.patch = 0;
  for (std::size_t part = 0;; ++part) {
    const char* const start = p;
    std::uint64_t value = 0;
    for (; p != end && static_cast<unsigned char>(*p - '0') < 10; ++p)
      value = value * 10 + static_cast<unsigned char>(*p - '0');
    const std::size_t digits = static_cast<std::size_t>(p - start);
    // none, long enough to overflow (18 digits never do), or a leading zero
    if (digits - 1 >= 18 || (digits > 1 && *start == '0')) return false;
    *parts[part] = value;
    if (p == end) break;
    if (*p != '.' || part == 2) return false;
    ++p;
  }
  out.prerelease = {};
  return true;
}
}  // namespace detail

inline bool parse_semver(std::string_view text, SemVer& out) noexcept {
  return detail::parse_semver_plain(text, out) || detail::parse_semver_decorated(text, out);
}
// <0, 0, >0 by SemVer precedence.
int compare_semver(const SemVer& a, const SemVer& b) noexcept;
// The same for the major part alone (sem_ver's ^), and for major and minor (~).
int compare_semver_major(const SemVer& a, const SemVer& b) noexcept;
int compare_semver_minor(const SemVer& a, const SemVer& b) noexcept;

}  // namespace flagd
