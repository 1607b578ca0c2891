// Wall-clock time as the segment records it: nanoseconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace flagd {

inline std::uint64_t unix_now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// RFC 3339 in UTC, to the millisecond: "2026-12-02T19:41:11.123Z". The one spelling of a time
// in the daemon's log, the audit log and flagctl.
inline std::string rfc3339_utc(std::uint64_t unix_ns) {
  const auto seconds = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03uZ", static_cast<unsigned>(unix_ns / 1'000'000 % 1000));
  return text;
}

}  // namespace flagd
