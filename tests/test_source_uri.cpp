// Sources as the command line spells them: --uri values and flagd's --sources JSON.
#include <catch2/catch.hpp>

#include "source_uri.hpp"

namespace {

flagd::SourceConfig uri(std::string_view text) {
  std::string error;
  std::optional<flagd::SourceConfig> config = flagd::parse_source_uri(text, flagd::SourceConfig{}, error);
  INFO(error);
  REQUIRE(config);
  return *config;
}

std::string uri_error(std::string_view text) {
  std::string error;
  CHECK_FALSE(flagd::parse_source_uri(text, flagd::SourceConfig{}, error));
  return error;
}

std::string sources_error(std::string_view json) {
  std::string error;
  CHECK_FALSE(flagd::parse_sources_json(json, flagd::SourceConfig{}, error));
  return error;
}

}  // namespace

TEST_CASE("--uri names files, HTTP servers, etcd keys and flagd sync servers") {
  CHECK(uri("flags.json").kind == flagd::SourceKind::File);
  CHECK(uri("flags.json").path == "flags.json");
  CHECK(uri("file:/etc/flagd/flags.json").path == "/etc/flagd/flags.json");
  CHECK(uri("file:///etc/flagd/flags.json").path == "/etc/flagd/flags.json");

  const flagd::SourceConfig http = uri("https://cdn.example.com/flags.json?v=1");
  CHECK(http.kind == flagd::SourceKind::Http);
  CHECK(http.tls);
  CHECK(http.uri == "https://cdn.example.com/flags.json?v=1");

  const flagd::SourceConfig etcd = uri("etcd://127.0.0.1:2379/flagd/prod");
  CHECK(etcd.kind == flagd::SourceKind::Etcd);
  CHECK(etcd.host == "127.0.0.1");
  CHECK(etcd.port == 2379);
  CHECK(etcd.key == "/flagd/prod");
  CHECK_FALSE(etcd.tls);
  CHECK(uri("etcds://[::1]:2379/k").host == "::1");
  CHECK(uri("etcds://[::1]:2379/k").tls);

  const flagd::SourceConfig grpc = uri("grpcs://flagd-proxy:8015");
  CHECK(grpc.kind == flagd::SourceKind::Grpc);
  CHECK(grpc.tls);
  CHECK(grpc.port == 8015);
}

TEST_CASE("--uri refuses what it cannot use, saying why") {
  CHECK(uri_error("https://user:pass@cdn.example.com/f.json").find("readable by every user") != std::string::npos);
  CHECK(uri_error("https://user:pass@cdn.example.com/f.json").find("pass") == std::string::npos);
  std::string error;
  CHECK_FALSE(flagd::parse_sources_json(R"([{"uri": "http://ann:pw-9@h/f.json", "provider": "http"}])",
                                        flagd::SourceConfig{}, error));
  CHECK(error.find("pw-9") == std::string::npos);
  CHECK(uri_error("etcd://127.0.0.1/k").find("needs a port") != std::string::npos);
  CHECK(uri_error("etcd://127.0.0.1:70000/k").find("from 1 to 65535") != std::string::npos);
  CHECK(uri_error("etcd://127.0.0.1:2379").find("names its key") != std::string::npos);
  CHECK(uri_error("grpc://h:1/path").find("selector") != std::string::npos);
  CHECK(uri_error("gs://bucket/flags.json").find("'gs' is not supported") != std::string::npos);
  CHECK(uri_error("file://relative").find("absolute path") != std::string::npos);
  CHECK(uri_error("").find("needs a path") != std::string::npos);
  CHECK(uri_error("file:").find("needs a path") != std::string::npos);
}

TEST_CASE("--sources takes flagd's JSON, with its field names") {
  flagd::SourceConfig defaults;
  defaults.poll_interval = std::chrono::seconds(5);
  std::string error;
  const auto list = flagd::parse_sources_json(
      R"([{"uri": "config/flags.json", "provider": "file"},
          {"uri": "http://origin:8080/flags.json", "provider": "http", "interval": 30, "authHeaderFile": "/run/token"},
          {"uri": "flagd-proxy:8015", "provider": "grpc", "tls": true, "certPath": "/etc/ca.pem",
           "selector": "app=checkout", "providerID": "host-7"},
          {"uri": "etcd://127.0.0.1:2379/flags", "provider": "etcd"}])",
      defaults, error);
  INFO(error);
  REQUIRE(list);
  REQUIRE(list->size() == 4);
  CHECK((*list)[0].kind == flagd::SourceKind::File);
  CHECK((*list)[0].path == "config/flags.json");
  CHECK((*list)[1].poll_interval == std::chrono::seconds(30));
  CHECK((*list)[1].authorization.file == "/run/token");
  CHECK((*list)[2].kind == flagd::SourceKind::Grpc);
  CHECK((*list)[2].tls);
  CHECK((*list)[2].host == "flagd-proxy");
  CHECK((*list)[2].ca_file == "/etc/ca.pem");
  CHECK((*list)[2].selector == "app=checkout");
  CHECK((*list)[2].provider_id == "host-7");
  CHECK((*list)[3].key == "/flags");
}

TEST_CASE("--sources refuses inline secrets, unknown fields and mismatched providers") {
  CHECK(sources_error(R"([{"uri": "http://h/f.json", "provider": "http", "bearerToken": "abc"}])")
            .find("authHeaderFile") != std::string::npos);
  CHECK(sources_error(R"([{"uri": "http://h/f.json", "provider": "http", "authHeader": "Bearer abc"}])")
            .find("readable by every user") != std::string::npos);
  CHECK(sources_error(R"([{"uri": "default/flags", "provider": "kubernetes"}])").find("not supported") != std::string::npos);
  CHECK(sources_error(R"([{"uri": "http://h/f.json", "provider": "grpc"}])").find("does not match") != std::string::npos);
  CHECK(sources_error(R"([{"uri": "f.json", "colour": "red"}])").find("\"colour\" is not supported") != std::string::npos);
  CHECK(sources_error(R"([{"provider": "file"}])").find("\"uri\" is required") != std::string::npos);
  CHECK(sources_error(R"({"uri": "f.json"})").find("JSON array") != std::string::npos);
  CHECK(sources_error(R"([)").find("not valid JSON") != std::string::npos);
  CHECK(sources_error(R"([])").find("no source") != std::string::npos);
  CHECK(sources_error(R"([{"uri": "http://h/f", "interval": 0}])").find("from 1 to 86400") != std::string::npos);
  CHECK(sources_error(R"([{"uri": "etcd://h:1/k", "provider": "etcd", "tls": true}])").find("contradicts") !=
        std::string::npos);
  std::string error;
  const auto etcds = flagd::parse_sources_json(R"([{"uri": "h:1/k", "provider": "etcd", "tls": true}])",
                                               flagd::SourceConfig{}, error);
  REQUIRE(etcds);
  CHECK((*etcds)[0].tls);
  CHECK((*etcds)[0].key == "/k");
}

TEST_CASE("a source is shown without credentials") {
  flagd::SourceConfig http;
  http.kind = flagd::SourceKind::Http;
  http.uri = "https://cdn.example.com/flags.json?token=s3cret";
  CHECK(flagd::display_uri(http).find("s3cret") == std::string::npos);
  CHECK(flagd::display_uri(http).rfind("https://cdn.example.com/flags.json", 0) == 0);
  flagd::SourceConfig etcd;
  etcd.kind = flagd::SourceKind::Etcd;
  etcd.uri = "etcd://127.0.0.1:2379/flags";
  CHECK(flagd::display_uri(etcd) == "etcd://127.0.0.1:2379/flags");
}
