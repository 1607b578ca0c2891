// The daemon binary following a flagd sync stream (grpc://HOST:PORT, and flagd's --sources
// spelling with a selector), against an in-process sync server on 127.0.0.1: what the server is
// asked for, and pushes reaching the readers of both daemons.
#include <catch2/catch.hpp>

#include <string>

#include "fleet_daemon.hpp"
#include "loopback_port.hpp"
#include "scratch_directory.hpp"
#include "sync_test_server.hpp"

using flagd::SourceState;
using flagd::test::eventually;
using flagd::test::FleetDaemon;
using flagd::test::FleetPaths;
using flagd::test::ScratchDirectory;
using flagd::test::SegmentFiles;
using flagd::test::string_flags;
using flagd::test::SyncTestServer;

TEST_CASE("fleet grpc: a sync stream by URI and by --sources with a selector; pushes are published") {
  SyncTestServer server(flagd::test::free_loopback_port());
  server.push(string_flags({{"color", "red"}}));
  server.start();
  const std::string address = "127.0.0.1:" + std::to_string(server.port());

  SegmentFiles plain_segment("fleet-grpc-uri"), selected_segment("fleet-grpc-sources");
  ScratchDirectory plain_dir("flagd-fleet-grpc-uri"), selected_dir("flagd-fleet-grpc-sources");
  FleetDaemon plain(plain_segment.name, FleetPaths{plain_dir.path()}, {"--uri", "grpc://" + address});
  FleetDaemon selected(selected_segment.name, FleetPaths{selected_dir.path()},
                       {"--sources", R"([{"uri":")" + address + R"(","provider":"grpc","selector":"app=x","providerID":"fleet-test"}])"});

  REQUIRE(eventually([&] { return plain.published() && selected.published(); }));
  CHECK(plain.value("color") == "red");
  CHECK(selected.value("color") == "red");
  CHECK(plain.source_becomes(0, SourceState::Current));
  CHECK(selected.source_becomes(0, SourceState::Current));
  CHECK(plain.source(0)->uri == "grpc://" + address);

  // One stream each: the --sources one asked with its selector (field and header), the other
  // with none.
  std::vector<SyncTestServer::Request> requests = server.requests();
  REQUIRE(requests.size() >= 2);
  bool asked_with_selector = false, asked_without = false;
  for (const SyncTestServer::Request& r : requests) {
    CHECK(r.method == "SyncFlags");
    if (r.selector == "app=x") {
      asked_with_selector = true;
      CHECK(r.selector_header == "app=x");
      CHECK(r.provider_id == "fleet-test");
    } else if (r.selector.empty()) {
      asked_without = true;
      CHECK(r.selector_header.empty());
    }
  }
  CHECK(asked_with_selector);
  CHECK(asked_without);

  // A push reaches the readers of both daemons.
  const std::uint64_t plain_first = plain.generation(), selected_first = selected.generation();
  server.push(string_flags({{"color", "blue"}, {"size", "large"}}));
  REQUIRE(eventually([&] { return plain.value("color") == "blue" && selected.value("color") == "blue"; }));
  CHECK(plain.value("size") == "large");
  CHECK(plain.generation() == plain_first + 1);
  CHECK(selected.generation() == selected_first + 1);

  // An invalid push is refused by each daemon; the flags stay.
  server.push(R"({"flags": {"color": {"state": "ENABLED", "variants": []}}})");
  REQUIRE(plain.source_becomes(0, SourceState::Stale));
  CHECK(plain.source(0)->error.find("must be an object of variant values") != std::string::npos);
  CHECK(plain.value("color") == "blue");
  CHECK(plain.generation() == plain_first + 1);

  // The server gone: still the last good flags; back, with a newer document, published.
  server.stop();
  REQUIRE(eventually([&] { return !plain.source(0)->error.empty() && plain.source(0)->error.find("must be an object of variant values") == std::string::npos; }));
  CHECK(plain.value("color") == "blue");
  server.push(string_flags({{"color", "green"}}));
  server.start();
  REQUIRE(eventually([&] { return plain.value("color") == "green" && selected.value("color") == "green"; }));
  CHECK(plain.source_becomes(0, SourceState::Current));
  CHECK(plain.stop() == 0);
  CHECK(selected.stop() == 0);
}
