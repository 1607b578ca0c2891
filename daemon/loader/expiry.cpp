#include "expiry.hpp"

#include <algorithm>

namespace flagd {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `at` into `value`.
bool digits(std::string_view s, std::size_t at, std::size_t n, unsigned& value) noexcept {
  if (at + n > s.size()) return false;
  value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[at + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

const MetadataItem* metadata_item(const FlagDefinition& flag, std::string_view key) {
  for (const auto& item : flag.metadata)
    if (item.key == key) return &item;
  return nullptr;
}

}  // namespace

std::optional<std::int64_t> parse_instant(std::string_view s) noexcept {
  unsigned year = 0, month = 0, day = 0;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  std::int64_t seconds = days_from_civil(year, month, day) * 86400;
  if (s.size() == 10) return seconds;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  unsigned hour = 0, minute = 0, second = 0;
  if (!digits(s, 11, 2, hour) || s.size() < 16 || s[13] != ':' || !digits(s, 14, 2, minute)) return std::nullopt;
  std::size_t at = 16;
  if (at < s.size() && s[at] == ':') {
    if (!digits(s, at + 1, 2, second)) return std::nullopt;
    at += 3;
    if (at < s.size() && (s[at] == '.' || s[at] == ',')) {  // a fraction of a second: ignored
      ++at;
      const std::size_t start = at;
      while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
      if (at == start) return std::nullopt;
    }
  }
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;  // 60: a leap second
  seconds += hour * 3600 + minute * 60 + second;
  if (at == s.size()) return seconds;  // no zone: UTC
  if ((s[at] == 'Z' || s[at] == 'z') && at + 1 == s.size()) return seconds;
  if (s[at] != '+' && s[at] != '-') return std::nullopt;
  const int sign = s[at] == '+' ? 1 : -1;
  unsigned oh = 0, om = 0;
  if (!digits(s, at + 1, 2, oh)) return std::nullopt;
  std::size_t next = at + 3;
  if (next < s.size() && s[next] == ':') ++next;
  if (!digits(s, next, 2, om) || next + 2 != s.size() || oh > 23 || om > 59) return std::nullopt;
  return seconds - sign * static_cast<std::int64_t>(oh * 3600 + om * 60);
}

ExpiryReport flags_expired_by(const FlagSet& set, std::int64_t now, std::int64_t within) {
  const std::int64_t horizon = now + within;
  ExpiryReport report;
  for (const auto& flag : set.flags) {
    const MetadataItem* expires = metadata_item(flag, "expires");
    if (expires == nullptr) continue;
    const std::optional<std::int64_t> at =
        expires->kind == layout::MetadataKind::String ? parse_instant(expires->text) : std::nullopt;
    if (!at) {
      report.malformed.push_back(flag.key);
      continue;
    }
    if (*at > horizon) continue;
    const MetadataItem* owner = metadata_item(flag, "owner");
    report.flags.push_back(ExpiringFlag{flag.key, expires->text, *at,
                                        owner != nullptr && owner->kind == layout::MetadataKind::String ? owner->text : ""});
  }
  std::stable_sort(report.flags.begin(), report.flags.end(),
                   [](const ExpiringFlag& a, const ExpiringFlag& b) { return a.at < b.at; });
  return report;
}

}  // namespace flagd
