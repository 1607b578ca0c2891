// Semantic versions as flagd's sem_ver operator reads them (golang.org/x/mod/semver): SemVer 2.0,
// a leading v/V allowed, "1" and "1.2" meaning 1.0.0 and 1.2.0 (only without pre-release or
// build), no leading zeros (but in build metadata), no fourth part, numbers of any length. Build
// metadata is ignored in comparisons. Nothing allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace flagd {

// A part of more than 18 digits (flagd's engine takes any number of them) reads as kBigPart,
// above every shorter one, with its digits in `big`.
inline constexpr std::uint64_t kBigPart = 1'000'000'000'000'000'000;

struct SemVer {
  // A part's digits, where it is kBigPart.
  struct Digits {
    const char* text;
    std::size_t size;
    std::string_view view() const noexcept { return {text, size}; }
  };
  std::uint64_t major = 0, minor = 0, patch = 0;
  std::string_view prerelease;  // empty: a release
  // Not initialized by default (a version is parsed on every sem_ver evaluation): read only for a
  // part of kBigPart, which parse_semver_decorated alone gives, having cleared them all first.
  Digits big[3];
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
namespace detail {
// Two parts of kBigPart by their digits; two pre-releases by SemVer's order (both not empty).
int compare_big_parts(std::string_view a, std::string_view b) noexcept;
int compare_prereleases(std::string_view a, std::string_view b) noexcept;

inline int compare_part(std::uint64_t a, std::string_view a_big, std::uint64_t b, std::string_view b_big) noexcept {
  if (a != b) return a < b ? -1 : 1;
  return a == kBigPart ? compare_big_parts(a_big, b_big) : 0;
}
}  // namespace detail

// The major part alone (sem_ver's ^), and major and minor (~): <0, 0, >0.
inline int compare_semver_major(const SemVer& a, const SemVer& b) noexcept {
  return detail::compare_part(a.major, a.big[0].view(), b.major, b.big[0].view());
}
inline int compare_semver_minor(const SemVer& a, const SemVer& b) noexcept {
  if (const int c = compare_semver_major(a, b); c != 0) return c;
  return detail::compare_part(a.minor, a.big[1].view(), b.minor, b.big[1].view());
}

// <0, 0, >0 by SemVer precedence (inline: a sem_ver rule compares on every evaluation).
inline int compare_semver(const SemVer& a, const SemVer& b) noexcept {
  if (const int c = compare_semver_minor(a, b); c != 0) return c;
  if (const int c = detail::compare_part(a.patch, a.big[2].view(), b.patch, b.big[2].view()); c != 0) return c;
  if (a.prerelease.empty() || b.prerelease.empty())
    return a.prerelease.empty() == b.prerelease.empty() ? 0 : (a.prerelease.empty() ? 1 : -1);
  return detail::compare_prereleases(a.prerelease, b.prerelease);
}

// sem_ver's comparisons (the fast form stores one in a byte: the values are part of its layout).
enum class SemVerOp : std::uint8_t { Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual, Major, Minor };

// The comparison flagd's sem_ver names `text` ("=", "!=", "<", "<=", ">", ">=", "^", "~"); false for
// any other text (sem_ver then gives null).
inline bool parse_semver_op(std::string_view text, SemVerOp& op) noexcept {
  static constexpr std::string_view kNames[] = {"=", "!=", "<", "<=", ">", ">=", "^", "~"};
  for (std::size_t i = 0; i < std::size(kNames); ++i)
    if (kNames[i] == text) {
      op = static_cast<SemVerOp>(i);
      return true;
    }
  return false;
}

// Whether `a op b` holds: ^ compares the major parts, ~ major and minor, the others precedence.
inline bool semver_holds(SemVerOp op, const SemVer& a, const SemVer& b) noexcept {
  switch (op) {
    case SemVerOp::Major: return compare_semver_major(a, b) == 0;
    case SemVerOp::Minor: return compare_semver_minor(a, b) == 0;
    default: break;
  }
  const int c = compare_semver(a, b);
  switch (op) {
    case SemVerOp::Equal: return c == 0;
    case SemVerOp::NotEqual: return c != 0;
    case SemVerOp::Less: return c < 0;
    case SemVerOp::LessEqual: return c <= 0;
    case SemVerOp::Greater: return c > 0;
    case SemVerOp::GreaterEqual: return c >= 0;
    default: return false;
  }
}

}  // namespace flagd
