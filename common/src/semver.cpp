#include "flagd/semver.hpp"

#include <charconv>

namespace flagd {

namespace {

bool is_digits(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool numeric_part(std::string_view s, std::uint64_t& out, SemVer::Digits& big) noexcept {
  if (!is_digits(s) || (s.size() > 1 && s[0] == '0')) return false;
  if (s.size() > 18) {
    out = kBigPart;
    big = SemVer::Digits{s.data(), s.size()};
    return true;
  }
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// A pre-release (`numeric_zeros` false) or build identifier: [0-9A-Za-z-]+, and in a pre-release
// no number with a leading zero.
bool identifier_ok(std::string_view id, bool numeric_zeros) noexcept {
  if (id.empty()) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) return false;
  return numeric_zeros || !(is_digits(id) && id.size() > 1 && id[0] == '0');
}

bool identifiers_ok(std::string_view s, bool numeric_zeros) noexcept {
  for (std::size_t guard = 0; guard <= s.size(); ++guard) {
    const std::size_t dot = s.find('.');
    if (!identifier_ok(s.substr(0, dot), numeric_zeros)) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
  return false;
}

}  // namespace

bool detail::parse_semver_decorated(std::string_view text, SemVer& out) noexcept {
  out = SemVer{};
  if (!text.empty() && (text[0] == 'v' || text[0] == 'V')) text.remove_prefix(1);
  std::string_view build;
  if (const std::size_t plus = text.find('+'); plus != std::string_view::npos) {
    build = text.substr(plus + 1);
    text = text.substr(0, plus);
    if (!identifiers_ok(build, true)) return false;
  }
  const std::size_t dash = text.find('-');
  const std::string_view core = text.substr(0, dash);
  const bool decorated = dash != std::string_view::npos || !build.empty();
  if (dash != std::string_view::npos) {
    out.prerelease = text.substr(dash + 1);
    if (!identifiers_ok(out.prerelease, false)) return false;
  }
  std::uint64_t parts[3] = {0, 0, 0};
  std::size_t count = 0;
  std::string_view rest = core;
  for (;;) {
    if (count == 3) return false;  // a fourth part
    const std::size_t dot = rest.find('.');
    if (!numeric_part(rest.substr(0, dot), parts[count], out.big[count])) return false;
    ++count;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (count < 3 && decorated) return false;  // partial versions only as plain numbers
  out.major = parts[0];
  out.minor = parts[1];
  out.patch = parts[2];
  return true;
}

int detail::compare_big_parts(std::string_view a, std::string_view b) noexcept {
  if (a == b) return 0;
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;  // no leading zeros: longer is larger
  return a < b ? -1 : 1;
}

int detail::compare_prereleases(std::string_view a, std::string_view b) noexcept {
  std::string_view x = a, y = b;
  for (std::size_t guard = 0; guard <= a.size() + b.size() + 1; ++guard) {
    if (x.empty() || y.empty()) return x.empty() == y.empty() ? 0 : (x.empty() ? -1 : 1);
    const std::size_t dx = x.find('.'), dy = y.find('.');
    const std::string_view ix = x.substr(0, dx), iy = y.substr(0, dy);
    const bool nx = is_digits(ix), ny = is_digits(iy);
    if (nx && ny) {
      if (ix.size() != iy.size()) return ix.size() < iy.size() ? -1 : 1;  // no leading zeros
      if (const int c = ix.compare(iy); c != 0) return c < 0 ? -1 : 1;
    } else if (nx != ny) {
      return nx ? -1 : 1;  // numeric identifiers sort first
    } else if (const int c = ix.compare(iy); c != 0) {
      return c < 0 ? -1 : 1;
    }
    x = dx == std::string_view::npos ? std::string_view{} : x.substr(dx + 1);
    y = dy == std::string_view::npos ? std::string_view{} : y.substr(dy + 1);
    if (dx == std::string_view::npos && dy != std::string_view::npos) return -1;
    if (dy == std::string_view::npos && dx != std::string_view::npos) return 1;
  }
  return 0;
}

}  // namespace flagd
