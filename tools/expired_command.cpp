#include "expired_command.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string_view>

#include "flagd/printable.hpp"
#include "expiry.hpp"
#include "flag_loader.hpp"

namespace flagd::cli {

namespace {

int usage(const std::string& message) {
  std::fprintf(stderr, "flagctl: %s\n(see flagctl --help)\n", message.c_str());
  return 2;
}

// "147 days ago", "in 3 days", "today".
std::string relative(std::int64_t at, std::int64_t now) {
  const std::int64_t days = (at - now) / 86400;
  if (days == 0) return at <= now ? "earlier today" : "later today";
  const std::int64_t n = days < 0 ? -days : days;
  const std::string count = std::to_string(n) + (n == 1 ? " day" : " days");
  return days < 0 ? count + " ago" : "in " + count;
}

}  // namespace

int expired_command(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  std::optional<std::int64_t> now;
  std::int64_t within_days = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--now" && has_value) {
      now = parse_instant(args[++i]);
      if (!now) return usage("--now takes an ISO-8601 date or date-time (2026-06-30, 2026-06-30T17:00:00Z), not '" +
                             args[i] + "'");
    } else if (a == "--within" && has_value) {
      const std::string& v = args[++i];
      const auto [end, problem] = std::from_chars(v.data(), v.data() + v.size(), within_days);
      if (problem != std::errc() || end != v.data() + v.size() || within_days < 0 || within_days > 36500)
        return usage("--within takes a whole number of days from 0 to 36500, not '" + v + "'");
    } else if (a.rfind("--", 0) == 0) {
      return usage("expired takes FILE... [--now DATE] [--within DAYS], not '" + a + "'");
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) return usage("expired needs at least one FILE");
  if (!now)
    now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();

  const LoadResult loaded = load_flag_files(files);
  for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", printable(format(d, Strictness::Lenient)).c_str());
  if (!loaded.ok()) return 3;

  const ExpiryReport report = flags_expired_by(loaded.flags, *now, within_days * 86400);
  std::size_t expired = 0;
  for (const auto& flag : report.flags) {
    const bool past = flag.at <= *now;
    expired += past ? 1 : 0;
    std::printf("%-9s %s  expires %s (%s)%s\n", past ? "EXPIRED" : "EXPIRING", printable(flag.key).c_str(),
                printable(flag.expires).c_str(), relative(flag.at, *now).c_str(),
                flag.owner.empty() ? "" : ("  owner " + printable(flag.owner)).c_str());
  }
  std::printf("%zu expired, %zu expiring within %lld day%s, of %zu flags\n", expired, report.flags.size() - expired,
              static_cast<long long>(within_days), within_days == 1 ? "" : "s", loaded.flags.flags.size());
  return expired != 0 ? 1 : 0;
}

}  // namespace flagd::cli
