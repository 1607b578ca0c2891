// flagd::LocalFlags: flags compiled in-process from files or JSON, read through a real Reader.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "flagd/local_flags.hpp"

namespace {

constexpr std::string_view kFlags = R"({"flags": {
  "new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                   "targeting": {"if": [{"in": [{"var": "plan"}, ["pro"]]}, "on", "off"]}},
  "limit": {"state": "ENABLED", "variants": {"low": 10, "high": 500}, "defaultVariant": "low"}
}})";

std::string temp_file(const std::string& name, std::string_view text) {
  const std::string path = "/tmp/flagd-local-" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("LocalFlags from JSON text evaluates like a daemon's segment, rules included") {
  auto local = flagd::LocalFlags::from_json(kFlags);
  REQUIRE(local);
  flagd::Reader& r = local->reader();
  const flagd::Handle checkout = r.resolve("new-checkout");
  CHECK_FALSE(r.get_bool(checkout, true));
  flagd::Context pro;
  pro.set("plan", "pro");
  CHECK(r.get_bool(checkout, pro, false));
  CHECK(r.get_int("limit", 0) == 10);
  CHECK(r.generation() == 1);
  CHECK(local->warnings().empty());
}

TEST_CASE("LocalFlags reports every error of bad input, with where and why") {
  auto broken = flagd::LocalFlags::from_json(R"({"flags": {"f": {"state": 1, "variants": []}}})", "mine.json");
  REQUIRE_FALSE(broken);
  const std::string& message = broken.error().message;
  CHECK(message.find("mine.json:1:") != std::string::npos);
  CHECK(message.find("state: must be the string") != std::string::npos);
  CHECK(message.find("variants: must be an object of variant values") != std::string::npos);

  // What flagd loads, loads, with the flag that breaks its schema named among the warnings.
  auto lenient = flagd::LocalFlags::from_json(R"({"flags": {"f": {"state": "ON", "variants": {"a": true}, "defaultVariant": "a"}}})", "mine.json");
  REQUIRE(lenient);
  CHECK(lenient->warnings().find("mine.json:1:27: warning: flags.f.state: unknown state \"ON\"") != std::string::npos);
  CHECK(lenient->reader().get_bool("f", false));

  auto missing = flagd::LocalFlags::from_files({"/nonexistent/flags.json"});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("/nonexistent/flags.json") != std::string::npos);
}

TEST_CASE("LocalFlags from files: a later file's flag replaces an earlier one's") {
  const std::string base = temp_file("base.json", kFlags);
  const std::string local_override = temp_file(
      "over.json", R"({"flags": {"limit": {"state": "ENABLED", "variants": {"x": 77}, "defaultVariant": "x"}}})");
  auto local = flagd::LocalFlags::from_files({base, local_override});
  std::remove(base.c_str());
  std::remove(local_override.c_str());
  REQUIRE(local);
  CHECK(local->reader().get_int("limit", 0) == 77);
  CHECK_FALSE(local->reader().get_bool("new-checkout", true));
}

TEST_CASE("LocalFlags reloads: handles keep their flags, and a bad reload changes nothing") {
  auto local = flagd::LocalFlags::from_json(kFlags);
  REQUIRE(local);
  flagd::Reader& r = local->reader();
  const flagd::Handle limit = r.resolve("limit");
  const flagd::Handle later = r.resolve("added-later");
  CHECK(r.get_int(later, -1) == -1);

  REQUIRE_FALSE(local->reload_json(R"({"flags": {
      "added-later": {"state": "ENABLED", "variants": {"v": 3}, "defaultVariant": "v"},
      "limit": {"state": "ENABLED", "variants": {"low": 10, "high": 500}, "defaultVariant": "high"}}})"));
  CHECK(r.generation() == 2);
  CHECK(r.get_int(limit, 0) == 500);
  CHECK(r.get_int(later, -1) == 3);
  CHECK(r.get_bool("new-checkout", true) == true);  // removed: the caller's default

  const auto problem = local->reload_json(R"({"flags": {"limit": 5}})");
  REQUIRE(problem);
  CHECK(problem->message.find("a flag must be an object") != std::string::npos);
  CHECK(r.generation() == 2);
  CHECK(r.get_int(limit, 0) == 500);
}

TEST_CASE("LocalFlags keeps a load's warnings, and its reader's overrides work") {
  auto local = flagd::LocalFlags::from_json(R"({"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false},
      "defaultVariant": "off", "targeting": {"$ref": "nowhere"}}}})");
  REQUIRE(local);
  CHECK(local->warnings().find("not in $evaluators") != std::string::npos);
  local->reader().set_override("f", "on");
  CHECK(local->reader().get_bool("f", false));
  flagd::LocalFlags moved = std::move(*local);
  CHECK(moved.reader().get_bool("f", false));
}
