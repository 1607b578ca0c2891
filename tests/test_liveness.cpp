// The daemon's heartbeat as readers and flagctl see it, a reader waiting for a change instead of
// polling, what changed between two listings, the metrics file's heartbeat and info series, and
// flagctl's exit codes and JSON forms.
#include <catch2/catch.hpp>
#include <simdjson.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <future>
#include <string>

#include "child_process.hpp"
#include "fleet_daemon.hpp"
#include "flagd/wall_clock.hpp"
#include "scratch_directory.hpp"

using flagd::FlagChange;
using flagd::test::eventually;
using flagd::test::FleetDaemon;
using flagd::test::FleetPaths;
using flagd::test::run_capture;
using flagd::test::ScratchDirectory;
using flagd::test::SegmentFiles;

namespace {

constexpr const char* kFlags = R"({"metadata": {"flagSetId": "payments", "version": "12"}, "flags": {
  "halt": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},
  "limit": {"state": "ENABLED", "variants": {"low": 10, "high": 99}, "defaultVariant": "low"},
  "route": {"state": "ENABLED", "variants": {"a": "venue-a", "b": "venue-b"}, "defaultVariant": "a"}}})";

// A daemon on the test's flags, beating every 50 ms and rewriting its metrics every second.
struct BeatingDaemon {
  SegmentFiles segment{"liveness"};
  ScratchDirectory directory{"flagd-liveness"};
  std::string flags_path = directory.path() + "/flags.json";
  std::optional<FleetDaemon> daemon;

  BeatingDaemon() {
    std::ofstream(flags_path) << kFlags;
    daemon.emplace(segment.name, FleetPaths{directory.path()}, std::vector<std::string>{"--flags", flags_path},
                   std::vector<std::string>{"--heartbeat-interval", "50", "--metrics-interval", "1"});
    REQUIRE(eventually([&] { return daemon->published(); }));
  }
  // Rewrites the flag file and reloads.
  void change(const std::string& text) {
    std::ofstream(flags_path, std::ios::trunc) << text;
    ::kill(daemon->pid(), SIGHUP);
  }
  // flagctl with `args`, its output and then "rc=N".
  std::string flagctl(const std::string& args, const std::string& environment = "") const {
    return run_capture(environment + " " + FLAGCTL_BINARY + " " + args + " 2>&1; echo rc=$?");
  }
};

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

bool ends_with_rc(const std::string& output, int rc) {
  const std::string tail = "rc=" + std::to_string(rc) + "\n";
  return output.size() >= tail.size() && output.compare(output.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

TEST_CASE("liveness: the daemon beats in the segment, and a killed daemon is seen as not alive") {
  BeatingDaemon d;
  flagd::Reader& reader = d.daemon->reader();
  const flagd::SegmentStatus first = reader.status();
  CHECK(first.heartbeat_period_ms == 50);
  CHECK(first.heartbeat_pid == static_cast<std::uint32_t>(d.daemon->pid()));
  REQUIRE(first.heartbeat_unix_ns != 0);
  CHECK(first.daemon_alive(flagd::unix_now_ns()));
  // It keeps beating with nothing to load.
  CHECK(eventually([&] { return reader.status().heartbeat_unix_ns > first.heartbeat_unix_ns; }));

  const std::string shown = d.flagctl("--segment " + d.segment.name + " status");
  CHECK(shown.find("daemon:        alive, last heartbeat ") != std::string::npos);
  CHECK(shown.find(" (every 50 ms), pid " + std::to_string(d.daemon->pid())) != std::string::npos);
  CHECK(ends_with_rc(shown, 0));

  // Stopped (SIGSTOP), it still holds the segment but no longer beats: stuck, as a hung daemon is.
  const auto status_says = [&](const std::string& what) {
    return eventually([&] { return d.flagctl("--segment " + d.segment.name + " status").find(what) != std::string::npos; });
  };
  ::kill(d.daemon->pid(), SIGSTOP);
  CHECK(status_says("daemon:        NOT RESPONDING: pid " + std::to_string(d.daemon->pid()) + " holds the segment"));
  CHECK(ends_with_rc(d.flagctl("--segment " + d.segment.name + " status"), 4));
  CHECK_FALSE(reader.status().daemon_alive(flagd::unix_now_ns()));
  ::kill(d.daemon->pid(), SIGCONT);
  CHECK(status_says("daemon:        alive, "));
  CHECK(reader.status().daemon_alive(flagd::unix_now_ns()));

  // SIGKILL: daemon_running stays 1, which the daemon cannot clear; flagctl sees the lock free,
  // and readers see the heartbeat age.
  ::kill(d.daemon->pid(), SIGKILL);
  CHECK(status_says("daemon:        NOT RUNNING: last heartbeat "));
  CHECK(ends_with_rc(d.flagctl("--segment " + d.segment.name + " status"), 4));
  CHECK(eventually([&] { return !reader.status().daemon_alive(flagd::unix_now_ns()); }));
  CHECK(reader.status().daemon_running);
  const std::string dead = d.flagctl("--segment " + d.segment.name + " status");
  CHECK(dead.find("daemon:        NOT RUNNING: last heartbeat ") != std::string::npos);
  CHECK(dead.find("readers keep generation 1") != std::string::npos);
  CHECK(ends_with_rc(dead, 4));
  simdjson::dom::parser parser;
  const std::string json = d.flagctl("status --json --segment " + d.segment.name);
  const simdjson::dom::element status = parser.parse(json.substr(0, json.find('\n')));
  CHECK_FALSE(bool(status["daemon"]["alive"]));
  CHECK(std::uint64_t(status["daemon"]["heartbeatAgeMs"]) >= 3000);
  CHECK(std::uint64_t(status["generation"]) == 1);
}

TEST_CASE("liveness: wait_for_change sleeps until a publication, and says which flags it changed") {
  BeatingDaemon d;
  flagd::Reader& reader = d.daemon->reader();
  const flagd::FlagListing before = reader.listing();
  REQUIRE(before.generation == 1);
  REQUIRE(before.flags.size() == 3);

  // No change: the wait ends with the timeout, on the same generation.
  CHECK(reader.wait_for_change(before.generation, std::chrono::milliseconds(20)) == before.generation);

  auto waited = std::async(std::launch::async, [&] { return reader.wait_for_change(1, std::chrono::seconds(30)); });
  // limit changes, halt goes, venue arrives, route stays as it was.
  std::string next = replace(kFlags, R"("defaultVariant": "low")", R"("defaultVariant": "high")");
  next = replace(next, R"("halt": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},)",
                 R"("venue": {"state": "ENABLED", "variants": {"x": "x"}, "defaultVariant": "x"},)");
  d.change(next);
  REQUIRE(waited.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  CHECK(waited.get() == 2);

  const flagd::FlagListing after = reader.listing();
  CHECK(after.generation == 2);
  CHECK(flagd::changes_between(before, after) ==
        std::vector<FlagChange>{{"halt", FlagChange::Kind::Removed},
                                {"limit", FlagChange::Kind::Changed},
                                {"venue", FlagChange::Kind::Added}});
  CHECK(flagd::changes_between(after, after).empty());
}

TEST_CASE("liveness: the metrics file moves with the heartbeat and names the published flags") {
  BeatingDaemon d;
  const auto heartbeat = [&] { return flagd::test::metric_value(d.daemon->metrics(), "flagd_heartbeat_timestamp_seconds", ""); };
  REQUIRE(eventually([&] { return heartbeat().has_value(); }));
  const double first = *heartbeat();
  CHECK(first > 0);
  // Rewritten with no load in between.
  CHECK(eventually([&] { return heartbeat().value_or(0) > first; }));

  const std::string sha = d.daemon->reader().status().image_sha256;
  REQUIRE(sha.size() == 64);
  const std::string labels = "sha256=\"" + sha + "\",flag_set_id=\"payments\",version=\"12\"";
  CHECK(flagd::test::metric_value(d.daemon->metrics(), "flagd_image_info", labels) == 1.0);
}

TEST_CASE("flagctl: exit codes that say what went wrong, options anywhere, JSON forms") {
  BeatingDaemon d;
  const std::string seg = "--segment " + d.segment.name;

  CHECK(ends_with_rc(d.flagctl(seg + " get route"), 0));
  const std::string missing = d.flagctl(seg + " get max-qtty");
  CHECK(missing.find("\"errorCode\":\"FLAG_NOT_FOUND\"") != std::string::npos);
  CHECK(ends_with_rc(missing, 1));
  const std::string mismatch = d.flagctl(seg + " get route --type boolean");
  CHECK(mismatch.find("\"errorCode\":\"TYPE_MISMATCH\"") != std::string::npos);
  CHECK(ends_with_rc(mismatch, 1));
  CHECK(ends_with_rc(d.flagctl(seg + " get limit --type integer"), 0));
  const std::string bad_context = d.flagctl(seg + " get route --context '{\"a\":'");
  CHECK(bad_context.find("flagctl: --context: ") != std::string::npos);
  CHECK(ends_with_rc(bad_context, 2));
  CHECK(ends_with_rc(d.flagctl(seg + " get route --type text"), 2));

  // The segment's option after the command, or from the environment.
  CHECK(d.flagctl("get route " + seg).find("\"value\":\"venue-a\"") != std::string::npos);
  const std::string from_environment = d.flagctl("list", "FLAGD_SEGMENT=" + d.segment.name);
  CHECK(from_environment.find("route\tstring\tENABLED") != std::string::npos);
  CHECK(ends_with_rc(from_environment, 0));
  // The command line wins over the environment.
  CHECK(ends_with_rc(d.flagctl("list " + seg, "FLAGD_SEGMENT=no-such-segment"), 0));
  CHECK(ends_with_rc(d.flagctl("list", "FLAGD_SEGMENT=no-such-segment"), 1));

  simdjson::dom::parser parser;
  const std::string list = d.flagctl("list --json " + seg);
  REQUIRE(ends_with_rc(list, 0));
  const simdjson::dom::element listing = parser.parse(list.substr(0, list.find('\n')));
  CHECK(std::uint64_t(listing["generation"]) == 1);
  const simdjson::dom::array flags = listing["flags"];
  CHECK(flags.size() == 3);
  for (const simdjson::dom::element flag : flags) {
    if (std::string_view(flag["key"]) != "limit") continue;
    CHECK(std::string_view(flag["kind"]) == "number");
    CHECK(std::string_view(flag["defaultVariant"]) == "low");
    CHECK(simdjson::minify(flag["variants"]) == R"(["low","high"])");
    CHECK(std::string_view(flag["fingerprint"]).size() == 16);
  }
  const std::string status = d.flagctl(seg + " --json status");
  REQUIRE(ends_with_rc(status, 0));
  const simdjson::dom::element s = parser.parse(status.substr(0, status.find('\n')));
  CHECK(bool(s["daemon"]["alive"]));
  CHECK(std::uint64_t(s["daemon"]["heartbeatPeriodMs"]) == 50);
  CHECK(std::uint64_t(s["flagCount"]) == 3);
  CHECK(std::string_view(s["imageSha256"]).size() == 64);
  CHECK(simdjson::dom::array(s["sources"]).size() == 1);

  CHECK(ends_with_rc(d.flagctl(seg + " get route --json"), 2));  // its line is JSON already
  CHECK(ends_with_rc(d.flagctl("--bogus list"), 2));
}

TEST_CASE("times are spelt one way: RFC 3339 in UTC, to the millisecond") {
  CHECK(flagd::rfc3339_utc(1'764'704'471'123'456'789ULL) == "2025-12-02T19:41:11.123Z");
  CHECK(flagd::rfc3339_utc(0) == "1970-01-01T00:00:00.000Z");
  CHECK(flagd::rfc3339_utc(999'999'999ULL) == "1970-01-01T00:00:00.999Z");  // cut, not rounded
}
