// Expiring flags: the "expires" dates, the report, the loader's warning, `flagctl expired`, and
// the daemon's count in the segment's status.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <ctime>
#include <fstream>

#include "child_process.hpp"
#include "published_reader.hpp"
#include "expiry.hpp"
#include "flag_loader.hpp"
#include "flagd/reader.hpp"
#include "flagd/segment_name.hpp"
#include "named_segment.hpp"

namespace {

constexpr std::int64_t kDay = 86400;
// 2025-06-30T00:00:00Z
constexpr std::int64_t kJune30 = 1751241600;

std::string temp_path(const std::string& name) {
  return "/tmp/flagd-expiry-" + std::to_string(::getpid()) + "-" + name;
}

constexpr std::string_view kFlags = R"({"flags": {
  "old":    {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
             "metadata": {"expires": "2025-06-30", "owner": "payments"}},
  "soon":   {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
             "metadata": {"expires": "2025-12-01T12:00:00+01:00"}},
  "later":  {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on", "metadata": {"expires": "2030-01-01"}},
  "plain":  {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}
}})";

std::string utc_date(std::time_t at) {
  std::tm tm{};
  ::gmtime_r(&at, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

// The daemon checks expiry against the real clock, so its flags expire relative to the test's
// own day: one flag a month ago, one tomorrow, one in a year, whatever today is.
std::string daemon_flags_relative_to(std::time_t now) {
  const auto flag = [](const std::string& key, const std::string& metadata) {
    return "\"" + key + "\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}, \"defaultVariant\": \"on\"" +
           (metadata.empty() ? "" : ", \"metadata\": {" + metadata + "}") + "}";
  };
  return "{\"flags\": {" + flag("old", "\"expires\": \"" + utc_date(now - 30 * kDay) + "\", \"owner\": \"payments\"") + ", " +
         flag("soon", "\"expires\": \"" + utc_date(now + 2 * kDay) + "\"") + ", " +
         flag("later", "\"expires\": \"" + utc_date(now + 365 * kDay) + "\"") + ", " + flag("plain", "") + "}}";
}

// Runs flagctl with `args`; its exit status, and its output in `out`.
int flagctl(const std::string& args, std::string& out) {
  const std::string command = std::string(FLAGCTL_BINARY) + " " + args + " 2>&1; echo \"exit=$?\"";
  out = flagd::test::run_capture(command);
  const std::size_t at = out.rfind("exit=");
  return at == std::string::npos ? -1 : std::atoi(out.c_str() + at + 5);
}

}  // namespace

TEST_CASE("expiry instants: dates, date-times, offsets; anything else is refused") {
  using flagd::parse_instant;
  CHECK(parse_instant("2025-06-30") == kJune30);
  CHECK(parse_instant("2025-06-30T00:00:00Z") == kJune30);
  CHECK(parse_instant("2025-06-30T17:30Z") == kJune30 + 17 * 3600 + 30 * 60);
  CHECK(parse_instant("2025-06-30T17:30:15.250Z") == kJune30 + 17 * 3600 + 30 * 60 + 15);
  CHECK(parse_instant("2025-06-30T02:00:00+02:00") == kJune30);
  CHECK(parse_instant("2025-06-29T19:00:00-0500") == kJune30);
  CHECK(parse_instant("2025-06-30T00:00:00") == kJune30);  // no zone: UTC
  CHECK(parse_instant("1970-01-01") == 0);
  CHECK(parse_instant("2024-02-29") == parse_instant("2024-02-28").value() + kDay);  // a leap day
  for (const char* bad : {"", "2025-6-30", "2025-02-29", "2025-13-01", "2025-04-31", "2025-06-30T24:00Z",
                          "2025-06-30T12", "2025-06-30T12:00:00+2", "2025-06-30Z", "30/06/2026", "2025-06-30T12:00:00ZZ",
                          "next week"})
    CHECK_FALSE(parse_instant(bad));
}

TEST_CASE("the expiry report lists expired (and soon expiring) flags, soonest first, with owners") {
  const flagd::LoadResult loaded = flagd::load_flag_text(kFlags);
  REQUIRE(loaded.ok());
  const auto now = flagd::parse_instant("2025-11-24").value();
  const flagd::ExpiryReport expired = flagd::flags_expired_by(loaded.flags, now);
  REQUIRE(expired.flags.size() == 1);
  CHECK(expired.flags[0].key == "old");
  CHECK(expired.flags[0].owner == "payments");
  CHECK(expired.flags[0].at == kJune30);
  const flagd::ExpiryReport soon = flagd::flags_expired_by(loaded.flags, now, 30 * kDay);
  REQUIRE(soon.flags.size() == 2);
  CHECK(soon.flags[1].key == "soon");
  CHECK(flagd::flags_expired_by(loaded.flags, kJune30).flags.size() == 1);  // expired at the instant itself
  CHECK(flagd::flags_expired_by(loaded.flags, kJune30 - 1).flags.empty());
}

TEST_CASE("a malformed expiry date loads with a warning that says where") {
  const flagd::LoadResult loaded = flagd::load_flag_text(
      R"({"flags": {"f": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
                          "metadata": {"expires": "end of June"}}}})",
      "flags.json");
  REQUIRE(loaded.ok());
  REQUIRE(loaded.diagnostics.size() == 1);
  const std::string text = flagd::format(loaded.diagnostics[0]);
  CHECK(text.find("flags.json:2:") == 0);
  CHECK(text.find("warning: flags.f.metadata.expires: not an ISO-8601 date") != std::string::npos);
  CHECK(flagd::flags_expired_by(loaded.flags, kJune30 * 2).malformed == std::vector<std::string>{"f"});
}

TEST_CASE("flagctl expired: the CI check's output and exit status") {
  const std::string file = temp_path("flags.json");
  std::ofstream(file) << kFlags;
  std::string out;
  CHECK(flagctl("expired " + file + " --now 2025-11-24", out) == 1);
  CHECK(out.find("EXPIRED   old  expires 2025-06-30 (147 days ago)  owner payments") != std::string::npos);
  CHECK(out.find("soon") == std::string::npos);
  CHECK(out.find("1 expired, 0 expiring within 0 days, of 4 flags") != std::string::npos);

  CHECK(flagctl("expired " + file + " --now 2025-11-24 --within 10", out) == 1);
  CHECK(out.find("EXPIRING  soon  expires 2025-12-01T12:00:00+01:00 (in 7 days)") != std::string::npos);

  CHECK(flagctl("expired " + file + " --now 2025-06-29", out) == 0);  // nothing expired yet
  CHECK(out.find("0 expired") != std::string::npos);
  CHECK(flagctl("expired " + file + " --now yesterday", out) == 2);
  CHECK(flagctl("expired " + file + " --within -3", out) == 2);
  CHECK(flagctl("expired", out) == 2);
  const std::string broken = temp_path("broken.json");
  std::ofstream(broken) << R"({"flags": )";
  CHECK(flagctl("expired " + broken, out) == 3);
  CHECK(out.find("invalid JSON") != std::string::npos);
  std::remove(file.c_str());
  std::remove(broken.c_str());
}

TEST_CASE("the daemon warns about expired flags, serves them, and counts them in the status") {
  const std::string segment = flagd::test::unique_segment("expiry");
  boost::interprocess::shared_memory_object::remove(segment.c_str());
  const std::string file = temp_path("daemon.json");
  const std::string log = temp_path("daemon.log");
  std::ofstream(file) << daemon_flags_relative_to(std::time(nullptr));
  flagd::test::Process daemon = flagd::test::Process::spawn({FLAGD_BINARY, "--flags", file, "--segment", segment}, log);
  std::optional<flagd::Reader> reader = flagd::test::attach_when_published(segment);
  REQUIRE(reader);
  CHECK(reader->get_bool("old", false));  // served as written
  // The daemon records the load in the status block just after it publishes the image.
  CHECK(flagd::test::eventually([&] { return reader->status().reloads_ok == 1; }));
  CHECK(reader->status().expired_flags == 1);
  std::string out;
  CHECK(flagctl("--segment " + segment + " status", out) == 0);
  CHECK(out.find("expired flags: 1 (still served") != std::string::npos);
  ::kill(daemon.pid, SIGTERM);
  daemon.wait();
  const std::string logged = flagd::test::read_file(log);
  CHECK(logged.find("warning: flag 'old' expired on " + utc_date(std::time(nullptr) - 30 * kDay)) != std::string::npos);
  CHECK(logged.find("(owner payments); still served") != std::string::npos);
  CHECK(logged.find("'soon'") == std::string::npos);
  std::remove(file.c_str());
  std::remove(log.c_str());
  boost::interprocess::shared_memory_object::remove(segment.c_str());
  std::remove(flagd::segment_lock_path(segment).c_str());
  std::remove(flagd::segment_link_path(segment).c_str());
}
