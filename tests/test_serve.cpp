// Serving the flags to other languages (flagd-serve, started by the daemon): the document sync
// clients are sent and its selectors; a second daemon following the first one's sync port; OFREP
// answers against the in-process reader's for the same context, its errors, and the bulk ETag;
// and publication going on while flagd-serve is flooded, and after it is killed.
#include <catch2/catch.hpp>
#include <simdjson.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "flag_document.hpp"
#include "flag_loader.hpp"
#include "fleet_daemon.hpp"
#include "http_post.hpp"
#include "loopback_port.hpp"
#include "ofrep_service.hpp"
#include "scratch_directory.hpp"
#include "sync_document.hpp"

using flagd::test::eventually;
using flagd::test::FleetDaemon;
using flagd::test::FleetPaths;
using flagd::test::http_request;
using flagd::test::ScratchDirectory;
using flagd::test::SegmentFiles;

namespace {

constexpr const char* kFlags = R"({
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "metadata": {"flagSetId": "team-a", "version": "7"},
  "$evaluators": {"is_staff": {"ends_with": [{"var": "email"}, "@example.com"]}},
  "flags": {
    "kill-switch": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},
    "greeting": {"state": "ENABLED", "variants": {"hi": "hello", "yo": "hey you"}, "defaultVariant": "hi",
                 "targeting": {"if": [{"$ref": "is_staff"}, "yo", null]}},
    "max-qty": {"state": "ENABLED", "variants": {"low": 10, "high": 1000}, "defaultVariant": "low",
                "targeting": {"if": [{"in": [{"var": "tier"}, ["gold", "platinum"]]}, "high"]}},
    "ratio": {"state": "ENABLED", "variants": {"a": 0.25, "b": 0.75}, "defaultVariant": "a"},
    "theme": {"state": "ENABLED", "variants": {"dark": {"bg": "#000", "fg": [1, 2]}}, "defaultVariant": "dark",
              "metadata": {"owner": "ui"}},
    "rollout": {"state": "ENABLED", "variants": {"new": true, "old": false}, "defaultVariant": "old",
                "targeting": {"fractional": [["new", 30], ["old", 70]]}},
    "retired": {"state": "DISABLED", "variants": {"x": true}, "defaultVariant": "x"}
  }
})";

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// A daemon serving the test's flags, with its sync and OFREP ports.
struct ServingDaemon {
  SegmentFiles segment;
  ScratchDirectory directory;
  std::uint16_t sync_port = flagd::test::free_loopback_port();
  std::uint16_t ofrep_port = flagd::test::free_loopback_port();
  std::string flags_path = directory.path() + "/flags.json";
  std::optional<FleetDaemon> daemon;

  explicit ServingDaemon(const char* name, const std::vector<std::string>& extra = {})
      : segment(name), directory(std::string("flagd-") + name) {
    write(flags_path, kFlags);
    std::vector<std::string> options = {"--sync-port", std::to_string(sync_port), "--ofrep-port",
                                        std::to_string(ofrep_port), "--sync-document",
                                        directory.path() + "/sync.json"};
    options.insert(options.end(), extra.begin(), extra.end());
    daemon.emplace(segment.name, FleetPaths{directory.path()}, std::vector<std::string>{"--flags", flags_path}, options);
    REQUIRE(eventually([&] { return daemon->published(); }));
    REQUIRE(eventually([&] { return ofrep("kill-switch", "{}").status == 200; }));
  }
  ~ServingDaemon() {
    if (daemon) daemon->stop();
  }

  flagd::test::HttpAnswer ofrep(const std::string& key, const std::string& body, const char* method = "POST") const {
    return http_request("http://127.0.0.1:" + std::to_string(ofrep_port) + "/ofrep/v1/evaluate/flags/" + key, body, "",
                        method);
  }
  flagd::test::HttpAnswer bulk(const std::string& body, const std::string& etag = "") const {
    return http_request("http://127.0.0.1:" + std::to_string(ofrep_port) + "/ofrep/v1/evaluate/flags", body, etag);
  }
  // Rewrites the flag file and reloads; waits for the new generation.
  void change(const std::string& text) {
    const std::uint64_t before = daemon->generation();
    write(flags_path, text);
    ::kill(daemon->pid(), SIGHUP);
    REQUIRE(eventually([&] { return daemon->generation() > before; }));
  }
  std::string sync_uri() const { return "grpc://127.0.0.1:" + std::to_string(sync_port); }
};

// The pid of the flagd-serve the daemon `parent` started, 0 if none runs.
pid_t serve_child(pid_t parent) {
  const std::string children = flagd::test::read_file("/proc/" + std::to_string(parent) + "/task/" +
                                                      std::to_string(parent) + "/children");
  return static_cast<pid_t>(std::strtol(children.c_str(), nullptr, 10));
}

}  // namespace

TEST_CASE("sync document: what a flagd sync client is sent, and what a selector picks") {
  flagd::LoadResult loaded = flagd::load_flag_text(kFlags, "flags.json");
  REQUIRE(loaded.ok());
  const std::string text = flagd::sync_document(loaded.flags);
  simdjson::dom::parser parser;
  const simdjson::dom::element root = parser.parse(text);
  const simdjson::dom::object flags = root["flags"];
  CHECK(flags.size() == 7);
  CHECK(root["metadata"].error() == simdjson::NO_SUCH_FIELD);  // merged into each flag instead
  const simdjson::dom::element greeting = flags["greeting"];
  CHECK(std::string_view(greeting["state"]) == "ENABLED");
  CHECK(std::string_view(greeting["defaultVariant"]) == "hi");
  CHECK(std::string_view(greeting["source"]) == "flags.json");
  CHECK(std::string_view(greeting["metadata"]["flagSetId"]) == "team-a");
  CHECK(std::string_view(greeting["metadata"]["version"]) == "7");
  // The $ref is replaced by its evaluator, as flagd sends it.
  CHECK(simdjson::minify(greeting["targeting"]) ==
        R"({"if":[{"ends_with":[{"var":"email"},"@example.com"]},"yo",null]})");
  CHECK(std::string_view(flags["retired"]["state"]) == "DISABLED");
  CHECK(simdjson::minify(flags["theme"]["variants"]) == R"({"dark":{"bg":"#000","fg":[1,2]}})");
  CHECK(std::string_view(flags["theme"]["metadata"]["owner"]) == "ui");
  CHECK(double(flags["ratio"]["variants"]["b"]) == 0.75);
  CHECK(flags["kill-switch"]["targeting"].error() == simdjson::NO_SUCH_FIELD);

  std::string error;
  const auto document = flagd::serve::FlagDocument::parse(text, error);
  REQUIRE(document);
  const auto picked = [&](std::string_view selector) {
    std::string problem;
    const auto s = flagd::serve::parse_selector(selector, problem);
    REQUIRE(s);
    const std::string payload = document->payload(*s);
    simdjson::dom::parser p;
    return simdjson::dom::object(p.parse(payload)["flags"]).size();
  };
  CHECK(document->payload(flagd::serve::Selector{}) == text);
  CHECK(picked("") == 7);
  CHECK(picked("flagSetId=team-a") == 7);
  CHECK(picked("flagSetId=team-b") == 0);
  CHECK(picked("flagSetId=") == 0);
  CHECK(picked("flags.json") == 7);
  CHECK(picked("source=flags.json") == 7);
  CHECK(picked("source=other.json") == 0);
  CHECK_FALSE(flagd::serve::parse_selector("team=a", error));
  CHECK(error.find("unknown selector key \"team\"") != std::string::npos);
}

TEST_CASE("serving: a daemon following another's sync port has its flags, its changes and its selection") {
  ServingDaemon served("serve-sync");
  SegmentFiles follower_segment("serve-follower"), selected_segment("serve-selected");
  ScratchDirectory follower_dir("flagd-serve-follower"), selected_dir("flagd-serve-selected");
  FleetDaemon follower(follower_segment.name, FleetPaths{follower_dir.path()}, {"--uri", served.sync_uri()});
  FleetDaemon selected(selected_segment.name, FleetPaths{selected_dir.path()},
                       {"--sources", R"([{"uri":"127.0.0.1:)" + std::to_string(served.sync_port) +
                                         R"(","provider":"grpc","selector":"flagSetId=team-b"}])"});
  REQUIRE(eventually([&] { return follower.published(); }));
  flagd::Reader& reader = follower.reader();
  flagd::Context staff;
  staff.set("email", "ann@example.com");
  std::string greeting;
  reader.get_string(reader.resolve("greeting"), staff, "", greeting);
  CHECK(greeting == "hey you");
  CHECK(reader.get_int(reader.resolve("max-qty"), 0) == 10);
  CHECK(follower.reader().list().size() == 7);

  // team-b has no flags: the selected daemon publishes an empty set.
  REQUIRE(eventually([&] { return selected.published(); }));
  CHECK(selected.reader().list().empty());

  served.change(replace(kFlags, R"("defaultVariant": "low")", R"("defaultVariant": "high")"));
  CHECK(eventually([&] { return reader.get_int(reader.resolve("max-qty"), 0) == 1000; }));
  served.change(replace(kFlags, R"("flagSetId": "team-a")", R"("flagSetId": "team-b")"));
  CHECK(eventually([&] { return selected.reader().list().size() == 7; }));
}

TEST_CASE("OFREP: each answer is the in-process reader's for the same context") {
  ServingDaemon served("serve-ofrep");
  flagd::Reader& reader = served.daemon->reader();
  simdjson::dom::parser parser;
  struct Case {
    std::string flag, user, email;  // no user: the empty context
    std::string context_json() const {
      return user.empty() ? "{}"
                          : R"({"targetingKey":")" + user + R"(","email":")" + email + R"(","tier":"gold"})";
    }
  };
  std::vector<Case> cases;
  for (const char* flag : {"kill-switch", "greeting", "max-qty", "ratio", "theme", "rollout"}) {
    cases.push_back({flag, "", ""});
    for (const std::string user : {"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"})
      cases.push_back({flag, user, user + (user == "u2" ? "@elsewhere.org" : "@example.com")});
  }
  int rollout_new = 0;
  for (const Case& c : cases) {
    INFO(c.flag << " in " << c.context_json());
    flagd::Context context;  // views of the case's strings
    if (!c.user.empty()) context.set_targeting_key(c.user).set("email", c.email).set("tier", "gold");
    const flagd::test::HttpAnswer answer = served.ofrep(c.flag, R"({"context":)" + c.context_json() + "}");
    REQUIRE(answer.status == 200);
    const simdjson::dom::element body = parser.parse(answer.body);
    const flagd::Handle h = reader.resolve(c.flag);
    std::string variant, reason;
    std::string in_process_value;
    const auto take = [&](const auto& e) {
      variant = e.variant;
      reason = std::string(flagd::to_string(e.reason));
    };
    switch (*reader.kind(h)) {
      case flagd::layout::ValueKind::Boolean: {
        flagd::Evaluation<bool> e;
        reader.evaluate(h, context, false, e);
        take(e);
        CHECK(bool(body["value"]) == e.value);
        if (c.flag == "rollout" && e.value) ++rollout_new;
        break;
      }
      case flagd::layout::ValueKind::String: {
        flagd::Evaluation<std::string> e;
        reader.evaluate(h, context, std::string_view(""), e);
        take(e);
        CHECK(std::string_view(body["value"]) == e.value);
        break;
      }
      case flagd::layout::ValueKind::Number: {
        flagd::Evaluation<double> e;
        reader.evaluate(h, context, 0.0, e);
        take(e);
        CHECK(double(body["value"]) == e.value);
        break;
      }
      default: {
        flagd::Evaluation<std::string> e;
        reader.evaluate_object(h, context, "{}", e);
        take(e);
        CHECK(simdjson::minify(body["value"]) == e.value);
        break;
      }
    }
    CHECK(std::string_view(body["key"]) == c.flag);
    CHECK(std::string_view(body["variant"]) == variant);
    CHECK(std::string_view(body["reason"]) == reason);
  }
  CHECK(rollout_new > 0);  // the contexts reach both buckets of the rollout
  CHECK(rollout_new < 8);
  const simdjson::dom::element theme = parser.parse(served.ofrep("theme", "{}").body);
  CHECK(std::string_view(theme["metadata"]["owner"]) == "ui");
  CHECK(std::string_view(theme["metadata"]["flagSetId"]) == "team-a");
}

TEST_CASE("OFREP: errors, a disabled flag, and the bulk endpoint's ETag") {
  ServingDaemon served("serve-ofrep-errors");
  simdjson::dom::parser parser;

  flagd::test::HttpAnswer missing = served.ofrep("max-qtty", "{}");
  CHECK(missing.status == 404);
  simdjson::dom::element body = parser.parse(missing.body);
  CHECK(std::string_view(body["key"]) == "max-qtty");
  CHECK(std::string_view(body["errorCode"]) == "FLAG_NOT_FOUND");
  CHECK(std::string_view(body["errorDetails"]) == "flag `max-qtty` does not exist");  // flagd's words

  // A body flagd cannot decode into {"context": ...}: not JSON, or JSON but not an object.
  for (const char* bad : {"{", "[1]", "5", R"("context")"}) {
    INFO(bad);
    flagd::test::HttpAnswer answer = served.ofrep("greeting", bad);
    CHECK(answer.status == 400);
    body = parser.parse(answer.body);
    CHECK(std::string_view(body["key"]) == "greeting");
    CHECK(std::string_view(body["errorCode"]) == "INVALID_CONTEXT");
    answer = served.bulk(bad);
    CHECK(answer.status == 400);
    body = parser.parse(answer.body);
    CHECK(body["key"].error() == simdjson::NO_SUCH_FIELD);  // the bulk's own error names no flag
    CHECK(std::string_view(body["errorCode"]) == "INVALID_CONTEXT");
  }
  CHECK(served.ofrep("greeting", "{}", "GET").status == 405);
  CHECK(http_request("http://127.0.0.1:" + std::to_string(served.ofrep_port) + "/nowhere", "{}").status == 404);

  // A disabled flag is not found, as flagd's OFREP answered it up to v0.15.7.
  flagd::test::HttpAnswer disabled = served.ofrep("retired", "{}");
  CHECK(disabled.status == 404);
  body = parser.parse(disabled.body);
  CHECK(std::string_view(body["errorCode"]) == "FLAG_NOT_FOUND");
  CHECK(std::string_view(body["metadata"]["flagSetId"]) == "team-a");

  // Percent-encoded keys are decoded.
  CHECK(served.ofrep("kill%2Dswitch", "{}").status == 200);

  const flagd::test::HttpAnswer first = served.bulk(R"({"context":{"targetingKey":"u1"}})");
  REQUIRE(first.status == 200);
  REQUIRE(!first.etag.empty());
  body = parser.parse(first.body);
  // Every flag but the disabled one, as flagd up to v0.15.7 lists them.
  std::vector<std::string_view> keys;
  for (const simdjson::dom::element item : simdjson::dom::array(body["flags"])) keys.push_back(item["key"]);
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string_view>{"greeting", "kill-switch", "max-qty", "ratio", "rollout", "theme"});
  CHECK(simdjson::minify(body["metadata"]) == "{}");
  CHECK(served.bulk(R"({"context":{"targetingKey":"u1"}})", first.etag).status == 304);
  // Another context, another answer: the ETag is the answer's.
  CHECK(served.bulk(R"({"context":{"email":"a@example.com"}})", first.etag).status == 200);

  served.change(replace(kFlags, R"("defaultVariant": "off")", R"("defaultVariant": "on")"));
  const flagd::test::HttpAnswer after = served.bulk(R"({"context":{"targetingKey":"u1"}})", first.etag);
  CHECK(after.status == 200);
  CHECK(after.etag != first.etag);
}

TEST_CASE("OFREP: a context that is missing or not an object is the empty context, as flagd reads it") {
  ServingDaemon served("serve-ofrep-lenient");
  simdjson::dom::parser parser;
  // The control: a context that reaches the rule.
  simdjson::dom::element body = parser.parse(served.ofrep("greeting", R"({"context":{"email":"a@example.com"}})").body);
  CHECK(std::string_view(body["variant"]) == "yo");
  for (const char* lenient : {"", " \n", "null", "{}", R"({"context":5})", R"({"context":null})", R"({"context":"x"})",
                              R"({"context":["email"]})", R"({"email":"a@example.com"})"}) {
    INFO("body: " << lenient);
    const flagd::test::HttpAnswer answer = served.ofrep("greeting", lenient);
    REQUIRE(answer.status == 200);
    body = parser.parse(answer.body);
    CHECK(std::string_view(body["variant"]) == "hi");
    CHECK(std::string_view(body["reason"]) == "DEFAULT");
    const flagd::test::HttpAnswer bulk = served.bulk(lenient);
    CHECK(bulk.status == 200);
  }
}

TEST_CASE("OFREP: the bulk endpoint with a trailing slash, and If-None-Match with lists and weak tags") {
  using flagd::serve::if_none_match_names;
  const std::string tag = "\"abc\"";
  CHECK(if_none_match_names(tag, tag));
  CHECK(if_none_match_names("W/\"abc\"", tag));
  CHECK(if_none_match_names("\"x\", \"abc\"", tag));
  CHECK(if_none_match_names("\"x\",W/\"abc\" ,\"y\"", tag));
  CHECK(if_none_match_names(" \t\"abc\"", tag));
  CHECK_FALSE(if_none_match_names("*", tag));  // a POST's 304 says "this answer": * names none
  CHECK(if_none_match_names("\"x\", \"a,b\"", "\"a,b\""));  // a comma inside a tag is part of it
  CHECK_FALSE(if_none_match_names("", tag));
  CHECK_FALSE(if_none_match_names("\"abcd\"", tag));
  CHECK_FALSE(if_none_match_names("\"ab\"", tag));
  CHECK_FALSE(if_none_match_names("W/\"x\", \"y\"", tag));
  CHECK_FALSE(if_none_match_names("abc", tag));        // not quoted: malformed
  CHECK_FALSE(if_none_match_names("\"x\", abc", tag));
  CHECK_FALSE(if_none_match_names("\"x\", \"abc", tag));  // unterminated
  CHECK_FALSE(if_none_match_names("\"a\", \"b\"", "\"a,b\""));

  ServingDaemon served("serve-ofrep-bulk");
  const std::string context = R"({"context":{"targetingKey":"u1"}})";
  const flagd::test::HttpAnswer first = served.bulk(context);
  REQUIRE(first.status == 200);
  REQUIRE(!first.etag.empty());
  // flagd routes /ofrep/v1/evaluate/flags/ to the bulk endpoint too.
  const flagd::test::HttpAnswer slash =
      http_request("http://127.0.0.1:" + std::to_string(served.ofrep_port) + "/ofrep/v1/evaluate/flags/", context);
  CHECK(slash.status == 200);
  CHECK(slash.body == first.body);
  CHECK(slash.etag == first.etag);

  CHECK(served.bulk(context, "\"elsewhere\", " + first.etag).status == 304);
  CHECK(served.bulk(context, "W/" + first.etag).status == 304);
  CHECK(served.bulk(context, "*").status == 200);
  const flagd::test::HttpAnswer other = served.bulk(context, "\"elsewhere\", W/\"more\"");
  CHECK(other.status == 200);
  CHECK(other.body == first.body);
}

TEST_CASE("OFREP: --context-value is merged into every context, over the request's own values") {
  ServingDaemon served("serve-ofrep-static", {"--context-value", "email=nobody@elsewhere.org", "--context-value",
                                              "email=ops@example.com", "--context-value", "tier=gold"});
  simdjson::dom::parser parser;
  // The later --context-value for a key replaces the earlier (flagd reads them into a map).
  simdjson::dom::element body = parser.parse(served.ofrep("greeting", "{}").body);
  CHECK(std::string_view(body["value"]) == "hey you");
  CHECK(std::string_view(body["reason"]) == "TARGETING_MATCH");
  // The static value wins over the request's for the same key.
  body = parser.parse(served.ofrep("greeting", R"({"context":{"email":"ann@elsewhere.org"}})").body);
  CHECK(std::string_view(body["value"]) == "hey you");
  body = parser.parse(served.ofrep("max-qty", R"({"context":{"tier":"bronze"}})").body);
  CHECK(std::int64_t(body["value"]) == 1000);
  // A context that is not an object still gets the static values.
  body = parser.parse(served.ofrep("max-qty", R"({"context":null})").body);
  CHECK(std::int64_t(body["value"]) == 1000);
  // The bulk endpoint evaluates against the same merged context.
  body = parser.parse(served.bulk(R"({"context":{"email":"ann@elsewhere.org","tier":"bronze"}})").body);
  int checked = 0;
  for (const simdjson::dom::element item : simdjson::dom::array(body["flags"])) {
    const std::string_view key = item["key"];
    if (key == "greeting") checked += std::string_view(item["value"]) == "hey you";
    if (key == "max-qty") checked += std::int64_t(item["value"]) == 1000;
  }
  CHECK(checked == 2);

  // The request's other keys are kept: the rollout buckets each user as the in-process reader does.
  flagd::Reader& reader = served.daemon->reader();
  std::set<bool> buckets;
  for (const std::string user : {"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"}) {
    INFO(user);
    body = parser.parse(served.ofrep("rollout", R"({"context":{"targetingKey":")" + user + R"("}})").body);
    flagd::Context context;
    context.set_targeting_key(user).set("email", "ops@example.com").set("tier", "gold");
    flagd::Evaluation<bool> e;
    reader.evaluate(reader.resolve("rollout"), context, false, e);
    CHECK(bool(body["value"]) == e.value);
    buckets.insert(e.value);
  }
  CHECK(buckets.size() == 2);
}

namespace {

flagd::serve::HttpResponse ask(flagd::serve::OfrepService& service, const std::string& target,
                               std::string_view selector, std::string_view body = "{}") {
  const flagd::serve::HttpRequest request{.method = "POST",
                                          .target = target,
                                          .body = body,
                                          .if_none_match = "",
                                          .content_type = "application/json",
                                          .flagd_selector = selector};
  return service.handle(request);
}

// The keys of a bulk answer, sorted.
std::vector<std::string> bulk_keys(simdjson::dom::element body) {
  std::vector<std::string> keys;
  for (const simdjson::dom::element item : simdjson::dom::array(body["flags"])) keys.emplace_back(item["key"]);
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

TEST_CASE("OFREP: the flagd-selector's flag set is the flags a request can see") {
  // A second source with a flag of its own, in no flag set.
  ScratchDirectory second_dir("flagd-serve-ofrep-second");
  const std::string second = second_dir.path() + "/second.json";
  write(second, R"({"flags":{"extra":{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}}})");
  ServingDaemon served("serve-ofrep-selector", {"--flags", second});
  // theme's own flagSetId is another than its file's.
  served.change(
      replace(kFlags, R"("metadata": {"owner": "ui"})", R"("metadata": {"owner": "ui", "flagSetId": "team-b"})"));
  // Sources are judged by the sync document, as flagd-serve's service judges them.
  const std::string document_path = served.directory.path() + "/sync.json";
  flagd::serve::OfrepService service(served.segment.name, {}, [&document_path] {
    std::string error;
    return flagd::serve::FlagDocument::parse(flagd::test::read_file(document_path), error);
  });
  simdjson::dom::parser parser;
  const std::string greeting = "/ofrep/v1/evaluate/flags/greeting", theme = "/ofrep/v1/evaluate/flags/theme",
                    bulk = "/ofrep/v1/evaluate/flags";

  // No selector: every flag.
  CHECK(ask(service, greeting, "").status == 200);
  CHECK(ask(service, theme, "").status == 200);
  CHECK(bulk_keys(parser.parse(ask(service, bulk, "").body)).size() == 7);

  flagd::serve::HttpResponse r = ask(service, greeting, "flagSetId=team-a");
  CHECK(r.status == 200);
  r = ask(service, theme, "flagSetId=team-a");
  CHECK(r.status == 404);
  simdjson::dom::element body = parser.parse(r.body);
  CHECK(std::string_view(body["errorCode"]) == "FLAG_NOT_FOUND");
  CHECK(std::string_view(body["metadata"]["flagSetId"]) == "team-a");
  r = ask(service, bulk, "flagSetId=team-a");
  REQUIRE(r.status == 200);
  body = parser.parse(r.body);
  CHECK(bulk_keys(body) == std::vector<std::string>{"greeting", "kill-switch", "max-qty", "ratio", "rollout"});
  CHECK(simdjson::minify(body["metadata"]) == R"({"flagSetId":"team-a"})");

  r = ask(service, theme, "flagSetId=team-b");
  REQUIRE(r.status == 200);
  CHECK(std::string_view(parser.parse(r.body)["metadata"]["flagSetId"]) == "team-b");
  CHECK(ask(service, greeting, "flagSetId=team-b").status == 404);
  body = parser.parse(ask(service, bulk, "flagSetId=team-b").body);
  CHECK(bulk_keys(body) == std::vector<std::string>{"theme"});

  // "flagSetId=": the flags with none, here the second source's.
  body = parser.parse(ask(service, bulk, "flagSetId=").body);
  CHECK(bulk_keys(body) == std::vector<std::string>{"extra"});
  CHECK(simdjson::minify(body["metadata"]) == "{}");

  // By source (the path the daemon was given), named or bare: the flags of that file only, and
  // the source selected in the metadata, under the flag's own.
  for (const std::string& source : {"source=" + served.flags_path, served.flags_path}) {
    INFO(source);
    r = ask(service, greeting, source);
    CHECK(r.status == 200);
    CHECK(std::string_view(parser.parse(r.body)["metadata"]["source"]) == served.flags_path);
    CHECK(ask(service, "/ofrep/v1/evaluate/flags/extra", source).status == 404);
    body = parser.parse(ask(service, bulk, source).body);
    CHECK(bulk_keys(body) ==
          std::vector<std::string>{"greeting", "kill-switch", "max-qty", "ratio", "rollout", "theme"});
    CHECK(simdjson::minify(body["metadata"]) == R"({"source":")" + served.flags_path + R"("})");
  }
  r = ask(service, "/ofrep/v1/evaluate/flags/extra", "source=" + second);
  CHECK(r.status == 200);
  CHECK(std::string_view(parser.parse(r.body)["metadata"]["source"]) == second);
  CHECK(bulk_keys(parser.parse(ask(service, bulk, second).body)) == std::vector<std::string>{"extra"});
  r = ask(service, greeting, "source=other.json");
  CHECK(r.status == 404);
  CHECK(simdjson::minify(parser.parse(r.body)["metadata"]) == R"({"source":"other.json"})");
  CHECK(bulk_keys(parser.parse(ask(service, bulk, "other.json").body)).empty());

  // An unknown key is refused as flagd refuses it.
  r = ask(service, greeting, "team=a");
  CHECK(r.status == 400);
  body = parser.parse(r.body);
  CHECK(std::string_view(body["key"]) == "greeting");
  CHECK(std::string_view(body["errorCode"]) == "GENERAL");
  CHECK(std::string_view(body["errorDetails"]).starts_with("invalid selector"));
  r = ask(service, bulk, "team=a");
  CHECK(r.status == 400);
  CHECK(std::string_view(parser.parse(r.body)["errorCode"]) == "GENERAL");

  // Over HTTP, the selector is the flagd-selector header.
  const std::string url = "http://127.0.0.1:" + std::to_string(served.ofrep_port) + "/ofrep/v1/evaluate/flags";
  CHECK(http_request(url + "/theme", "{}", "", "POST", {"flagd-selector: flagSetId=team-a"}).status == 404);
  CHECK(http_request(url + "/theme", "{}", "", "POST", {"Flagd-Selector: flagSetId=team-b"}).status == 200);
  body = parser.parse(http_request(url, "{}", "", "POST", {"flagd-selector: source=other.json"}).body);
  CHECK(bulk_keys(body).empty());
  CHECK(http_request(url, "{}", "", "POST", {"flagd-selector: team=a"}).status == 400);
}

TEST_CASE("serving: publication goes on through a flood of clients and after flagd-serve is killed") {
  ServingDaemon served("serve-flood", {"--serve-max-connections", "64"});
  SegmentFiles follower_segment("serve-flood-follower");
  ScratchDirectory follower_dir("flagd-serve-flood-follower");
  FleetDaemon follower(follower_segment.name, FleetPaths{follower_dir.path()}, {"--uri", served.sync_uri()});
  REQUIRE(eventually([&] { return follower.published(); }));

  // Clients that open connections and never finish a request, and clients that ask without pause.
  std::atomic<bool> flooding{true};
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(served.ofrep_port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      [[maybe_unused]] const ssize_t n = ::write(fd, "POST /ofrep/v1/evaluate/flags HTTP/1.1\r\n", 40);
    }
    idle.push_back(fd);
  }
  std::vector<std::thread> askers;
  for (int t = 0; t < 4; ++t)
    askers.emplace_back([&] {
      while (flooding) served.bulk(R"({"context":{"targetingKey":"u1"}})");
    });

  flagd::Reader& reader = served.daemon->reader();
  for (int round = 1; round <= 5; ++round) {
    const std::string qty = std::to_string(100 + round);
    served.change(replace(kFlags, R"("low": 10)", R"("low": )" + qty));
    CHECK(reader.get_int(reader.resolve("max-qty"), 0) == 100 + round);
  }
  flooding = false;
  for (std::thread& t : askers) t.join();
  for (const int fd : idle) ::close(fd);
  // The follower, a sync client through all of it, has the last change too.
  CHECK(eventually([&] { return follower.reader().get_int(follower.reader().resolve("max-qty"), 0) == 105; }));

  // flagd-serve killed: the daemon publishes on, and starts it again.
  const pid_t child = serve_child(served.daemon->pid());
  REQUIRE(child > 0);
  ::kill(child, SIGKILL);
  served.change(replace(kFlags, R"("low": 10)", R"("low": 77)"));
  CHECK(reader.get_int(reader.resolve("max-qty"), 0) == 77);
  CHECK(eventually([&] {
    const pid_t again = serve_child(served.daemon->pid());
    return again > 0 && again != child;
  }));
  CHECK(eventually([&] { return served.ofrep("max-qty", "{}").body.find("\"value\":77") != std::string::npos; }));
  CHECK(eventually([&] { return follower.reader().get_int(follower.reader().resolve("max-qty"), 0) == 77; }));
  CHECK(served.daemon->log().find("flagd-serve (serving sync and OFREP clients) was killed by signal") !=
        std::string::npos);
}

TEST_CASE("serving: a sync document that could not be written is written at a later reload") {
  SegmentFiles segment("serve-rewrite"), follower_segment("serve-rewrite-follower");
  ScratchDirectory directory("flagd-serve-rewrite"), follower_dir("flagd-serve-rewrite-follower");
  const std::string flags_path = directory.path() + "/flags.json";
  write(flags_path, kFlags);
  // The document's directory does not exist yet: the first write fails, the publication stands.
  const std::string run_dir = directory.path() + "/run";
  const std::string document = run_dir + "/sync.json";
  const std::uint16_t sync_port = flagd::test::free_loopback_port();
  FleetDaemon daemon(segment.name, FleetPaths{directory.path()}, {"--flags", flags_path},
                     {"--sync-port", std::to_string(sync_port), "--sync-document", document});
  REQUIRE(eventually([&] { return daemon.published(); }));
  CHECK(::access(document.c_str(), F_OK) != 0);

  REQUIRE(::mkdir(run_dir.c_str(), 0755) == 0);
  const std::uint64_t generation = daemon.generation();
  ::kill(daemon.pid(), SIGHUP);  // the flags are unchanged: only the document is written
  REQUIRE(eventually([&] { return ::access(document.c_str(), F_OK) == 0; }));
  CHECK(daemon.generation() == generation);
  CHECK(eventually([&] { return daemon.log().find("the sync document is written again") != std::string::npos; }));
  std::string error;
  const auto written = flagd::serve::FlagDocument::parse(flagd::test::read_file(document), error);
  REQUIRE(written);
  CHECK(written->payload(flagd::serve::Selector{}).find("\"kill-switch\"") != std::string::npos);

  // flagd-serve picked it up: a daemon following its sync port has the flags.
  FleetDaemon follower(follower_segment.name, FleetPaths{follower_dir.path()},
                       {"--uri", "grpc://127.0.0.1:" + std::to_string(sync_port)});
  REQUIRE(eventually([&] { return follower.published(); }));
  CHECK(follower.reader().list().size() == 7);
  daemon.stop();
}
