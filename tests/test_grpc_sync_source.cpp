// The grpc(s):// source against an in-process flagd sync server on 127.0.0.1: what it asks for,
// what it delivers, how it recovers from a server that is down, restarts or closes streams, what
// it refuses (oversized messages, an unknown CA), and that stop() interrupts a stream or a wait.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "grpc_sync_source.hpp"
#include "loopback_port.hpp"
#include "recording_sink.hpp"
#include "sync_test_server.hpp"
#include "tls_files.hpp"

using flagd::SourceConfig;
using flagd::SourceHealth;
using flagd::SourceKind;
using flagd::test::RecordingSink;
using flagd::test::SyncTestServer;
using Documents = std::vector<RecordingSink::Document>;

namespace {

std::string flags_document(const std::string& variant) {
  return R"({"flags":{"banner":{"state":"ENABLED","defaultVariant":")" + variant + R"(","variants":{")" + variant +
         R"(":true}}}})";
}

SourceConfig grpc_config(std::uint16_t port, bool tls = false) {
  SourceConfig config;
  config.kind = SourceKind::Grpc;
  config.uri = std::string(tls ? "grpcs" : "grpc") + "://127.0.0.1:" + std::to_string(port);
  config.host = "127.0.0.1";
  config.port = port;
  config.tls = tls;
  config.selector = "flagSetId=payments";
  config.provider_id = "host-a";
  config.backoff_initial = std::chrono::milliseconds(20);
  config.backoff_max = std::chrono::milliseconds(200);
  return config;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Waits until the source's last error contains every one of `parts`.
bool wait_for_error(RecordingSink& sink, std::initializer_list<std::string> parts) {
  const bool seen = sink.wait_for([&](const Documents&, const SourceHealth& health) {
    for (const std::string& part : parts) {
      if (!contains(health.last_error, part)) return false;
    }
    return health.failures > 0;
  });
  if (!seen) UNSCOPED_INFO("the last error: " << sink.health().last_error);
  return seen;
}

// Stops the source on another thread, so that a stop() that hangs fails the test rather than CI.
bool stops(flagd::RemoteSource& source) {
  auto stopped = std::async(std::launch::async, [&] { source.stop(); });
  return stopped.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
}

}  // namespace

TEST_CASE("the source asks with the configured selector and provider id, and follows pushes") {
  const std::uint16_t port = flagd::test::free_loopback_port();
  SyncTestServer server(port);
  server.push(flags_document("first"));
  server.start();
  const SourceConfig config = grpc_config(port);
  RecordingSink sink;
  const auto source = flagd::make_grpc_sync_source(config);
  CHECK(source->display_uri() == config.uri);
  source->start(sink, 0);

  REQUIRE(sink.wait_for_documents(1));
  CHECK(sink.documents()[0].text == flags_document("first"));
  CHECK(sink.documents()[0].version.empty());
  const auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "SyncFlags");
  CHECK(requests[0].provider_id == "host-a");
  CHECK(requests[0].selector == "flagSetId=payments");
  CHECK(requests[0].selector_header == "flagSetId=payments");

  server.push(flags_document("second"));
  REQUIRE(sink.wait_for_documents(2));
  CHECK(sink.documents()[1].text == flags_document("second"));
  CHECK(server.requests().size() == 1);  // pushed on the open stream, not fetched again

  // The same document again is counted, not delivered.
  server.push(flags_document("second"));
  REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.unchanged == 1; }));
  const SourceHealth health = sink.health();
  CHECK(sink.documents().size() == 2);
  CHECK(health.documents == 2);
  CHECK(health.failures == 0);
  CHECK(health.last_error.empty());
  CHECK(health.bytes == flags_document("second").size());
  CHECK(health.last_success_unix_ns != 0);
  CHECK(health.last_attempt_unix_ns == health.last_success_unix_ns);
  source->stop();
}

TEST_CASE("a selector gRPC cannot carry in a header is sent in the request alone") {
  const std::uint16_t port = flagd::test::free_loopback_port();
  SyncTestServer server(port);
  server.push(flags_document("only"));
  server.start();
  SourceConfig config = grpc_config(port);
  config.selector = "flagSetId=caf\xc3\xa9";
  RecordingSink sink;
  const auto source = flagd::make_grpc_sync_source(config);
  source->start(sink, 0);
  REQUIRE(sink.wait_for_documents(1));
  const auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].selector == config.selector);
  CHECK(requests[0].selector_header.empty());
}

TEST_CASE("a server that is down at first is retried until it answers") {
  const std::uint16_t port = flagd::test::free_loopback_port();
  SyncTestServer server(port);
  RecordingSink sink;
  const auto source = flagd::make_grpc_sync_source(grpc_config(port));
  source->start(sink, 0);

  REQUIRE(wait_for_error(sink, {"cannot reach flagd sync at 127.0.0.1:" + std::to_string(port) + ": ", "(UNAVAILABLE)"}));
  REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.failures >= 2; }));
  CHECK(sink.documents().empty());
  CHECK(sink.health().last_success_unix_ns == 0);

  server.push(flags_document("late"));
  server.start();
  REQUIRE(sink.wait_for_documents(1));
  CHECK(sink.documents()[0].text == flags_document("late"));
  CHECK(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.last_error.empty(); }));
}

TEST_CASE("the source reconnects to a restarted server and to one that closed its stream") {
  const std::uint16_t port = flagd::test::free_loopback_port();
  SyncTestServer server(port);
  server.push(flags_document("before"));
  server.start();
  RecordingSink sink;
  const auto source = flagd::make_grpc_sync_source(grpc_config(port));
  source->start(sink, 0);
  REQUIRE(sink.wait_for_documents(1));

  server.stop();
  server.start();
  // Pushed once the source is back on a stream, so that only the push can deliver it.
  REQUIRE(flagd::test::eventually([&] { return server.open_streams() == 1 && server.requests().size() >= 2; }));
  server.push(flags_document("after restart"));
  REQUIRE(sink.wait_for_documents(2));
  CHECK(sink.documents()[1].text == flags_document("after restart"));

  const std::size_t streams_so_far = server.requests().size();
  server.close_streams();
  REQUIRE(flagd::test::eventually(
      [&] { return server.open_streams() == 1 && server.requests().size() > streams_so_far; }));
  server.push(flags_document("after close"));
  REQUIRE(sink.wait_for_documents(3));
  CHECK(sink.documents()[2].text == flags_document("after close"));
  // The resent current document on each new stream was not delivered again.
  CHECK(sink.documents().size() == 3);
}

TEST_CASE("a document over the size cap is refused with a clear error") {
  const std::uint16_t port = flagd::test::free_loopback_port();
  SyncTestServer server(port);
  server.push(flags_document("small"));
  server.start();
  SourceConfig config = grpc_config(port);
  config.max_body_bytes = 64 * 1024;
  RecordingSink sink;
  const auto source = flagd::make_grpc_sync_source(config);
  source->start(sink, 0);
  REQUIRE(sink.wait_for_documents(1));

  SECTION("a document just over the cap: refused, the stream stays open") {
    server.push(std::string(64 * 1024 + 1, ' '));
    REQUIRE(wait_for_error(sink, {"flagd sync at 127.0.0.1:" + std::to_string(port) +
                                  " sent a flag configuration of 65537 bytes, over the limit of 65536 bytes"}));
    server.push(flags_document("small again"));
    REQUIRE(sink.wait_for_documents(2));
    CHECK(sink.documents()[1].text == flags_document("small again"));
    CHECK(server.requests().size() == 1);
  }
  SECTION("a message over what the channel receives: refused by gRPC before it is read") {
    server.push(std::string(std::size_t{3} << 20, ' '));
    REQUIRE(wait_for_error(sink, {"flagd sync at 127.0.0.1:" + std::to_string(port) + " sent a message over the limit of",
                                  "(a flag configuration may be 65536 bytes)", "(RESOURCE_EXHAUSTED)"}));
    server.push(flags_document("small again"));
    REQUIRE(sink.wait_for_documents(2));
    CHECK(sink.documents()[1].text == flags_document("small again"));
  }
  CHECK(sink.documents().size() == 2);
}

TEST_CASE("grpcs: the server is verified against the configured CA") {
  const flagd::test::TlsFiles tls;
  const std::uint16_t port = flagd::test::free_loopback_port();
  const SyncTestServer::Tls server_tls{tls.server_cert(), tls.server_key()};
  SyncTestServer server(port, &server_tls);
  server.push(flags_document("secure"));
  server.start();
  SourceConfig config = grpc_config(port, true);
  RecordingSink sink;

  SECTION("the CA that signed the server's certificate") {
    config.ca_file = tls.ca_cert();
    const auto source = flagd::make_grpc_sync_source(config);
    source->start(sink, 0);
    REQUIRE(sink.wait_for_documents(1));
    CHECK(sink.documents()[0].text == flags_document("secure"));
    CHECK(sink.health().failures == 0);
  }
  SECTION("another CA") {
    config.ca_file = tls.other_ca_cert();
    const auto source = flagd::make_grpc_sync_source(config);
    source->start(sink, 0);
    REQUIRE(wait_for_error(sink, {"cannot reach flagd sync at 127.0.0.1:" + std::to_string(port) + ": ",
                                  "certificate verify failed", "(UNAVAILABLE)"}));
    CHECK(sink.documents().empty());
    CHECK(server.open_streams() == 0);
  }
  SECTION("a CA file that cannot be read") {
    config.ca_file = tls.directory() + "/missing.pem";
    const auto source = flagd::make_grpc_sync_source(config);
    source->start(sink, 0);
    REQUIRE(wait_for_error(sink, {"cannot connect to flagd sync at 127.0.0.1:" + std::to_string(port) +
                                  ": cannot use the CA file " + config.ca_file + ": No such file or directory"}));
    CHECK(sink.documents().empty());
  }
  SECTION("plaintext to a TLS server") {
    config.tls = false;
    const auto source = flagd::make_grpc_sync_source(config);
    source->start(sink, 0);
    REQUIRE(wait_for_error(sink, {"flagd sync at 127.0.0.1:" + std::to_string(port)}));
    CHECK(sink.documents().empty());
  }
}

TEST_CASE("stop() interrupts a live stream and a backoff wait") {
  const std::uint16_t port = flagd::test::free_loopback_port();
  SyncTestServer server(port);
  RecordingSink sink;

  SECTION("during a live stream") {
    server.push(flags_document("live"));
    server.start();
    const auto source = flagd::make_grpc_sync_source(grpc_config(port));
    source->start(sink, 0);
    REQUIRE(sink.wait_for_documents(1));
    REQUIRE(stops(*source));
    // The cancellation reached the server.
    CHECK(flagd::test::eventually([&] { return server.open_streams() == 0; }));
    const std::size_t reports = sink.health_reports();
    server.push(flags_document("after stop"));
    CHECK(sink.documents().size() == 1);
    CHECK(sink.health_reports() == reports);
    source->stop();  // idempotent
  }
  SECTION("during the wait after a failure") {
    SourceConfig config = grpc_config(port);
    config.backoff_initial = std::chrono::minutes(5);
    config.backoff_max = std::chrono::minutes(5);
    const auto source = flagd::make_grpc_sync_source(config);
    source->start(sink, 0);
    REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.failures == 1; }));
    REQUIRE(stops(*source));
    CHECK(sink.health().failures == 1);
  }
  SECTION("never started") {
    const auto source = flagd::make_grpc_sync_source(grpc_config(port));
    REQUIRE(stops(*source));
  }
}
