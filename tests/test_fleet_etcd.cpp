// The daemon binary with an etcd://HOST:PORT/KEY source, against a real etcd on 127.0.0.1: puts
// are published, the same bytes again publish nothing, an invalid value is refused, etcd killed
// and restarted under the daemon, and a daemon started while etcd is down serves its cached copy.
#include <catch2/catch.hpp>

#include <string>

#include "etcd_server.hpp"
#include "fleet_daemon.hpp"
#include "scratch_directory.hpp"

using flagd::SourceState;
using flagd::test::EtcdServer;
using flagd::test::eventually;
using flagd::test::FleetDaemon;
using flagd::test::FleetPaths;
using flagd::test::metric_value;
using flagd::test::ScratchDirectory;
using flagd::test::SegmentFiles;
using flagd::test::string_flags;

namespace {

constexpr const char* kKey = "/flagd/flags";

double reloads(FleetDaemon& daemon, const std::string& result) {
  return metric_value(daemon.metrics(), "flagd_reloads_total", "result=\"" + result + "\"").value_or(-1);
}

}  // namespace

TEST_CASE("fleet etcd: puts are published, repeats and invalid values are not, and etcd may restart") {
  EtcdServer etcd;
  SegmentFiles segment("fleet-etcd");
  ScratchDirectory dir("flagd-fleet-etcd");
  const FleetPaths paths{dir.path()};
  const std::string uri = "etcd://127.0.0.1:" + std::to_string(etcd.client_port()) + kKey;
  const std::string red = string_flags({{"color", "red"}});
  const std::int64_t red_revision = etcd.put(kKey, red);

  std::optional<FleetDaemon> daemon(std::in_place, segment.name, paths, std::vector<std::string>{"--uri", uri});
  REQUIRE(eventually([&] { return daemon->published(); }));
  CHECK(daemon->value("color") == "red");
  REQUIRE(daemon->source_becomes(0, SourceState::Current));
  CHECK(daemon->source(0)->uri == uri);
  CHECK(daemon->source(0)->version == std::to_string(red_revision));
  const std::uint64_t first = daemon->generation();

  // A watched put: published to the readers.
  etcd.put(kKey, string_flags({{"color", "blue"}}));
  REQUIRE(eventually([&] { return daemon->value("color") == "blue"; }));
  CHECK(daemon->generation() == first + 1);

  // The same bytes under a new revision: loaded, found to be the published merge, not published.
  REQUIRE(reloads(*daemon, "unchanged") == 0);
  etcd.put(kKey, string_flags({{"color", "blue"}}));
  REQUIRE(eventually([&] { return reloads(*daemon, "unchanged") == 1; }));
  CHECK(daemon->generation() == first + 1);
  CHECK(reloads(*daemon, "published") == 2);

  // Not a flag document: refused, the last good flags stay.
  etcd.put(kKey, R"({"flags": {"color": {"state": "ENABLED", "variants": []}}})");
  // The load's result is written to the metrics after the source's counters: waited for last.
  REQUIRE(eventually([&] { return reloads(*daemon, "rejected") == 1; }));
  CHECK(metric_value(daemon->metrics(), "flagd_source_refused_total", "uri=\"" + uri + "\"") == 1);
  CHECK(daemon->value("color") == "blue");
  CHECK(daemon->generation() == first + 1);
  CHECK(daemon->source(0)->state == SourceState::Stale);
  CHECK(daemon->source(0)->error.find("must be an object of variant values") != std::string::npos);

  // etcd killed: the flags stay, the source is stale with an error; restarted, a later put arrives.
  etcd.stop();
  REQUIRE(eventually([&] {
    const std::optional<flagd::SourceStatus> s = daemon->source(0);
    return s && s->state == SourceState::Stale && s->error.find("must be an object of variant values") == std::string::npos && !s->error.empty();
  }));
  CHECK(daemon->value("color") == "blue");
  REQUIRE(eventually([&] { return metric_value(daemon->metrics(), "flagd_source_up", "uri=\"" + uri + "\"") == 0; }));
  etcd.start();
  etcd.put(kKey, string_flags({{"color", "green"}}));
  REQUIRE(eventually([&] { return daemon->value("color") == "green"; }));
  CHECK(daemon->generation() == first + 2);
  CHECK(daemon->source_becomes(0, SourceState::Current));
  CHECK(daemon->stop() == 0);
  daemon.reset();

  // A fresh segment and etcd down: the cached copy is published, and said to be one.
  segment.remove();
  etcd.stop();
  FleetDaemon cached(segment.name, paths, {"--uri", uri}, {}, "daemon2.log");
  REQUIRE(eventually([&] { return cached.published(); }));
  CHECK(cached.value("color") == "green");
  CHECK(cached.source_becomes(0, SourceState::Cached));
  CHECK(cached.log().find("source " + uri + ": found its cached copy") != std::string::npos);

  // etcd back, with the key changed while it was unreachable to the daemon: the new value.
  etcd.start();
  etcd.put(kKey, string_flags({{"color", "violet"}}));
  REQUIRE(eventually([&] { return cached.value("color") == "violet"; }));
  CHECK(cached.source_becomes(0, SourceState::Current));
  CHECK(cached.stop() == 0);
}
