// The HTTP(S) polling source against a real nginx on 127.0.0.1: conditional GETs seen in nginx's
// own access log, changes, outages, error statuses, timeouts, body limits, TLS, Authorization, and
// stop() in every state. Plus the Backoff it waits with.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "backoff.hpp"
#include "child_process.hpp"
#include "http_source.hpp"
#include "loopback_port.hpp"
#include "nginx_server.hpp"
#include "recording_sink.hpp"
#include "scratch_directory.hpp"
#include "tls_files.hpp"

using namespace std::chrono_literals;
using flagd::SourceConfig;
using flagd::SourceHealth;
using flagd::test::LoggedRequest;
using flagd::test::NginxConfig;
using flagd::test::NginxServer;
using flagd::test::RecordingSink;
using Documents = std::vector<RecordingSink::Document>;

namespace {

constexpr const char* kFlags = R"({"flags":{"f":{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}}})";
constexpr const char* kOtherFlags =
    R"({"flags":{"f":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"}}})";

// Quick polls and retries, so that each test sees several attempts in a fraction of a second.
SourceConfig http_config(const std::string& url) {
  SourceConfig config;
  config.kind = flagd::SourceKind::Http;
  config.uri = url;
  config.poll_interval = 100ms;
  config.timeout = 5s;
  config.connect_timeout = 2s;
  config.backoff_initial = 50ms;
  config.backoff_max = 400ms;
  return config;
}

// The source running into a sink, stopped first on the way out (it delivers into the sink).
struct Running {
  RecordingSink sink;
  std::unique_ptr<flagd::RemoteSource> source;
  explicit Running(const SourceConfig& config) : source(flagd::make_http_source(config)) { source->start(sink, 0); }
  ~Running() { source->stop(); }

  template <class Condition>
  bool health_until(Condition condition) {
    return sink.wait_for([&](const Documents&, const SourceHealth& h) { return condition(h); });
  }
};

// nginx's ETag for a static file: "<mtime hex>-<size hex>".
std::string nginx_etag(const std::string& path) {
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  char text[64];
  std::snprintf(text, sizeof text, "\"%llx-%llx\"", static_cast<unsigned long long>(status.st_mtime),
                static_cast<unsigned long long>(status.st_size));
  return text;
}

std::size_t count_status(const std::vector<LoggedRequest>& requests, int status) {
  std::size_t n = 0;
  for (const auto& request : requests) n += request.status == status ? 1 : 0;
  return n;
}

// Listens on 127.0.0.1 and accepts connections that it then never answers (nor closes).
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(fd_ >= 0);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) == 1) {
          const int connection = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (connection >= 0) {
            held_.push_back(connection);
            ++accepted_;
          }
        }
      }
    });
  }
  ~SilentListener() {
    stop_ = true;
    thread_.join();
    for (int connection : held_) ::close(connection);
    ::close(fd_);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int accepted() const { return accepted_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> held_;
  std::atomic<int> accepted_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("http: the first fetch delivers the document with nginx's ETag; later polls are 304s over the same "
          "connection that deliver nothing") {
  NginxServer server({});
  server.write_file("flags.json", kFlags);
  const std::string etag = nginx_etag(server.root() + "/flags.json");
  Running running(http_config(server.url("/flags.json")));

  REQUIRE(running.sink.wait_for_documents(1));
  REQUIRE(running.health_until([](const SourceHealth& h) { return h.unchanged >= 3; }));
  const Documents documents = running.sink.documents();
  REQUIRE(documents.size() == 1);
  CHECK(documents[0].text == kFlags);
  CHECK(documents[0].version == etag);

  const SourceHealth health = running.sink.health();
  CHECK(health.last_error.empty());
  CHECK(health.version == etag);
  CHECK(health.bytes == std::string(kFlags).size());
  CHECK(health.documents == 1);
  CHECK(health.failures == 0);
  CHECK(health.last_success_unix_ns != 0);
  CHECK(health.last_success_unix_ns == health.last_attempt_unix_ns);

  const auto requests = server.requests_for("/flags.json", 4);
  REQUIRE(requests.size() >= 4);
  CHECK(requests[0].status == 200);
  CHECK(requests[0].if_none_match.empty());
  for (std::size_t i = 1; i < requests.size(); ++i) {
    CHECK(requests[i].status == 304);
    CHECK(requests[i].if_none_match == etag);
    CHECK(requests[i].connection == requests[0].connection);  // kept alive, not reconnected
  }
}

TEST_CASE("http: a file replaced on the server is delivered with its new ETag") {
  NginxServer server({});
  server.write_file("flags.json", kFlags);
  const std::string first_etag = nginx_etag(server.root() + "/flags.json");
  Running running(http_config(server.url("/flags.json")));
  REQUIRE(running.sink.wait_for_documents(1));

  server.write_file("flags.json", kOtherFlags);  // another size, so another ETag within the second
  const std::string second_etag = nginx_etag(server.root() + "/flags.json");
  REQUIRE(second_etag != first_etag);
  REQUIRE(running.sink.wait_for_documents(2));
  const Documents documents = running.sink.documents();
  CHECK(documents[1].text == kOtherFlags);
  CHECK(documents[1].version == second_etag);

  // The request that got the new file had asked with the old ETag.
  CHECK(flagd::test::eventually([&] {
    for (const auto& request : server.requests_for("/flags.json")) {
      if (request.status == 200 && request.if_none_match == first_etag) return true;
    }
    return false;
  }));
}

TEST_CASE("http: without an ETag, Last-Modified is the version and If-Modified-Since gets 304s") {
  NginxServer server({.server_directives = "location = /flags.json { etag off; }"});
  server.write_file("flags.json", kFlags);
  Running running(http_config(server.url("/flags.json")));
  REQUIRE(running.sink.wait_for_documents(1));
  REQUIRE(running.health_until([](const SourceHealth& h) { return h.unchanged >= 2; }));

  const std::string version = running.sink.documents().at(0).version;
  CHECK(version.find("GMT") != std::string::npos);  // an HTTP date
  const auto requests = server.requests_for("/flags.json", 3);
  REQUIRE(requests.size() >= 3);
  CHECK(requests[1].status == 304);
  CHECK(requests[1].if_modified_since == version);
  CHECK(requests[1].if_none_match.empty());
  CHECK(running.sink.documents().size() == 1);
}

TEST_CASE("http: a 200 with the very bytes last delivered delivers nothing and counts as unchanged") {
  // Neither validator honoured: every poll is a full 200.
  NginxServer server({.server_directives = "location = /flags.json { etag off; if_modified_since off; }"});
  server.write_file("flags.json", kFlags);
  Running running(http_config(server.url("/flags.json")));
  REQUIRE(running.sink.wait_for_documents(1));
  REQUIRE(running.health_until([](const SourceHealth& h) { return h.unchanged >= 3; }));

  CHECK(running.sink.documents().size() == 1);
  const auto requests = server.requests_for("/flags.json", 4);
  CHECK(requests.size() >= 4);
  CHECK(count_status(requests, 200) == requests.size());
  CHECK(running.sink.health().failures == 0);
}

TEST_CASE("http: a server that is down at start is retried until it answers") {
  NginxServer server({}, NginxServer::Start::Later);
  server.write_file("flags.json", kFlags);
  const std::string url = server.url("/flags.json");
  Running running(http_config(url));

  REQUIRE(running.health_until([](const SourceHealth& h) { return h.failures >= 2; }));
  const SourceHealth down = running.sink.health();
  INFO(down.last_error);
  CHECK(down.last_error.rfind("cannot fetch " + url + ": ", 0) == 0);
  CHECK(down.last_error.find("onnect") != std::string::npos);  // curl: "Failed to connect ... Couldn't connect"
  CHECK(down.last_error.find('\n') == std::string::npos);
  CHECK(down.last_success_unix_ns == 0);
  CHECK(running.sink.documents().empty());

  server.start();
  REQUIRE(running.sink.wait_for_documents(1));
  REQUIRE(running.health_until([](const SourceHealth& h) { return h.last_error.empty(); }));
  CHECK(running.sink.documents()[0].text == kFlags);
}

TEST_CASE("http: HTTP 500 is a failure, retried until the server serves the document") {
  NginxServer server({.server_directives = "location = /flags.json { if (!-f $document_root/fixed) { return 500; } }"});
  server.write_file("flags.json", kFlags);
  const std::string url = server.url("/flags.json");
  Running running(http_config(url));

  REQUIRE(running.health_until([](const SourceHealth& h) { return h.failures >= 3; }));
  CHECK(running.sink.health().last_error == "HTTP 500 from " + url);
  CHECK(running.sink.documents().empty());
  CHECK(flagd::test::eventually([&] { return count_status(server.requests_for("/flags.json"), 500) >= 3; }));

  server.write_file("fixed", "");
  REQUIRE(running.sink.wait_for_documents(1));
  REQUIRE(running.health_until([](const SourceHealth& h) { return h.last_error.empty(); }));
  CHECK(running.sink.documents()[0].text == kFlags);
}

TEST_CASE("http: redirects are followed, five at most, and only to http or https") {
  NginxServer server({.server_directives = "location = /moved.json { return 301 /flags.json; }\n"
                                           "location = /loop { return 302 /loop; }\n"
                                           "location = /ftp { return 302 ftp://127.0.0.1/flags.json; }"});
  server.write_file("flags.json", kFlags);
  const std::string etag = nginx_etag(server.root() + "/flags.json");

  SECTION("to the document") {
    Running running(http_config(server.url("/moved.json")));
    REQUIRE(running.sink.wait_for_documents(1));
    CHECK(running.sink.documents()[0].version == etag);  // the final response's, not the redirect's
  }
  SECTION("in a loop") {
    Running running(http_config(server.url("/loop")));
    REQUIRE(running.health_until([](const SourceHealth& h) { return h.failures >= 1; }));
    INFO(running.sink.health().last_error);
    CHECK(running.sink.health().last_error.find("edirect") != std::string::npos);
    // The first request and five redirects per attempt; one more attempt may be under way.
    const std::size_t redirects = count_status(server.requests_for("/loop"), 302);
    CHECK(redirects <= 6 * (running.sink.health().failures + 1));
  }
  SECTION("to another protocol") {
    Running running(http_config(server.url("/ftp")));
    REQUIRE(running.health_until([](const SourceHealth& h) { return h.failures >= 1; }));
    INFO(running.sink.health().last_error);
    CHECK(running.sink.health().last_error.rfind("cannot fetch " + server.url("/ftp") + ": ", 0) == 0);
    CHECK(running.sink.documents().empty());
  }
}

TEST_CASE("http: a server that accepts and never answers times out, and stop() still returns") {
  SilentListener listener;
  SourceConfig config = http_config(listener.url("/flags.json"));
  config.timeout = 300ms;
  Running running(config);
  REQUIRE(running.health_until([](const SourceHealth& h) { return h.failures >= 1; }));
  INFO(running.sink.health().last_error);
  CHECK(running.sink.health().last_error.find("timed out") != std::string::npos);
  CHECK(running.sink.documents().empty());
  running.source->stop();
}

TEST_CASE("http: a body over max_body_bytes is refused, with a Content-Length or streamed without one") {
  NginxServer server({.server_directives = "location /streamed/ { gzip on; gzip_types application/json; "
                                           "gzip_min_length 1; }"});
  const std::string big = "{\"flags\":{}," + std::string(5000, ' ') + "}";
  std::filesystem::create_directories(server.root() + "/streamed");
  server.write_file("big.json", big);
  server.write_file("streamed/big.json", big);

  const auto refused = [&](const std::string& path) {
    SourceConfig config = http_config(server.url(path));
    config.max_body_bytes = 1000;
    Running running(config);
    REQUIRE(running.health_until([](const SourceHealth& h) { return h.failures >= 2; }));
    CHECK(running.sink.health().last_error ==
          "the response from " + server.url(path) + " is over the limit of 1000 bytes");
    CHECK(running.sink.health().bytes == 0);
    CHECK(running.sink.documents().empty());
  };
  SECTION("declared") {
    refused("/big.json");
    const auto requests = server.requests_for("/big.json", 1);
    REQUIRE(!requests.empty());
    CHECK(requests[0].gzip_ratio.empty());  // sent as it is, with its Content-Length
  }
  SECTION("streamed") {
    refused("/streamed/big.json");
    // nginx compressed it, so it went chunked: the limit held on the bytes as they came.
    const auto requests = server.requests_for("/streamed/big.json", 1);
    REQUIRE(!requests.empty());
    CHECK(!requests[0].gzip_ratio.empty());
  }
  SECTION("within the limit") {
    SourceConfig config = http_config(server.url("/streamed/big.json"));
    config.max_body_bytes = big.size();
    Running running(config);
    REQUIRE(running.sink.wait_for_documents(1));
    CHECK(running.sink.documents()[0].text == big);
  }
}

TEST_CASE("http: TLS is verified against the given CA; a server another CA signed is refused") {
  flagd::test::TlsFiles tls;
  NginxServer server({.ssl = true,
                      .server_directives = "ssl_certificate " + tls.server_cert() + ";\nssl_certificate_key " +
                                           tls.server_key() + ";"});
  server.write_file("flags.json", kFlags);
  SourceConfig config = http_config(server.url("/flags.json"));
  REQUIRE(config.uri.rfind("https://127.0.0.1:", 0) == 0);

  SECTION("the right CA") {
    config.ca_file = tls.ca_cert();
    Running running(config);
    REQUIRE(running.sink.wait_for_documents(1));
    CHECK(running.sink.documents()[0].text == kFlags);
    REQUIRE(running.health_until([](const SourceHealth& h) { return h.unchanged >= 1; }));
  }
  SECTION("another CA") {
    config.ca_file = tls.other_ca_cert();
    Running running(config);
    REQUIRE(running.health_until([](const SourceHealth& h) { return h.failures >= 2; }));
    INFO(running.sink.health().last_error);
    CHECK(running.sink.health().last_error.find("certificate") != std::string::npos);
    CHECK(running.sink.documents().empty());
    CHECK(server.requests_for("/flags.json").empty());  // no request was sent over the unverified channel
  }
}

namespace {

// Remembers whether any health report or document version ever contained `secret`.
class SecretWatchingSink : public RecordingSink {
 public:
  explicit SecretWatchingSink(std::string secret) : secret_(std::move(secret)) {}
  using RecordingSink::health;
  void document(std::size_t index, std::string text, std::string version, flagd::FlagFormat format) override {
    if (version.find(secret_) != std::string::npos) leaked_ = true;
    RecordingSink::document(index, std::move(text), std::move(version), format);
  }
  void health(std::size_t index, const SourceHealth& health) override {
    for (const std::string* field : {&health.last_error, &health.version}) {
      if (field->find(secret_) != std::string::npos) leaked_ = true;
    }
    RecordingSink::health(index, health);
  }
  bool leaked() const { return leaked_; }

 private:
  std::string secret_;
  std::atomic<bool> leaked_{false};
};

}  // namespace

TEST_CASE("http: the Authorization header comes from a file read at each request, or the environment, and is "
          "never shown") {
  constexpr const char* kSecret = "s3cret-token-xyz";
  NginxServer server({.server_directives =
                          "location /private/ { if ($http_authorization != \"Bearer s3cret-token-xyz\") { return 401; } }"});
  std::filesystem::create_directories(server.root() + "/private");
  server.write_file("private/flags.json", kFlags);
  flagd::test::ScratchDirectory secrets("flagd-secret");
  const std::string token_file = secrets / "token";
  // Replaced whole (written aside, renamed over), as a secret manager rotates a token.
  const auto write_token = [&](const std::string& text) {
    std::ofstream(token_file + ".new", std::ios::trunc) << text;
    std::filesystem::rename(token_file + ".new", token_file);
  };
  const std::string url = server.url("/private/flags.json");

  SecretWatchingSink sink(kSecret);
  SourceConfig config = http_config(url);

  SECTION("from a file, rotated, missing, malformed, and with the server gone") {
    config.authorization.file = token_file;
    write_token(std::string("Bearer ") + kSecret + "\n");
    auto source = flagd::make_http_source(config);
    CHECK(source->display_uri().find(kSecret) == std::string::npos);
    source->start(sink, 0);
    REQUIRE(sink.wait_for_documents(1));

    // A rotated (here: wrong) token is used from the next request on.
    write_token("Bearer wrong-token\n");
    REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.failures >= 1; }));
    CHECK(sink.health().last_error == "HTTP 401 from " + url);

    // Back to the right one; then a token file holding two lines (a header injection): refused.
    write_token(std::string("Bearer ") + kSecret + "\n");
    REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.last_error.empty(); }));
    write_token(std::string("Bearer ") + kSecret + "\nX-Injected: 1\n");
    REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) {
      return h.last_error.find("line break") != std::string::npos;
    }));
    CHECK(sink.health().last_error.find(token_file) != std::string::npos);

    // A missing file: named, with why.
    std::filesystem::remove(token_file);
    REQUIRE(sink.wait_for([&](const Documents&, const SourceHealth& h) {
      return h.last_error.find("No such file") != std::string::npos;
    }));
    CHECK(sink.health().last_error.find(token_file) != std::string::npos);

    // The server gone, with the right token again.
    write_token(std::string("Bearer ") + kSecret);  // no trailing newline: as good
    REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.last_error.empty(); }));
    server.stop();
    REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) {
      return h.last_error.find("onnect") != std::string::npos;
    }));
    source->stop();
    CHECK(sink.documents().size() == 1);  // every success since was a 304
  }
  SECTION("from the environment") {
    config.authorization.env = "FLAGD_TEST_HTTP_AUTHORIZATION";
    SECTION("set") {
      ::setenv("FLAGD_TEST_HTTP_AUTHORIZATION", (std::string("Bearer ") + kSecret).c_str(), 1);
      auto source = flagd::make_http_source(config);
      ::unsetenv("FLAGD_TEST_HTTP_AUTHORIZATION");  // read once, at construction
      source->start(sink, 0);
      REQUIRE(sink.wait_for_documents(1));
      source->stop();
    }
    SECTION("not set") {
      ::unsetenv("FLAGD_TEST_HTTP_AUTHORIZATION");
      auto source = flagd::make_http_source(config);
      source->start(sink, 0);
      REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.failures >= 1; }));
      source->stop();
      CHECK(sink.health().last_error.find("FLAGD_TEST_HTTP_AUTHORIZATION") != std::string::npos);
      CHECK(sink.documents().empty());
    }
  }
  SECTION("wrong from the start") {
    config.authorization.file = token_file;
    write_token("Bearer not-it");
    auto source = flagd::make_http_source(config);
    source->start(sink, 0);
    REQUIRE(sink.wait_for([](const Documents&, const SourceHealth& h) { return h.failures >= 2; }));
    source->stop();
    CHECK(sink.health().last_error == "HTTP 401 from " + url);
    CHECK(sink.documents().empty());
  }
  CHECK_FALSE(sink.leaked());
  CHECK(server.error_log().find(kSecret) == std::string::npos);
}

TEST_CASE("http: stop() returns at once while waiting, during a transfer, before start, and twice") {
  SECTION("waiting for the next poll") {
    NginxServer server({});
    server.write_file("flags.json", kFlags);
    SourceConfig config = http_config(server.url("/flags.json"));
    config.poll_interval = 1h;
    Running running(config);
    REQUIRE(running.sink.wait_for_documents(1));
    running.source->stop();
    CHECK(running.sink.health_reports() == 1);
  }
  SECTION("during a transfer the server never answers") {
    SilentListener listener;
    SourceConfig config = http_config(listener.url("/flags.json"));
    config.timeout = 1h;
    Running running(config);
    REQUIRE(flagd::test::eventually([&] { return listener.accepted() >= 1; }));
    running.source->stop();
    CHECK(running.sink.health_reports() == 0);  // interrupted: no attempt ended, none reported
  }
  SECTION("never started") {
    auto source = flagd::make_http_source(http_config("http://127.0.0.1:1/flags.json"));
    source->stop();
    source->stop();
    RecordingSink sink;
    source->start(sink, 0);  // after stop(): nothing runs
    CHECK(sink.health_reports() == 0);
  }
}

TEST_CASE("http: a document is YAML by the URL's extension, or by its media type when the URL has none") {
  using flagd::FlagFormat;
  using flagd::http_document_format;
  CHECK(http_document_format("https://cdn.example/a/flags.yaml", "application/json") == FlagFormat::Yaml);
  CHECK(http_document_format("https://cdn.example/a/flags.YML?v=2", "") == FlagFormat::Yaml);
  CHECK(http_document_format("https://cdn.example/a/flags.json", "application/yaml") == FlagFormat::Json);
  CHECK(http_document_format("https://cdn.example/a/flags", "application/yaml") == FlagFormat::Yaml);
  CHECK(http_document_format("https://cdn.example/flags", " Application/X-YAML ; charset=utf-8") == FlagFormat::Yaml);
  CHECK(http_document_format("https://cdn.example.yaml", "application/json") == FlagFormat::Json);  // no path
  CHECK(http_document_format("https://cdn.example/v1.2/flags", "application/json") == FlagFormat::Json);
  CHECK(http_document_format("https://cdn.example/flags", "text/plain") == FlagFormat::Json);
  CHECK(http_document_format("https://cdn.example/flags", "") == FlagFormat::Json);
}

TEST_CASE("http: a YAML document from a URL without an extension is delivered as YAML, by its Content-Type") {
  NginxServer server(NginxConfig{0, false, "    location = /flags { default_type application/yaml; }\n"});
  server.write_file("flags", "flags:\n  f: {state: ENABLED, variants: {on: true}, defaultVariant: \"on\"}\n");
  server.write_file("flags.json", kFlags);
  Running yaml(http_config(server.url("/flags")));
  Running json(http_config(server.url("/flags.json")));
  REQUIRE(yaml.sink.wait_for_documents(1));
  REQUIRE(json.sink.wait_for_documents(1));
  CHECK(yaml.sink.documents()[0].format == flagd::FlagFormat::Yaml);
  CHECK(json.sink.documents()[0].format == flagd::FlagFormat::Json);
}

TEST_CASE("http: display_uri drops userinfo and hides the query") {
  using flagd::http_display_uri;
  CHECK(http_display_uri("http://127.0.0.1:8080/flags.json") == "http://127.0.0.1:8080/flags.json");
  CHECK(http_display_uri("https://user:p@ss@cdn.example:8443/a/flags.json?token=abc&x=1#top") ==
        "https://cdn.example:8443/a/flags.json?\xE2\x80\xA6");
  CHECK(http_display_uri("https://cdn.example?sig=abc") == "https://cdn.example?\xE2\x80\xA6");
  CHECK(http_display_uri("https://cdn.example/flags.json#part") == "https://cdn.example/flags.json");
  CHECK(http_display_uri("https://cdn.example/a@b/flags.json") == "https://cdn.example/a@b/flags.json");
  auto source = flagd::make_http_source(http_config("http://127.0.0.1:1/flags.json?key=hidden"));
  CHECK(source->display_uri() == "http://127.0.0.1:1/flags.json?\xE2\x80\xA6");
}

TEST_CASE("Backoff: after failures the delay doubles to the longest, jittered within [ceiling/2, ceiling]; a "
          "first poll anywhere in the interval, then up to 10% shorter") {
  flagd::Backoff backoff(100ms, 1000ms);
  for (int round = 0; round < 2; ++round) {
    std::chrono::milliseconds ceiling = 100ms;
    for (int i = 0; i < 40; ++i) {
      const auto delay = backoff.after_failure();
      INFO("failure " << i << ": " << delay.count() << " ms, ceiling " << ceiling.count() << " ms");
      CHECK(delay >= ceiling / 2);
      CHECK(delay <= ceiling);
      ceiling = std::min(ceiling * 2, std::chrono::milliseconds(1000));
    }
    CHECK(backoff.failures() == 40);
    backoff.succeeded();  // and it starts again from the first delay
    CHECK(backoff.failures() == 0);
  }

  // Hosts started together: their first polls spread over the whole interval.
  std::chrono::milliseconds first_low = 1h, first_high = 0ms;
  for (int host = 0; host < 200; ++host) {
    const auto phase = flagd::Backoff(100ms, 1000ms).poll(5000ms);
    CHECK(phase >= 1ms);
    CHECK(phase <= 5000ms);
    first_low = std::min(first_low, phase);
    first_high = std::max(first_high, phase);
  }
  CHECK(first_low < 1000ms);  // 200 uniform draws miss [0, 1 s) with probability 0.8^200
  CHECK(first_high > 4000ms);

  (void)backoff.poll(5000ms);  // this host's phase
  std::chrono::milliseconds low = 1h, high = 0ms;
  for (int i = 0; i < 1000; ++i) {
    const auto delay = backoff.poll(5000ms);
    low = std::min(low, delay);
    high = std::max(high, delay);
  }
  CHECK(low >= 4500ms);
  CHECK(high <= 5000ms);  // never longer than the interval: a change arrives within one
  CHECK(low < high);  // jittered, not fixed
}
