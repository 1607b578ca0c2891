// The catalogue of inputs the loader rejects, each with the message (what, where, why) it gives.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>

#include <fstream>
#include <string>

#include "flag_loader.hpp"
#include "flagd/segment_name.hpp"

using flagd::Diagnostic;
using flagd::load_flag_files;
using flagd::load_flag_text;

namespace {

// The first error the loader reports for `text`, formatted as the daemon and flagctl print it.
std::string first_error(std::string_view text) {
  const auto result = load_flag_text(text, "flags.json");
  for (const auto& d : result.diagnostics)
    if (d.severity == Diagnostic::Severity::Error) return flagd::format(d);
  return "(no error)";
}

std::string flag(std::string_view body) {
  return std::string(R"({"flags": {"f": )") + std::string(body) + "}}";
}

}  // namespace

TEST_CASE("invalid JSON is located and explained") {
  CHECK(first_error(R"({"flags": {"a": }})") ==
        "flags.json:1:17: error: invalid JSON: unexpected character '}'");
  CHECK(first_error("{\"flags\": {\n  \"a\": {\"state\": \"ENABLED\",}\n}}") ==
        "flags.json:2:28: error: invalid JSON: expected a member name in double quotes");
  CHECK(first_error(R"({"flags": {}} x)") ==
        "flags.json:1:15: error: invalid JSON: unexpected text after the end of the JSON document");
  CHECK(first_error(R"({"flags": {"a)") ==
        "flags.json:1:14: error: invalid JSON: a string is not closed before the end of the file");
  CHECK(first_error("{\"flags\": {\"a\tb\": 1}}") ==
        "flags.json:1:14: error: invalid JSON: control character \\x09 in a string");
  CHECK(first_error(R"({"flags": {"a": tru}})") ==
        "flags.json:1:17: error: invalid JSON: unexpected character 't'");
  CHECK(first_error(R"({"flags": [1,]})") ==
        "flags.json:1:14: error: invalid JSON: unexpected character ']'");
}

TEST_CASE("an empty or blank file is rejected") {
  CHECK(first_error("") == "flags.json: error: the file is empty");
  CHECK(first_error(" \n\t ") == "flags.json: error: the file holds only white space");
}

TEST_CASE("a missing file is rejected with the system's reason") {
  const auto result = load_flag_files({"/nonexistent/flags.json"});
  REQUIRE_FALSE(result.ok());
  CHECK(flagd::format(result.diagnostics.at(0)) ==
        "/nonexistent/flags.json: error: cannot open the file: No such file or directory");
}

TEST_CASE("a directory is not a flag file") {
  const auto result = load_flag_files({"/tmp"});
  REQUIRE_FALSE(result.ok());
  CHECK(flagd::format(result.diagnostics.at(0)) == "/tmp: error: not a regular file");
}

TEST_CASE("non-UTF-8 bytes are located") {
  CHECK(first_error("{\"flags\": {\"a\xff\": {}}}") ==
        "flags.json:1:14: error: invalid JSON: invalid UTF-8 byte \\xff");
  CHECK(first_error("{\"flags\": {\"\xc3\x28\": {}}}") ==
        "flags.json:1:13: error: invalid JSON: invalid UTF-8 byte \\xc3");
  // An encoded surrogate is not valid UTF-8 either.
  CHECK(first_error("{\"flags\": {\"\xed\xa0\x80\": {}}}") ==
        "flags.json:1:13: error: invalid JSON: invalid UTF-8 byte \\xed");
}

TEST_CASE("numbers beyond what a double or a 64-bit integer holds are rejected") {
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": 1e400}})")) ==
        "flags.json:1:56: error: invalid JSON: number 1e400 is out of range");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": 123456789012345678901234567890}})")) ==
        "flags.json:1:56: error: invalid JSON: number 123456789012345678901234567890 is out of range");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": -9223372036854775809}})")) ==
        "flags.json:1:56: error: invalid JSON: number -9223372036854775809 is out of range");
}

TEST_CASE("nesting deeper than the limit is rejected") {
  std::string deep = R"({"flags": {"f": {"state": "ENABLED", "variants": {"a": )";
  for (int i = 0; i < 70; ++i) deep += "{\"x\": ";
  deep += "1";
  for (int i = 0; i < 70; ++i) deep += "}";
  deep += "}}}}";
  CHECK(first_error(deep) == "flags.json:1:416: error: invalid JSON: nesting deeper than 64 levels");
}

TEST_CASE("the document's shape is checked") {
  CHECK(first_error("[]") ==
        "flags.json:1:1: error: the document must be an object with a \"flags\" member, not an array");
  CHECK(first_error(R"({"metadata": {}})") ==
        "flags.json:1:1: error: the required member \"flags\" is missing");
  CHECK(first_error(R"({"flags": []})") ==
        "flags.json:1:11: error: flags: must be an object keyed by flag key, not an array");
  CHECK(first_error(R"({"flags": {"f": true}})") ==
        "flags.json:1:17: error: flags.f: a flag must be an object, not a boolean");
  CHECK(first_error(R"({"flags": {}, "$evaluators": []})") ==
        "flags.json:1:30: error: $evaluators: must be an object of named rules, not an array");
  CHECK(first_error(R"({"flags": {"": {"state": "ENABLED", "variants": {"a": true}}}})") ==
        "flags.json:1:12: error: flags[\"\"]: a flag key must not be empty");
}

TEST_CASE("state is required and must be ENABLED or DISABLED") {
  CHECK(first_error(flag(R"({"variants": {"a": true}})")) ==
        "flags.json:1:17: error: flags.f: the required member \"state\" is missing");
  CHECK(first_error(flag(R"({"state": "ON", "variants": {"a": true}})")) ==
        "flags.json:1:27: error: flags.f.state: unknown state \"ON\" (expected \"ENABLED\" or \"DISABLED\")");
  CHECK(first_error(flag(R"({"state": true, "variants": {"a": true}})")) ==
        "flags.json:1:27: error: flags.f.state: must be the string \"ENABLED\" or \"DISABLED\", not a boolean");
}

TEST_CASE("variants are required, non-empty, of allowed values and of one type") {
  CHECK(first_error(flag(R"({"state": "ENABLED"})")) ==
        "flags.json:1:17: error: flags.f: the required member \"variants\" is missing");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {}})")) ==
        "flags.json:1:50: error: flags.f.variants: a flag needs at least one variant");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": ["a"]})")) ==
        "flags.json:1:50: error: flags.f.variants: must be an object of variant values, not an array");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": true, "b": "no"}})")) ==
        "flags.json:1:67: error: flags.f.variants.b: variant \"b\" is a string but variant \"a\" is a boolean; "
        "all variants of a flag must have one type");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": null}})")) ==
        "flags.json:1:56: error: flags.f.variants.a: a variant value must be a boolean, string, number or object, not null");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": [1]}})")) ==
        "flags.json:1:56: error: flags.f.variants.a: a variant value must be a boolean, string, number or object, not an array");
}

TEST_CASE("defaultVariant must name a variant") {
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "of"})")) ==
        "flags.json:1:82: error: flags.f.defaultVariant: \"of\" is not one of the flag's variants");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"on": true}, "defaultVariant": 1})")) ==
        "flags.json:1:82: error: flags.f.defaultVariant: must be a variant key (a string) or null, not a number");
}

TEST_CASE("duplicate keys are errors wherever they appear") {
  CHECK(first_error(R"({"flags": {"f": {"state": "ENABLED", "variants": {"a": true}}, "f": {}}})") ==
        "flags.json:1:64: error: flags.f: duplicate key \"f\"");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": true, "a": false}})")) ==
        "flags.json:1:62: error: flags.f.variants.a: duplicate key \"a\"");
  CHECK(first_error(R"({"flags": {}, "flags": {}})") == "flags.json:1:15: error: flags: duplicate key \"flags\"");
}

TEST_CASE("metadata holds only strings, numbers and booleans") {
  CHECK(first_error(R"({"metadata": {"team": ["a"]}, "flags": {}})") ==
        "flags.json:1:23: error: metadata.team: metadata values must be strings, numbers or booleans, not an array");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": true}, "metadata": 3})")) ==
        "flags.json:1:75: error: flags.f.metadata: metadata must be an object, not a number");
}

TEST_CASE("targeting rules are checked at load, naming the flag's path") {
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {"if": [{"frobnicate": [1]}, "a"]}})")) ==
        "flags.json:1:85: error: flags.f.targeting.if[0].frobnicate: unsupported operator \"frobnicate\"");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {"map": [[1]]}})")) ==
        "flags.json:1:84: error: flags.f.targeting.map: \"map\" takes 2 operands, not 1");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {"var": {"cat": ["a"]}}})")) ==
        "flags.json:1:84: error: flags.f.targeting.var: a \"var\" path must be a string or a whole number known when the file loads");
  // An empty rule is the same as none; so is null.
  CHECK(load_flag_text(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {}})")).ok());
  CHECK(load_flag_text(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": null})")).ok());
}

TEST_CASE("a $ref to a missing evaluator loads with a warning") {
  const auto result = load_flag_text(
      flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {"if": [{"$ref": "nope"}, "a", null]}})"),
      "flags.json");
  REQUIRE(result.ok());
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(flagd::format(result.diagnostics[0]).find("warning: flags.f.targeting.if[0].$ref: \"$ref\" names \"nope\", "
                                                  "which is not in $evaluators") != std::string::npos);
}

TEST_CASE("an if without an array of operands loads with a warning") {
  const auto result = load_flag_text(
      flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {"or": [true, {"if": "a"}]}})"), "flags.json");
  REQUIRE(result.ok());
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(flagd::format(result.diagnostics[0]).find("warning: flags.f.targeting.or[1].if: \"if\" needs an array of "
                                                  "operands; evaluating it fails with PARSE_ERROR") != std::string::npos);
}

TEST_CASE("limits are enforced with a message naming them") {
  // Each documented limit (flagd/limits.hpp, docs/reliability.md), one past it; the rule limits
  // have a test case of their own below, the image's size is the segment's (test_daemon).
  SECTION("flag key: 256 bytes") {
    const std::string long_key(257, 'k');
    CHECK(first_error(R"({"flags": {")" + long_key + R"(": {"state": "ENABLED", "variants": {"a": true}}}})") ==
          "flags.json:1:12: error: flags." + long_key + ": flag key is longer than 256 bytes");
    const std::string longest(256, 'k');
    CHECK(first_error(R"({"flags": {")" + longest + R"(": {"state": "ENABLED", "variants": {"a": true}}}})") ==
          "(no error)");
  }
  SECTION("variants per flag: 4096") {
    std::string variants;
    for (int i = 0; i < 4097; ++i) variants += (i ? ",\"v" : "\"v") + std::to_string(i) + "\": " + std::to_string(i);
    CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {)" + variants + "}}")) ==
          "flags.json:1:50: error: flags.f.variants: 4097 variants exceed the limit of 4096");
  }
  SECTION("string and object values: 1 MiB") {
    const std::string text((1u << 20) + 1, 's');
    CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": ")" + text + R"("}})")) ==
          "flags.json:1:56: error: flags.f.variants.a: string of 1048577 bytes exceeds the limit of 1048576");
    CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": {"k": ")" + text + R"("}}})")) ==
          "flags.json:1:56: error: flags.f.variants.a: object value exceeds the limit of 1048576 bytes");
  }
  SECTION("metadata entries: 256 per flag or set") {
    std::string entries;
    for (int i = 0; i < 257; ++i) entries += (i ? ",\"m" : "\"m") + std::to_string(i) + "\": 1";
    CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": true}, "metadata": {)" + entries + "}}")) ==
          "flags.json:1:75: error: flags.f.metadata: more than 256 metadata entries");
  }
  SECTION("file size: 64 MiB") {
    // A sparse file one byte over: the loader refuses it from its size, before reading it.
    const std::string path = "/tmp/flagd-test-too-big-" + std::to_string(::getpid()) + ".json";
    {
      std::ofstream out(path);
    }
    REQUIRE(::truncate(path.c_str(), (64 << 20) + 1) == 0);
    const auto result = load_flag_files({path});
    REQUIRE_FALSE(result.ok());
    CHECK(flagd::format(result.diagnostics.front()) ==
          path + ": error: the file is 67108865 bytes, over the limit of 67108864");
    std::remove(path.c_str());
  }
}

// Hidden from the default run: CTest runs it as test_loader_errors_heavy in optimized builds
// only, where it takes seconds (under AddressSanitizer it took 107 s and 2.1 GB).
TEST_CASE("more flags than the limit of 1,000,000 are rejected", "[.heavy]") {
  // 1,000,001 small flags: 52 MB of JSON.
  std::string text = R"({"flags": {)";
  text.reserve(53u << 20);
  for (int i = 0; i <= 1'000'000; ++i)
    text += (i ? ",\"f" : "\"f") + std::to_string(i) + R"(": {"state": "ENABLED", "variants": {"a": true}})";
  text += "}}";
  const std::string path = "/tmp/flagd-test-many-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << text;
  text = {};
  const auto result = load_flag_files({path});
  std::remove(path.c_str());
  REQUIRE_FALSE(result.ok());
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(flagd::format(result.diagnostics.back()) ==
        path + ": error: 1000001 flags (in this source and those before it) exceed the limit of 1000000");
}

TEST_CASE("every error is reported, not just the first") {
  const auto result = load_flag_text(R"({"flags": {
    "a": {"state": "ON", "variants": {"x": true}},
    "b": {"state": "ENABLED", "variants": {}},
    "c": {"state": "ENABLED", "variants": {"x": 1}, "defaultVariant": "y"}}})",
                                     "flags.json");
  std::vector<std::string> errors;
  for (const auto& d : result.diagnostics)
    if (d.severity == Diagnostic::Severity::Error) errors.push_back(flagd::format(d));
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].find("flags.json:2:20: error: flags.a.state:") == 0);
  CHECK(errors[1].find("flags.json:3:43: error: flags.b.variants:") == 0);
  CHECK(errors[2].find("flags.json:4:71: error: flags.c.defaultVariant:") == 0);
}

TEST_CASE("unknown members are warnings, and the file still loads") {
  const auto result = load_flag_text(
      flag(R"({"state": "ENABLED", "variants": {"a": true}, "defaultVariant": "a", "description": "x"})"),
      "flags.json");
  REQUIRE(result.ok());
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(flagd::format(result.diagnostics[0]) ==
        "flags.json:1:86: warning: flags.f.description: unknown flag member is ignored");
}

TEST_CASE("a later file's flag replaces an earlier one of the same key") {
  const std::string a = "/tmp/flagd_test_override_a.json", b = "/tmp/flagd_test_override_b.json";
  std::ofstream(a) << R"({"flags": {"f": {"state": "ENABLED", "variants": {"x": 1}, "defaultVariant": "x"},
                                       "g": {"state": "ENABLED", "variants": {"y": true}}}})";
  std::ofstream(b) << R"({"flags": {"f": {"state": "DISABLED", "variants": {"z": "s"}}}})";
  const auto result = load_flag_files({a, b});
  REQUIRE(result.ok());
  REQUIRE(result.flags.flags.size() == 2);
  CHECK(result.flags.flags[0].key == "f");
  CHECK_FALSE(result.flags.flags[0].enabled);
  CHECK(result.flags.flags[0].variants.at(0).key == "z");
  CHECK(result.flags.sources.size() == 2);
  std::remove(a.c_str());
  std::remove(b.c_str());
}

TEST_CASE("tiny numbers that underflow are valid; lone surrogates are not") {
  CHECK(load_flag_text(flag(R"({"state": "ENABLED", "variants": {"a": 1e-400, "b": 4.9e-324}})")).ok());
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": "\ud800x"}})")) ==
        "flags.json:1:57: error: invalid JSON: unpaired UTF-16 surrogate in a \\u escape");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": "\udc00"}})")) ==
        "flags.json:1:57: error: invalid JSON: unpaired UTF-16 surrogate in a \\u escape");
  CHECK(load_flag_text(flag(R"({"state": "ENABLED", "variants": {"a": "\ud83d\ude00"}})")).ok());
}

TEST_CASE("the daemon's lock file can never be a segment") {
  CHECK(flagd::segment_lock_path("flagd") == "/dev/shm/.flagd.lock");
  CHECK_FALSE(flagd::segment_name_problem(".flagd.lock").empty());
}

TEST_CASE("rules over the documented size and depth limits are rejected") {
  std::string wide = R"({"cat": [)";
  for (int i = 0; i < 4100; ++i) wide += (i ? ",\"x\"" : "\"x\"");
  wide += "]}";
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": )" + wide + "}")).find(
            "error: flags.f.targeting.cat[4095]: the rule has more than 4096 nodes (after $ref expansion)") !=
        std::string::npos);
  // 49 nested operators: deeper than the rule limit, shallower than the file's nesting limit.
  std::string deep;
  for (int i = 0; i < 49; ++i) deep += R"({"!": )";
  deep += "true";
  for (int i = 0; i < 49; ++i) deep += "}";
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": )" + deep + "}")).find(
            "the rule nests deeper than 48 operators") != std::string::npos);
}
