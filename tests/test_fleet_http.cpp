// The daemon binary with http(s):// sources, against a real nginx on 127.0.0.1: conditional polls,
// changes, identical and invalid documents, outages, the cache, TLS, the Authorization header, and
// the merge with a local file. Every check of the flags goes through flagd::Reader in this
// process, as an application's would.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fleet_daemon.hpp"
#include "nginx_server.hpp"
#include "scratch_directory.hpp"
#include "tls_files.hpp"

using flagd::SourceState;
using flagd::test::eventually;
using flagd::test::FleetDaemon;
using flagd::test::FleetPaths;
using flagd::test::metric_value;
using flagd::test::NginxServer;
using flagd::test::ScratchDirectory;
using flagd::test::SegmentFiles;
using flagd::test::string_flags;

namespace {

// A metric of the source `url` (flagd_source_*), -1 if the metrics file has none yet.
double source_metric(FleetDaemon& daemon, const std::string& name, const std::string& url) {
  return metric_value(daemon.metrics(), name, "uri=\"" + url + "\"").value_or(-1);
}
double reloads(FleetDaemon& daemon, const std::string& result) {
  return metric_value(daemon.metrics(), "flagd_reloads_total", "result=\"" + result + "\"").value_or(-1);
}

std::size_t count_status(const std::vector<flagd::test::LoggedRequest>& requests, int status) {
  std::size_t n = 0;
  for (const auto& r : requests) n += r.status == status ? 1 : 0;
  return n;
}

// Gives a document of nginx's root another modification time, so that nginx sends it with
// another ETag (its ETag is the time and the size) even when the bytes are the same.
// Replaces `path` at once, so the daemon reading it at each request never sees it half written.
void replace_file(const std::string& path, const std::string& content) {
  std::ofstream(path + ".new", std::ios::trunc) << content;
  std::filesystem::rename(path + ".new", path);
}

void touch_later(const NginxServer& nginx, const std::string& name, int seconds) {
  const std::string path = nginx.root() + "/" + name;
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(seconds));
}

// The cache directory's files after a daemon published `url` (a document of color "red") and
// stopped.
std::vector<std::filesystem::path> cache_after_serving(const SegmentFiles& segment, const FleetPaths& paths,
                                                       const std::string& url) {
  {
    FleetDaemon first(segment.name, paths, {"--uri", url}, {}, "daemon1.log");
    REQUIRE(eventually([&] { return first.published(); }));
    CHECK(first.value("color") == "red");
    CHECK(first.stop() == 0);
  }
  std::vector<std::filesystem::path> cached;
  for (const auto& entry : std::filesystem::directory_iterator(paths.cache())) cached.push_back(entry.path());
  return cached;
}

}  // namespace

TEST_CASE("fleet http: a change is published; between, conditional polls get 304s that publish nothing") {
  SegmentFiles segment("fleet-http-poll");
  ScratchDirectory dir("flagd-fleet-http-poll");
  NginxServer nginx({});
  nginx.write_file("flags.json", string_flags({{"color", "red"}}));
  const std::string url = nginx.url("/flags.json");

  FleetDaemon daemon(segment.name, FleetPaths{dir.path()}, {"--uri", url});
  REQUIRE(eventually([&] { return daemon.published(); }));
  CHECK(daemon.value("color") == "red");
  const std::uint64_t first = daemon.generation();

  // Polls go on with the ETag nginx gave; each answer is a 304 and publishes nothing.
  const auto polled = nginx.requests_for("/flags.json", 3);
  REQUIRE(polled.size() >= 3);
  CHECK(polled.front().status == 200);
  CHECK(count_status(polled, 304) >= 2);
  const std::optional<flagd::SourceStatus> status = daemon.source(0);
  REQUIRE(status);
  CHECK(status->state == SourceState::Current);
  CHECK(status->uri == url);
  for (std::size_t i = 1; i < polled.size(); ++i) {
    CHECK(polled[i].status == 304);
    CHECK(polled[i].if_none_match == status->version);
  }
  CHECK(daemon.generation() == first);
  REQUIRE(eventually([&] { return source_metric(daemon, "flagd_source_unchanged_total", url) >= 2; }));
  CHECK(reloads(daemon, "published") == 1);

  // Renamed over, with another size (so another ETag): the next poll's 200 is published.
  nginx.write_file("flags.json", string_flags({{"color", "blue"}}));
  REQUIRE(eventually([&] { return daemon.value("color") == "blue"; }));
  CHECK(daemon.generation() == first + 1);
  CHECK(eventually([&] { return count_status(nginx.requests_for("/flags.json"), 200) == 2; }));
  REQUIRE(eventually([&] { return reloads(daemon, "published") == 2; }));
  CHECK(daemon.stop() == 0);
}

TEST_CASE("fleet http: the same bytes under a new ETag publish nothing; neither does a SIGHUP") {
  SegmentFiles segment("fleet-http-same");
  ScratchDirectory dir("flagd-fleet-http-same");
  NginxServer nginx({});
  const std::string document = string_flags({{"color", "red"}});
  nginx.write_file("flags.json", document);
  const std::string url = nginx.url("/flags.json");

  FleetDaemon daemon(segment.name, FleetPaths{dir.path()}, {"--uri", url});
  REQUIRE(eventually([&] { return daemon.published(); }));
  const std::uint64_t first = daemon.generation();
  REQUIRE(eventually([&] { return source_metric(daemon, "flagd_source_unchanged_total", url) >= 1; }));
  const double unchanged_before = source_metric(daemon, "flagd_source_unchanged_total", url);
  REQUIRE(unchanged_before >= 1);

  nginx.write_file("flags.json", document);
  touch_later(nginx, "flags.json", 5);
  // A 200 with the same body, then 304s to its new ETag: the source took the answer, counted it
  // as unchanged like each 304, and delivered nothing to load.
  REQUIRE(eventually([&] {
    const auto requests = nginx.requests_for("/flags.json");
    return count_status(requests, 200) == 2 && requests.back().status == 304;
  }));
  REQUIRE(eventually([&] {
    const double counted = source_metric(daemon, "flagd_source_unchanged_total", url);
    return counted > unchanged_before &&
           counted == static_cast<double>(count_status(nginx.requests_for("/flags.json"), 304) + 1);
  }));
  CHECK(daemon.generation() == first);
  CHECK(reloads(daemon, "published") == 1);
  CHECK(source_metric(daemon, "flagd_source_documents_total", url) == 1);

  // A reload asked for by SIGHUP finds the same merge: counted as unchanged, not published.
  REQUIRE(reloads(daemon, "unchanged") == 0);
  ::kill(daemon.pid(), SIGHUP);
  REQUIRE(eventually([&] { return reloads(daemon, "unchanged") == 1; }));
  CHECK(daemon.generation() == first);
  CHECK(daemon.value("color") == "red");
  CHECK(daemon.stop() == 0);
}

TEST_CASE("fleet http: an invalid or truncated document is refused and the last good flags stay") {
  SegmentFiles segment("fleet-http-invalid");
  ScratchDirectory dir("flagd-fleet-http-invalid");
  NginxServer nginx({});
  const std::string good = string_flags({{"color", "red"}});
  nginx.write_file("flags.json", good);
  const std::string url = nginx.url("/flags.json");

  FleetDaemon daemon(segment.name, FleetPaths{dir.path()}, {"--uri", url});
  REQUIRE(eventually([&] { return daemon.published(); }));
  const std::uint64_t first = daemon.generation();

  // Each document below differs in size from the one before, so nginx gives it another ETag.
  nginx.write_file("flags.json", R"({"flags": {"color": {"state": "ENABLED", "variants": []}}})");
  // The load's result is written to the metrics after the source's counters: waited for last.
  REQUIRE(eventually([&] { return reloads(daemon, "rejected") == 1; }));
  CHECK(source_metric(daemon, "flagd_source_refused_total", url) == 1);
  CHECK(daemon.value("color") == "red");
  CHECK(daemon.generation() == first);
  std::optional<flagd::SourceStatus> status = daemon.source(0);
  REQUIRE(status);
  CHECK(status->state == SourceState::Stale);
  CHECK(status->error.find("must be an object of variant values") != std::string::npos);
  CHECK(status->error.find(url) != std::string::npos);
  CHECK(reloads(daemon, "unchanged") == 0);  // a load has one result
  CHECK(source_metric(daemon, "flagd_source_stale", url) == 1);
  CHECK(daemon.log().find("source " + url + " refused; its last good document stays in the merge") != std::string::npos);

  nginx.write_file("flags.json", R"({"flags": {"color": {"state": "ENA)");
  REQUIRE(eventually([&] { return reloads(daemon, "rejected") == 2; }));
  CHECK(source_metric(daemon, "flagd_source_refused_total", url) == 2);
  CHECK(daemon.value("color") == "red");
  status = daemon.source(0);
  REQUIRE(status);
  CHECK(status->state == SourceState::Stale);
  CHECK(status->error.find(url + ":1:") != std::string::npos);
  const std::string shown = flagd::test::flagctl_status(segment.name);
  CHECK(shown.find(url + ": stale") != std::string::npos);

  // The last good document again: the source is current, and the merge it gives is the one
  // published, so nothing is.
  nginx.write_file("flags.json", good);
  REQUIRE(eventually([&] { return reloads(daemon, "unchanged") == 1; }));
  CHECK(daemon.generation() == first);
  CHECK(daemon.source_becomes(0, SourceState::Current));
  CHECK(daemon.source(0)->error.empty());

  nginx.write_file("flags.json", string_flags({{"color", "green"}}));
  REQUIRE(eventually([&] { return daemon.value("color") == "green"; }));
  CHECK(daemon.generation() == first + 1);
  CHECK(daemon.source_becomes(0, SourceState::Current));
  // The metrics are written just after the status.
  CHECK(eventually([&] { return source_metric(daemon, "flagd_source_stale", url) == 0; }));
  CHECK(daemon.stop() == 0);
}

TEST_CASE("fleet http: a server that goes down leaves its flags published, stale, until it is back") {
  SegmentFiles segment("fleet-http-down");
  ScratchDirectory dir("flagd-fleet-http-down");
  NginxServer nginx({});
  nginx.write_file("flags.json", string_flags({{"color", "red"}}));
  const std::string url = nginx.url("/flags.json");

  FleetDaemon daemon(segment.name, FleetPaths{dir.path()}, {"--uri", url});
  REQUIRE(eventually([&] { return daemon.published(); }));
  REQUIRE(eventually([&] { return source_metric(daemon, "flagd_source_up", url) == 1; }));
  const std::uint64_t first = daemon.generation();

  nginx.stop();
  REQUIRE(daemon.source_becomes(0, SourceState::Stale));
  const std::optional<flagd::SourceStatus> status = daemon.source(0);
  REQUIRE(status);
  CHECK(status->error.find("cannot fetch " + url) != std::string::npos);
  CHECK(daemon.value("color") == "red");
  CHECK(daemon.generation() == first);
  REQUIRE(eventually([&] { return source_metric(daemon, "flagd_source_up", url) == 0; }));
  CHECK(source_metric(daemon, "flagd_source_failures_total", url) >= 1);
  CHECK(daemon.log().find("its last good flags stay published") != std::string::npos);

  nginx.start();
  REQUIRE(daemon.source_becomes(0, SourceState::Current));
  CHECK(daemon.source(0)->error.empty());
  REQUIRE(eventually([&] { return source_metric(daemon, "flagd_source_up", url) == 1; }));
  CHECK(daemon.generation() == first);
  CHECK(daemon.log().find("source " + url + ": answering again") != std::string::npos);
  CHECK(daemon.stop() == 0);
}

TEST_CASE("fleet http: a daemon restarted while its server is down publishes the cached copy") {
  SegmentFiles segment("fleet-http-cache");
  ScratchDirectory dir("flagd-fleet-http-cache");
  const FleetPaths paths{dir.path()};
  NginxServer nginx({});
  const std::string document = string_flags({{"color", "red"}});
  nginx.write_file("flags.json", document);
  const std::string url = nginx.url("/flags.json");

  // One cache file, the daemon's alone, holding the document as served.
  const std::vector<std::filesystem::path> cached = cache_after_serving(segment, paths, url);
  REQUIRE(cached.size() == 1);
  CHECK(cached.front().extension() == ".json");
  struct stat info{};
  REQUIRE(::stat(cached.front().c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0600);
  CHECK(flagd::test::read_file(cached.front()) == document);

  // A fresh host as far as the segment goes, and the server unreachable.
  segment.remove();
  nginx.stop();
  nginx.write_file("flags.json", string_flags({{"color", "blue"}}));  // changed meanwhile

  FleetDaemon second(segment.name, paths, {"--uri", url}, {}, "daemon2.log");
  REQUIRE(eventually([&] { return second.published(); }));
  CHECK(second.value("color") == "red");
  REQUIRE(second.source_becomes(0, SourceState::Cached));
  CHECK(second.log().find("source " + url + ": found its cached copy") != std::string::npos);
  CHECK(eventually([&] { return metric_value(second.metrics(), "flagd_source_info", "state=\"cached\"") == 1; }));

  nginx.start();
  REQUIRE(eventually([&] { return second.value("color") == "blue"; }));
  CHECK(second.source_becomes(0, SourceState::Current));
  // The copy is written after the publication, on a thread of its own.
  CHECK(eventually([&] { return flagd::test::read_file(cached.front()) == string_flags({{"color", "blue"}}); }));
  CHECK(second.stop() == 0);
}

TEST_CASE("fleet http: YAML from a URL without an extension is read by its Content-Type, and cached as YAML") {
  SegmentFiles segment("fleet-http-yaml");
  ScratchDirectory dir("flagd-fleet-http-yaml");
  const FleetPaths paths{dir.path()};
  NginxServer nginx(flagd::test::NginxConfig{0, false, "    location = /flags { default_type application/yaml; }\n"});
  const std::string document =
      "flags:\n  color:\n    state: ENABLED\n    variants: {red: red}\n    defaultVariant: red\n";
  nginx.write_file("flags", document);
  const std::string url = nginx.url("/flags");
  const std::vector<std::filesystem::path> cached = cache_after_serving(segment, paths, url);
  REQUIRE(cached.size() == 1);
  CHECK(cached.front().extension() == ".yaml");
  CHECK(flagd::test::read_file(cached.front()) == document);

  // Restarted with the server down: the cached copy is read as the YAML it is.
  segment.remove();
  nginx.stop();
  FleetDaemon second(segment.name, paths, {"--uri", url}, {}, "daemon2.log");
  REQUIRE(eventually([&] { return second.published(); }));
  CHECK(second.value("color") == "red");
  CHECK(second.source_becomes(0, SourceState::Cached));
  CHECK(second.stop() == 0);
}

TEST_CASE("fleet http: with no cache and the server down the daemon waits, then publishes") {
  SegmentFiles segment("fleet-http-wait");
  ScratchDirectory dir("flagd-fleet-http-wait");
  NginxServer nginx({}, NginxServer::Start::Later);
  nginx.write_file("flags.json", string_flags({{"color", "red"}}));
  const std::string url = nginx.url("/flags.json");

  FleetDaemon daemon(segment.name, FleetPaths{dir.path()}, {"--uri", url});
  REQUIRE(eventually([&] { return daemon.log().find("start-up load: waiting for " + url) != std::string::npos; }));
  CHECK(daemon.log().find("no document yet, no cached copy); nothing is published yet") != std::string::npos);
  CHECK(::kill(daemon.pid(), 0) == 0);  // still running
  CHECK(daemon.generation() == 0);
  std::optional<flagd::SourceStatus> status = daemon.source(0);
  REQUIRE(status);
  CHECK(status->state == SourceState::Waiting);
  CHECK(status->error.find("cannot fetch " + url) != std::string::npos);
  CHECK(flagd::test::flagctl_status(segment.name).find(url + ": waiting") != std::string::npos);

  nginx.start();
  REQUIRE(eventually([&] { return daemon.published(); }));
  CHECK(daemon.value("color") == "red");
  CHECK(daemon.source_becomes(0, SourceState::Current));
  CHECK(daemon.stop() == 0);
}

TEST_CASE("fleet http: https is verified; a server signed by another CA is refused") {
  flagd::test::TlsFiles tls;
  NginxServer nginx({.port = 0,
                     .ssl = true,
                     .server_directives = "ssl_certificate " + tls.server_cert() + ";\nssl_certificate_key " +
                                          tls.server_key() + ";"});
  nginx.write_file("flags.json", string_flags({{"color", "red"}}));
  const std::string url = nginx.url("/flags.json");
  REQUIRE(url.rfind("https://", 0) == 0);

  SECTION("a CA that did not sign the server's certificate") {
    SegmentFiles segment("fleet-https-wrong");
    ScratchDirectory dir("flagd-fleet-https-wrong");
    FleetDaemon daemon(segment.name, FleetPaths{dir.path()}, {"--uri", url, "--ca-file", tls.other_ca_cert()});
    REQUIRE(eventually([&] {
      const std::optional<flagd::SourceStatus> s = daemon.source(0);
      return s && !s->error.empty();
    }));
    const flagd::SourceStatus status = *daemon.source(0);
    CHECK(status.state == SourceState::Waiting);
    CHECK(status.error.find("cannot fetch " + url) != std::string::npos);
    CHECK(status.error.find("certificate") != std::string::npos);
    CHECK(daemon.generation() == 0);
    CHECK(nginx.requests_for("/flags.json").empty());  // refused before any request
  }
  SECTION("the CA that signed it") {
    SegmentFiles segment("fleet-https-right");
    ScratchDirectory dir("flagd-fleet-https-right");
    FleetDaemon daemon(segment.name, FleetPaths{dir.path()}, {"--uri", url, "--ca-file", tls.ca_cert()});
    REQUIRE(eventually([&] { return daemon.published(); }));
    CHECK(daemon.value("color") == "red");
    CHECK(daemon.source_becomes(0, SourceState::Current));
  }
}

TEST_CASE("fleet http: the Authorization header from a file is sent and never shown") {
  const std::string token = "Bearer fleet-token-6a1f93c2e7";
  const std::string wrong = "Bearer wrong-token-51bd07e4aa";
  NginxServer nginx({.port = 0,
                     .ssl = false,
                     .server_directives = "location = /flags.json { if ($http_authorization != \"" + token +
                                          "\") { return 401; } }"});
  nginx.write_file("flags.json", string_flags({{"color", "red"}}));
  const std::string url = nginx.url("/flags.json");
  SegmentFiles segment("fleet-http-auth");
  ScratchDirectory dir("flagd-fleet-http-auth");
  const std::string token_file = dir / "token";
  replace_file(token_file, token + "\n");

  FleetDaemon daemon(segment.name, FleetPaths{dir.path()}, {"--uri", url, "--auth-header-file", token_file});
  // Nothing the daemon shows (its log, flagctl status, the metrics) holds either token.
  const auto nothing_shows_a_token = [&] {
    for (const std::string& shown : {daemon.log(), flagd::test::flagctl_status(segment.name), daemon.metrics()}) {
      CHECK(shown.find("fleet-token-6a1f93c2e7") == std::string::npos);
      CHECK(shown.find("wrong-token-51bd07e4aa") == std::string::npos);
    }
  };
  REQUIRE(eventually([&] { return daemon.published(); }));
  CHECK(daemon.value("color") == "red");
  CHECK(count_status(nginx.requests_for("/flags.json"), 401) == 0);
  nothing_shows_a_token();

  // The file is read at each request: a wrong token is answered 401, the flags stay.
  replace_file(token_file, wrong + "\n");
  REQUIRE(eventually([&] { return daemon.source(0)->error == "HTTP 401 from " + url; }));
  CHECK(daemon.source(0)->state == SourceState::Stale);
  CHECK(eventually([&] { return count_status(nginx.requests_for("/flags.json"), 401) >= 1; }));
  CHECK(daemon.value("color") == "red");
  nothing_shows_a_token();

  // No file at all: said as such, still without a token.
  std::filesystem::remove(token_file);
  REQUIRE(eventually([&] { return daemon.source(0)->error.find("no Authorization header: cannot read " + token_file) != std::string::npos; }));
  nothing_shows_a_token();

  replace_file(token_file, token + "\n");
  REQUIRE(daemon.source_becomes(0, SourceState::Current));
  nothing_shows_a_token();
  CHECK(daemon.stop() == 0);
  nothing_shows_a_token();
}

TEST_CASE("fleet http: sources merge in the order given; a later source's flag wins") {
  NginxServer nginx({});
  nginx.write_file("flags.json", string_flags({{"shared", "from-http"}, {"only-http", "yes"}}));
  const std::string url = nginx.url("/flags.json");
  ScratchDirectory dir("flagd-fleet-http-merge");
  const std::string local = dir / "local.json";
  std::ofstream(local) << string_flags({{"shared", "from-file"}, {"only-local", "yes"}});

  SECTION("file, then http") {
    SegmentFiles segment("fleet-merge-file-http");
    FleetDaemon daemon(segment.name, FleetPaths{dir.path()}, {"--flags", local, "--uri", url});
    REQUIRE(eventually([&] { return daemon.published(); }));
    CHECK(daemon.value("shared") == "from-http");
    CHECK(daemon.value("only-local") == "yes");
    CHECK(daemon.value("only-http") == "yes");
    const std::optional<flagd::SourceStatus> file = daemon.source(0), http = daemon.source(1);
    REQUIRE(file);
    REQUIRE(http);
    CHECK(file->uri == local);
    CHECK(file->state == SourceState::Current);
    CHECK(http->uri == url);
    CHECK(daemon.stop() == 0);
  }
  SECTION("http, then file") {
    SegmentFiles segment("fleet-merge-http-file");
    FleetDaemon daemon(segment.name, FleetPaths{dir.path()}, {"--uri", url, "--flags", local});
    REQUIRE(eventually([&] { return daemon.published(); }));
    CHECK(daemon.value("shared") == "from-file");
    CHECK(daemon.value("only-local") == "yes");
    CHECK(daemon.value("only-http") == "yes");
    CHECK(daemon.stop() == 0);
  }
}
