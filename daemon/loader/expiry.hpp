// Flags that should be gone: a flag's metadata "expires", an ISO-8601 date or date-time, marks
// when. flagctl expired lists them (a CI check); the daemon warns about them and counts them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flag_model.hpp"

namespace flagd {

// The instant an "expires" text names, in Unix seconds, or nullopt if it is not one:
//   "2026-06-30"                 00:00 UTC at the start of that day
//   "2026-06-30T17:00:00Z"       seconds optional ("T17:00Z"), fractions ignored
//   "2026-06-30T17:00:00+02:00"  an offset from UTC ("-0530" too)
//   "2026-06-30T17:00:00"        no zone: UTC
std::optional<std::int64_t> parse_instant(std::string_view text) noexcept;

struct ExpiringFlag {
  std::string key;
  std::string expires;  // as written
  std::int64_t at = 0;  // Unix seconds
  std::string owner;    // metadata "owner", if any
};

struct ExpiryReport {
  std::vector<ExpiringFlag> flags;     // expiring before the horizon, soonest first
  std::vector<std::string> malformed;  // keys whose "expires" is not a date (or not a string)
};

// The flags of `set` expired at `now` (Unix seconds; a flag is expired from its instant on), and
// with `within` > 0 those expiring in the `within` seconds after it.
ExpiryReport flags_expired_by(const FlagSet& set, std::int64_t now, std::int64_t within = 0);

}  // namespace flagd
