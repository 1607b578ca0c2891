// The etcd source against a real etcd (Debian's etcd-server), and its parts (base64, the watch
// stream's lines, the gateway's answers) on their own.
#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "etcd_base64.hpp"
#include "etcd_gateway.hpp"
#include "etcd_line_splitter.hpp"
#include "etcd_server.hpp"
#include "etcd_source.hpp"
#include "flagd/limits.hpp"
#include "recording_sink.hpp"
#include "tls_files.hpp"

using namespace std::chrono_literals;
using flagd::SourceConfig;
using flagd::SourceHealth;
using flagd::test::EtcdServer;
using flagd::test::RecordingSink;
using Documents = std::vector<RecordingSink::Document>;

namespace {

const std::string kKey = "/flagd/flags";

std::string flags_document(const std::string& variant) {
  return R"({"flags":{"kill-switch":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":")" +
         variant + R"("}}})";
}

SourceConfig etcd_config(std::uint16_t port, std::chrono::milliseconds backoff_initial = 100ms) {
  SourceConfig config;
  config.kind = flagd::SourceKind::Etcd;
  config.host = "127.0.0.1";
  config.port = port;
  config.key = kKey;
  config.uri = "etcd://127.0.0.1:" + std::to_string(port) + kKey;
  config.backoff_initial = backoff_initial;
  config.backoff_max = std::max(backoff_initial, std::chrono::milliseconds(400));
  return config;
}

// A RecordingSink that also keeps every error the source reported, to tell which path it took.
class ErrorLoggingSink : public RecordingSink {
 public:
  using RecordingSink::health;
  void health(std::size_t index, const SourceHealth& health) override {
    {
      std::lock_guard lock(mutex_);
      if (!health.last_error.empty()) errors_.push_back(health.last_error);
    }
    RecordingSink::health(index, health);
  }
  bool reported_error_containing(const std::string& text) const {
    std::lock_guard lock(mutex_);
    for (const auto& e : errors_)
      if (e.find(text) != std::string::npos) return true;
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> errors_;
};

bool has_error(const SourceHealth& h, const std::string& text) { return h.last_error.find(text) != std::string::npos; }

// Waits until the last document delivered is `text` at `version`, and the health reported after
// it says so.
bool wait_for_last(RecordingSink& sink, const std::string& text, std::int64_t version) {
  return sink.wait_for([&](const Documents& d, const SourceHealth& h) {
    return !d.empty() && d.back().text == text && d.back().version == std::to_string(version) &&
           h.version == std::to_string(version);
  });
}

// stop() in another thread, bounded so that a source that never stops fails the test instead of hanging CI.
bool stops(flagd::RemoteSource& source) {
  auto stopped = std::async(std::launch::async, [&] { source.stop(); });
  return stopped.wait_for(10s) == std::future_status::ready;
}

// A stand-in for etcd's gateway answering each path with fixed bytes, then closing: for answers a
// real etcd does not give (a value over the file limit is far past etcd's request limit and the
// length of a command line etcdctl could take it from).
class FakeGateway {
 public:
  explicit FakeGateway(std::map<std::string, std::string> answers) : answers_(std::move(answers)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 8) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      throw std::runtime_error("cannot listen on 127.0.0.1");
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeGateway() {
    stopping_ = true;
    thread_.join();
    ::close(listener_);
  }
  std::uint16_t port() const noexcept { return port_; }

 private:
  void serve() {
    while (!stopping_) {
      pollfd ready{listener_, POLLIN, 0};
      if (::poll(&ready, 1, 50) != 1) continue;
      const int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) continue;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(connection, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      const std::size_t path_start = request.find(' ') + 1;
      const std::string path = request.substr(path_start, request.find(' ', path_start) - path_start);
      const auto answer = answers_.find(path);
      const std::string reply =
          answer == answers_.end()
              ? std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
              : "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + answer->second;
      for (std::size_t sent = 0; sent < reply.size() && !stopping_;) {
        const ssize_t n = ::send(connection, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the source hung up
        sent += static_cast<std::size_t>(n);
      }
      ::close(connection);
    }
  }

  std::map<std::string, std::string> answers_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

std::string range_answer(std::int64_t revision, const std::string& value_base64) {
  const std::string r = std::to_string(revision);
  return R"({"header":{"revision":")" + r + R"("},"kvs":[{"key":"L2ZsYWdkL2ZsYWdz","mod_revision":")" + r +
         R"(","value":")" + value_base64 + R"("}]})";
}

}  // namespace

TEST_CASE("base64 as etcd's gateway writes keys and values", "[etcd][unit]") {
  using namespace flagd::etcd;
  CHECK(base64_encode("/flagd/flags") == "L2ZsYWdkL2ZsYWdz");
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte.push_back(static_cast<char>(i));
  for (std::size_t length = 0; length <= every_byte.size(); length += 37) {
    const std::string bytes = every_byte.substr(0, length);
    const std::string encoded = base64_encode(bytes);
    CHECK(encoded.size() == base64_encoded_size(length));
    CHECK(base64_decoded_size(encoded) == length);
    CHECK(base64_decode(encoded) == bytes);
  }
  CHECK(base64_decode("djI=") == std::string("v2"));
  CHECK_FALSE(base64_decode("djI"));     // not padded
  CHECK_FALSE(base64_decode("d=I="));    // padding inside
  CHECK_FALSE(base64_decode("dj!="));    // not the alphabet
  CHECK_FALSE(base64_decode("dj-_"));    // the URL-safe alphabet is not the gateway's
  CHECK_FALSE(base64_decode("Zg==Zg==")); // padding before the end
}

TEST_CASE("the watch stream is split into lines, each at most the bound", "[etcd][unit]") {
  flagd::etcd::LineSplitter splitter(10);
  std::vector<std::string> lines;
  const auto keep = [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  };
  CHECK(splitter.feed("{\"a\":1}\n{\"b", keep));
  CHECK(splitter.feed("\":2}\r\n\n", keep));
  CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
  CHECK(splitter.feed("0123456789", keep));  // exactly the bound, not yet ended
  CHECK_FALSE(splitter.feed("X", keep));                    // one byte over
  CHECK(splitter.overflowed());

  flagd::etcd::LineSplitter stopping(100);
  int seen = 0;
  CHECK_FALSE(stopping.feed("1\n2\n3\n", [&](std::string_view) { return ++seen < 2; }));
  CHECK(seen == 2);
  CHECK_FALSE(stopping.overflowed());
}

TEST_CASE("the gateway's answers, as etcd 3.4 writes them", "[etcd][unit]") {
  using namespace flagd::etcd;
  std::string error;
  const auto created = parse_watch_answer(
      R"({"result":{"header":{"cluster_id":"1","member_id":"2","revision":"2","raft_term":"2"},"created":true}})", error);
  REQUIRE(created);
  CHECK(created->created);
  CHECK(created->revision == 2);
  CHECK(created->event_count == 0);

  const auto batch = parse_watch_answer(
      R"({"result":{"header":{"revision":"6"},"events":[{"kv":{"key":"L2ZsYWdkL2ZsYWdz","mod_revision":"3","value":"djI="}},)"
      R"({"type":"DELETE","kv":{"key":"L2ZsYWdkL2ZsYWdz","mod_revision":"5"}},)"
      R"({"kv":{"key":"L2ZsYWdkL2ZsYWdz","create_revision":"6","mod_revision":"6","version":"1","value":"Yw=="}}]}})",
      error);
  REQUIRE(batch);
  CHECK(batch->event_count == 3);
  CHECK_FALSE(batch->last_is_delete);
  CHECK(batch->last.mod_revision == 6);
  CHECK(batch->last.value_base64 == "Yw==");

  const auto deleted = parse_watch_answer(
      R"({"result":{"header":{"revision":"5"},"events":[{"type":"DELETE","kv":{"key":"L2ZsYWdkL2ZsYWdz","mod_revision":"5"}}]}})",
      error);
  REQUIRE(deleted);
  CHECK(deleted->last_is_delete);
  CHECK(deleted->last.mod_revision == 5);

  const auto compacted = parse_watch_answer(
      R"({"result":{"header":{"cluster_id":"1","raft_term":"2"},"canceled":true,"compact_revision":"6"}})", error);
  REQUIRE(compacted);
  CHECK(compacted->canceled);
  CHECK(compacted->compact_revision == 6);

  CHECK_FALSE(parse_watch_answer(R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}})", error));
  CHECK(error.find("etcdserver: no leader") != std::string::npos);
  CHECK_FALSE(parse_watch_answer(R"({"result":{"events":[{"type":"BOGUS","kv":{}}]}})", error));
  CHECK_FALSE(parse_watch_answer("not json", error));

  const auto found = parse_range_answer(
      R"({"header":{"revision":"2"},"kvs":[{"key":"L2ZsYWdkL2ZsYWdz","create_revision":"2","mod_revision":"2","version":"1","value":"eyJmbGFncyI6e319"}],"count":"1"})",
      error);
  REQUIRE(found);
  CHECK(found->revision == 2);
  REQUIRE(found->kv);
  CHECK(found->kv->mod_revision == 2);
  CHECK(base64_decode(found->kv->value_base64) == std::string(R"({"flags":{}})"));

  const auto missing = parse_range_answer(R"({"header":{"cluster_id":"1","revision":"9"}})", error);
  REQUIRE(missing);
  CHECK(missing->revision == 9);
  CHECK_FALSE(missing->kv);

  CHECK_FALSE(parse_range_answer(R"({"error":"bad key","message":"bad key","code":3})", error));
  CHECK(error.find("bad key") != std::string::npos);
  CHECK_FALSE(parse_range_answer(R"({"kvs":[]})", error));  // no revision
  CHECK_FALSE(parse_range_answer(R"({"header":{"revision":"x2"}})", error));
}

TEST_CASE("an existing key is delivered at start, and each later put is pushed", "[etcd][process]") {
  EtcdServer etcd;
  const std::int64_t first = etcd.put(kKey, flags_document("on"));
  RecordingSink sink;
  auto source = flagd::make_etcd_source(etcd_config(etcd.client_port()));
  CHECK(source->display_uri() == "etcd://127.0.0.1:" + std::to_string(etcd.client_port()) + kKey);
  source->start(sink, 3);

  REQUIRE(wait_for_last(sink, flags_document("on"), first));
  SourceHealth health = sink.health();
  CHECK(health.version == std::to_string(first));
  CHECK(health.bytes == flags_document("on").size());
  CHECK(health.documents == 1);
  CHECK(health.last_error.empty());
  CHECK(health.last_success_unix_ns > 0);

  const std::int64_t second = etcd.put(kKey, flags_document("off"));
  REQUIRE(wait_for_last(sink, flags_document("off"), second));
  CHECK(sink.documents().size() == 2);
  health = sink.health();
  CHECK(health.documents == 2);
  CHECK(health.failures == 0);

  const std::int64_t other = etcd.put("/flagd/other", flags_document("on"));  // another key: not watched
  const std::int64_t third = etcd.put(kKey, "{}");
  CHECK(other < third);
  REQUIRE(wait_for_last(sink, "{}", third));
  CHECK(sink.documents().size() == 3);
}

TEST_CASE("a key that does not exist yet is delivered once it is put", "[etcd][process]") {
  EtcdServer etcd;
  RecordingSink sink;
  auto source = flagd::make_etcd_source(etcd_config(etcd.client_port()));
  source->start(sink, 0);
  REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return has_error(h, "does not exist"); }));
  CHECK(sink.health().last_error.find(kKey) != std::string::npos);
  CHECK(sink.documents().empty());
  CHECK(sink.health().failures == 0);

  const std::int64_t revision = etcd.put(kKey, flags_document("on"));
  REQUIRE(wait_for_last(sink, flags_document("on"), revision));
  CHECK(sink.health().last_error.empty());
}

TEST_CASE("the watch survives etcd restarting, and resumes without losing changes made meanwhile",
          "[etcd][process]") {
  EtcdServer etcd;
  etcd.put(kKey, flags_document("on"));
  RecordingSink sink;
  auto source = flagd::make_etcd_source(etcd_config(etcd.client_port()));
  source->start(sink, 0);
  REQUIRE(sink.wait_for_documents(1));

  etcd.stop();
  REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.failures >= 2; }));
  CHECK(has_error(sink.health(), "127.0.0.1:" + std::to_string(etcd.client_port())));
  etcd.start();
  const std::int64_t after_restart = etcd.put(kKey, flags_document("off"));
  REQUIRE(wait_for_last(sink, flags_document("off"), after_restart));

  // Changes the source cannot see as they happen: etcd serves them on a port the source does not
  // know, then comes back on its own.
  etcd.stop();
  etcd.start(flagd::test::free_loopback_port());
  etcd.put(kKey, flags_document("on"));
  const std::int64_t last = etcd.put(kKey, "{\"flags\":{}}");
  etcd.stop();
  etcd.start();
  REQUIRE(wait_for_last(sink, "{\"flags\":{}}", last));
  CHECK(sink.health().last_error.empty());
}

TEST_CASE("a watch from a compacted revision recovers by reading the key afresh", "[etcd][process]") {
  EtcdServer etcd;
  etcd.put(kKey, flags_document("on"));
  ErrorLoggingSink sink;
  auto source = flagd::make_etcd_source(etcd_config(etcd.client_port()));
  source->start(sink, 0);
  REQUIRE(sink.wait_for_documents(1));

  // While the source cannot reach etcd, the key changes and the history it would resume from is
  // compacted away.
  etcd.stop();
  etcd.start(flagd::test::free_loopback_port());
  etcd.put(kKey, flags_document("off"));
  etcd.put("/flagd/other", "x");
  const std::int64_t latest = etcd.put(kKey, "{\"flags\":{}}");
  const std::int64_t head = etcd.put("/flagd/other", "y");
  etcd.compact(head);
  etcd.stop();
  etcd.start();

  REQUIRE(wait_for_last(sink, "{\"flags\":{}}", latest));
  CHECK(sink.reported_error_containing("compacted"));
  CHECK(sink.documents().size() == 2);  // the fresh read's one value, not the lost history

  const std::int64_t after = etcd.put(kKey, flags_document("on"));  // and the new watch goes on
  REQUIRE(wait_for_last(sink, flags_document("on"), after));
}

TEST_CASE("a deleted key keeps the last document, and says so", "[etcd][process]") {
  EtcdServer etcd;
  const std::int64_t put = etcd.put(kKey, flags_document("on"));
  RecordingSink sink;
  auto source = flagd::make_etcd_source(etcd_config(etcd.client_port()));
  source->start(sink, 0);
  REQUIRE(wait_for_last(sink, flags_document("on"), put));

  const std::int64_t deleted = etcd.del(kKey);
  REQUIRE(sink.wait_for([&](const Documents&, const SourceHealth& h) {
    return has_error(h, "deleted at revision " + std::to_string(deleted));
  }));
  CHECK(sink.documents().size() == 1);
  CHECK(sink.health().version == std::to_string(put));

  const std::int64_t again = etcd.put(kKey, flags_document("off"));
  REQUIRE(wait_for_last(sink, flags_document("off"), again));
  CHECK(sink.health().last_error.empty());
}

TEST_CASE("etcd down at start: failures with a clear error, then the value once it is up", "[etcd][process]") {
  EtcdServer etcd(EtcdServer::Start::Later);
  RecordingSink sink;
  auto source = flagd::make_etcd_source(etcd_config(etcd.client_port()));
  source->start(sink, 0);
  REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.failures >= 2; }));
  const SourceHealth down = sink.health();
  CHECK(has_error(down, "cannot connect to etcd at 127.0.0.1:" + std::to_string(etcd.client_port())));
  CHECK(down.last_success_unix_ns == 0);
  CHECK(down.last_attempt_unix_ns > 0);
  CHECK(sink.documents().empty());

  etcd.start();
  const std::int64_t revision = etcd.put(kKey, flags_document("on"));
  REQUIRE(wait_for_last(sink, flags_document("on"), revision));
  CHECK(sink.health().last_error.empty());
}

TEST_CASE("stop() interrupts an idle watch and a backoff wait", "[etcd][process]") {
  SECTION("an idle watch") {
    EtcdServer etcd;
    etcd.put(kKey, flags_document("on"));
    RecordingSink sink;
    auto source = flagd::make_etcd_source(etcd_config(etcd.client_port()));
    source->start(sink, 0);
    REQUIRE(sink.wait_for_documents(1));
    // The report after the read, then the one when the watch was created.
    REQUIRE(flagd::test::eventually([&] { return sink.health_reports() >= 2; }));
    CHECK(stops(*source));
    CHECK(stops(*source));  // idempotent
  }
  SECTION("a backoff wait") {
    EtcdServer etcd(EtcdServer::Start::Later);
    RecordingSink sink;
    auto source = flagd::make_etcd_source(etcd_config(etcd.client_port(), 60s));
    source->start(sink, 0);
    REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.failures >= 1; }));
    CHECK(stops(*source));
  }
}

TEST_CASE("a value over the file limit, and a watch answer over the stream's bound, are refused", "[etcd][process]") {
  SECTION("a value over the limit") {
    const std::size_t over = flagd::limits::kMaxFileBytes + 1;
    FakeGateway gateway({{"/v3/kv/range", range_answer(7, std::string(flagd::etcd::base64_encoded_size(over), 'Q'))}});
    RecordingSink sink;
    auto source = flagd::make_etcd_source(etcd_config(gateway.port(), 60s));
    source->start(sink, 0);
    REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return has_error(h, "over the limit"); }));
    CHECK(has_error(sink.health(), "revision 7"));
    CHECK(sink.health().failures == 1);
    CHECK(sink.documents().empty());
  }
  SECTION("a watch answer that never ends its line") {
    FakeGateway gateway({{"/v3/kv/range", range_answer(5, flagd::etcd::base64_encode("{}"))},
                         {"/v3/watch", std::string(flagd::limits::kMaxFileBytes / 3 * 4 + (1u << 20), 'x')}});
    RecordingSink sink;
    auto source = flagd::make_etcd_source(etcd_config(gateway.port(), 60s));
    source->start(sink, 0);
    REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return has_error(h, "longer than"); }));
    REQUIRE(sink.documents().size() == 1);
    CHECK(sink.documents()[0].text == "{}");
    CHECK(sink.documents()[0].version == "5");
  }
}

TEST_CASE("etcds:// reaches the gateway over verified TLS", "[etcd][process]") {
  flagd::test::TlsFiles tls;
  EtcdServer etcd(EtcdServer::Start::Now, {tls.server_cert(), tls.server_key(), tls.ca_cert()});
  const std::int64_t revision = etcd.put(kKey, flags_document("on"));
  SourceConfig config = etcd_config(etcd.client_port());
  config.tls = true;

  SECTION("etcd's certificate signed by the CA given") {
    config.ca_file = tls.ca_cert();
    RecordingSink sink;
    auto source = flagd::make_etcd_source(config);
    source->start(sink, 0);
    REQUIRE(wait_for_last(sink, flags_document("on"), revision));
    const std::int64_t pushed = etcd.put(kKey, flags_document("off"));  // the watch too goes over TLS
    REQUIRE(wait_for_last(sink, flags_document("off"), pushed));
  }
  SECTION("a CA that did not sign it") {
    config.ca_file = tls.other_ca_cert();
    RecordingSink sink;
    auto source = flagd::make_etcd_source(config);
    source->start(sink, 0);
    REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.failures >= 1; }));
    CHECK(has_error(sink.health(), "certificate"));
    CHECK(sink.documents().empty());
  }
}

TEST_CASE("an incomplete etcd configuration is refused", "[etcd][unit]") {
  SourceConfig config = etcd_config(2379);
  config.key.clear();
  CHECK_THROWS_AS(flagd::make_etcd_source(config), std::invalid_argument);
  config = etcd_config(0);
  CHECK_THROWS_AS(flagd::make_etcd_source(config), std::invalid_argument);
  config = etcd_config(2379);
  config.kind = flagd::SourceKind::Http;
  CHECK_THROWS_AS(flagd::make_etcd_source(config), std::invalid_argument);
}
