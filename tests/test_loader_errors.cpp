// The catalogue of inputs the loader rejects, each with the message (what, where, why) it gives.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fstream>
#include <string>

#include "flag_loader.hpp"
#include "flagd/segment_name.hpp"

using flagd::Diagnostic;
using flagd::load_flag_files;
using flagd::load_flag_text;

namespace {

// The first diagnostic of `severity` the loader reports for `text`, formatted as flagctl
// validate prints it (violations as errors).
std::string first_of(Diagnostic::Severity severity, std::string_view text) {
  const auto result = load_flag_text(text, "flags.json");
  for (const auto& d : result.diagnostics)
    if (d.severity == severity) return flagd::format(d, flagd::Strictness::Strict);
  return "(none)";
}

// The first error: what flagd refuses too, so the file is refused however it is loaded.
std::string first_error(std::string_view text) { return first_of(Diagnostic::Severity::Error, text); }

// The first violation: flagd loads it, so the daemon does (with a warning); validate and --strict
// refuse it.
std::string first_violation(std::string_view text) {
  const auto result = load_flag_text(text, "flags.json");
  CHECK(result.ok());
  CHECK_FALSE(result.ok(flagd::Strictness::Strict));
  return first_of(Diagnostic::Severity::Violation, text);
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

TEST_CASE("numbers beyond what a double holds are rejected; integers beyond 64 bits are doubles, as in Go") {
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": 1e400}})")) ==
        "flags.json:1:56: error: invalid JSON: number 1e400 is out of range");
  const auto big = load_flag_text(
      flag(R"({"state": "ENABLED", "variants": {"a": 123456789012345678901234567890, "b": -9223372036854775809}})"));
  REQUIRE(big.ok(flagd::Strictness::Strict));
  REQUIRE(big.flags.flags.at(0).variants.size() == 2);
  CHECK(big.flags.flags[0].variants[0].value.number == 123456789012345678901234567890.0);
  CHECK(big.flags.flags[0].variants[1].value.number == -9223372036854775809.0);
  // -0 keeps its sign, as Go reads it (simdjson alone reads the integer 0); dates are no -0.
  const auto zero = load_flag_text(flag(R"({"state": "ENABLED", "variants": {"a": -0, "b": 0}, "metadata": {"expires": "2031-06-30"}})"));
  REQUIRE(zero.ok());
  CHECK(std::signbit(zero.flags.flags.at(0).variants.at(0).value.number));
  CHECK_FALSE(std::signbit(zero.flags.flags.at(0).variants.at(1).value.number));
  // A string that looks like one is left alone.
  const auto text = load_flag_text(flag(R"({"state": "ENABLED", "variants": {"a": "123456789012345678901234567890", "b": 99999999999999999999}})"));
  REQUIRE(text.ok());
  CHECK(text.flags.flags.at(0).variants.at(0).value.text == "123456789012345678901234567890");
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
  CHECK(first_error(R"({"flags": 1})") ==
        "flags.json:1:11: error: flags: must be an object keyed by flag key (or an array of flags), not a number");
  CHECK(first_error(R"({"flags": {"f": true}})") ==
        "flags.json:1:17: error: flags.f: a flag must be an object, not a boolean");
  CHECK(first_error(R"({"flags": {}, "$evaluators": []})") ==
        "flags.json:1:30: error: $evaluators: must be an object of named rules, not an array");
  CHECK(first_error(R"({"metadata": "x", "flags": {}})") ==
        "flags.json:1:14: error: metadata: metadata must be an object, not a string");
  CHECK(first_error(R"({"$evaluators": {"e": {}}, "flags": {}})") ==
        "flags.json:1:23: error: $evaluators.e: an evaluator must be a rule; flagd refuses an empty one");
  CHECK(first_violation(R"({"flags": {"": {"state": "ENABLED", "variants": {"a": true}}}})") ==
        "flags.json:1:12: error: flags[\"\"]: the flag key is empty");
  CHECK(first_violation(R"({"flags": null})") == "flags.json:1:11: error: flags: \"flags\" is null: the file has no flags");
}

TEST_CASE("flags may be an array of flags that name their keys, as flagd reads them") {
  const auto result = load_flag_text(R"({"flags": [
    {"key": "a", "state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"},
    {"key": "b", "state": "DISABLED", "variants": {"x": "y"}},
    {"key": "a", "state": "ENABLED", "variants": {"off": false}, "defaultVariant": "off"}]})");
  REQUIRE(result.ok());
  REQUIRE(result.flags.flags.size() == 2);  // the later "a" counts, where the first stood
  CHECK(result.flags.flags[0].key == "a");
  CHECK(result.flags.flags[0].variants.at(0).key == "off");
  CHECK(result.flags.flags[1].key == "b");
  CHECK_FALSE(result.flags.flags[1].enabled);
  const auto twice = load_flag_text(R"({"flags": [{"key": "a"}, {"key": "a"}]})", "flags.json");
  REQUIRE(twice.ok());
  REQUIRE(twice.diagnostics.size() == 5);  // no state and no variants, twice, and the second "a"
  CHECK(flagd::format(twice.diagnostics.back(), flagd::Strictness::Strict) ==
        "flags.json:1:26: error: flags[1]: a second flag of key \"a\": the last one counts, as in flagd");
  CHECK(first_error(R"({"flags": [{"key": 1}]})") == "flags.json:1:20: error: flags[0].key: must be a string, not a number");
  CHECK(first_violation(R"({"flags": [{"state": "ENABLED", "variants": {"on": true}}]})") ==
        "flags.json:1:12: error: flags[0]: a flag in the array form needs a \"key\"; flagd gives this one the key \"\"");
  // "key" means nothing in the object form, where the member's name is the key.
  CHECK(first_violation(flag(R"({"key": "g", "state": "ENABLED", "variants": {"on": true}})")) ==
        "flags.json:1:18: error: flags.f.key: is ignored: \"key\" names a flag only in the array form of \"flags\", "
        "and here the member's name is the flag's key");
}

TEST_CASE("state is required and must be ENABLED or DISABLED; flagd serves any other as ENABLED") {
  CHECK(first_violation(flag(R"({"variants": {"a": true}})")) ==
        "flags.json:1:17: error: flags.f: the required member \"state\" is missing; flagd serves the flag as ENABLED");
  CHECK(first_violation(flag(R"({"state": "ENABELD", "variants": {"a": true}})")) ==
        "flags.json:1:27: error: flags.f.state: unknown state \"ENABELD\"; flagd serves the flag as ENABLED (only "
        "\"DISABLED\" disables it) (did you mean \"ENABLED\"?)");
  CHECK(first_error(flag(R"({"state": true, "variants": {"a": true}})")) ==
        "flags.json:1:27: error: flags.f.state: must be the string \"ENABLED\" or \"DISABLED\", not a boolean");
  for (const char* state : {R"("variants": {"a": true})", R"("state": null, "variants": {"a": true})",
                            R"("state": "disabled", "variants": {"a": true})"}) {
    const auto result = load_flag_text(flag(std::string("{") + state + "}"));
    REQUIRE(result.flags.flags.size() == 1);
    CHECK(result.flags.flags[0].enabled);
  }
}

TEST_CASE("member names are matched regardless of case, as Go decodes them") {
  CHECK(first_violation(flag(R"({"State": "DISABLED", "variants": {"a": true}})")) ==
        "flags.json:1:18: error: flags.f.State: is read as \"state\": flagd matches member names regardless of case");
  const auto result = load_flag_text(flag(R"({"STATE": "DISABLED", "Variants": {"a": 1}, "defaultvariant": "a"})"));
  REQUIRE(result.flags.flags.size() == 1);
  CHECK_FALSE(result.flags.flags[0].enabled);
  CHECK(result.flags.flags[0].default_variant == 0);
  // flagd decodes a document it re-encoded through a map: members in byte order of their keys,
  // the last value a field gets counting ("STATE" before "state"), a null leaving it as it was,
  // and objects merged into a map field.
  const auto last = load_flag_text(flag(R"({"state": "DISABLED", "STATE": "ENABLED", "variants": {"a": 1}})"));
  REQUIRE(last.flags.flags.size() == 1);
  CHECK_FALSE(last.flags.flags[0].enabled);
  const auto null_keeps = load_flag_text(flag(R"({"State": "DISABLED", "state": null, "variants": {"a": 1}})"));
  REQUIRE(null_keeps.flags.flags.size() == 1);
  CHECK_FALSE(null_keeps.flags.flags[0].enabled);
  const auto merged = load_flag_text(flag(R"({"state": "ENABLED", "variants": {"on": true}, "Variants": {"off": false},
                                               "defaultVariant": "on"})"));
  REQUIRE(merged.ok());
  REQUIRE(merged.flags.flags.at(0).variants.size() == 2);
  CHECK(merged.flags.flags[0].variants[0].key == "off");  // "Variants" first
  CHECK(merged.flags.flags[0].variants[1].key == "on");
  // Go folds two letters beyond ASCII: U+017F to s, the Kelvin sign to k.
  const auto folded = load_flag_text(flag("{\"\xC5\xBFtate\": \"DISABLED\", \"variants\": {\"a\": 1}}"));
  REQUIRE(folded.flags.flags.size() == 1);
  CHECK_FALSE(folded.flags.flags[0].enabled);
  const auto kelvin = load_flag_text("{\"flags\": [{\"\xE2\x84\xAA" "ey\": \"k\", \"variants\": {\"a\": 1}}]}");
  REQUIRE(kelvin.flags.flags.size() == 1);
  CHECK(kelvin.flags.flags[0].key == "k");
  // Every member of a field is type-checked, as Go checks each; "source" and "key" are fields too.
  CHECK(first_error(flag(R"({"state": 1, "State": "ENABLED", "variants": {"a": 1}})")) ==
        "flags.json:1:27: error: flags.f.state: must be the string \"ENABLED\" or \"DISABLED\", not a number");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": 1}, "source": 1})")) ==
        "flags.json:1:70: error: flags.f.source: must be a string, not a number");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": 1}, "key": 1})")) ==
        "flags.json:1:67: error: flags.f.key: must be a string, not a number");
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"a": 1}, "source": "x"})")) ==
        "flags.json:1:60: error: flags.f.source: is ignored: flagd sets a flag's source itself");
}

TEST_CASE("an evaluator of fewer than three bytes as written is refused, as flagd refuses it") {
  CHECK(first_error(R"({"$evaluators": {"e": {}}, "flags": {}})") ==
        "flags.json:1:23: error: $evaluators.e: an evaluator must be a rule; flagd refuses an empty one");
  CHECK(first_error(R"({"$evaluators": {"e": 12}, "flags": {}})") ==
        "flags.json:1:23: error: $evaluators.e: an evaluator must be a rule; flagd refuses an empty one");
  CHECK(load_flag_text(R"({"$evaluators": {"e": { }, "g": 1.0}, "flags": {}})").ok());
}

TEST_CASE("variants are required, non-empty, of allowed values and of one type; flagd loads the others") {
  CHECK(first_violation(flag(R"({"state": "ENABLED"})")) ==
        "flags.json:1:17: error: flags.f: a flag needs at least one variant; without one it never answers a variant "
        "(the caller's default, or ERROR where a rule names one)");
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {}})")) ==
        "flags.json:1:50: error: flags.f.variants: a flag needs at least one variant; without one it never answers a "
        "variant (the caller's default, or ERROR where a rule names one)");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": ["a"]})")) ==
        "flags.json:1:50: error: flags.f.variants: must be an object of variant values, not an array");
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"a": true, "b": "no"}})")) ==
        "flags.json:1:67: error: flags.f.variants.b: variant \"b\" is a string but variant \"a\" is a boolean; "
        "flagd answers TYPE_MISMATCH when the type asked for is not the chosen variant's");
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"a": null}})")) ==
        "flags.json:1:56: error: flags.f.variants.a: a variant value must be a boolean, string, number or object, not "
        "null; flagd answers TYPE_MISMATCH for it");
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"a": [1]}})")) ==
        "flags.json:1:56: error: flags.f.variants.a: a variant value must be a boolean, string, number or object, not "
        "an array; flagd answers TYPE_MISMATCH for it");
  const auto mixed = load_flag_text(flag(R"({"state": "ENABLED", "variants": {"a": true, "b": "no", "c": [1]}})"));
  REQUIRE(mixed.flags.flags.size() == 1);
  CHECK(mixed.flags.flags[0].kind == flagd::layout::ValueKind::Mixed);
  CHECK(mixed.flags.flags[0].variants.at(2).value.kind == flagd::layout::ValueKind::Other);
  CHECK(mixed.flags.flags[0].variants.at(2).value.text == "[1]");
}

TEST_CASE("defaultVariant must name a variant") {
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "of"})")) ==
        "flags.json:1:82: error: flags.f.defaultVariant: \"of\" is not one of the flag's variants; flagd refuses the file");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"on": true}, "defaultVariant": 1})")) ==
        "flags.json:1:82: error: flags.f.defaultVariant: must be a variant key (a string) or null, not a number");
}

TEST_CASE("duplicate keys are reported wherever they appear; the last one counts, as in flagd") {
  CHECK(first_violation(R"({"flags": {"f": {"state": "ENABLED", "variants": {"a": true}}, "f": {}}})") ==
        "flags.json:1:64: error: flags.f: duplicate key \"f\": the last one counts, as in flagd");
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"a": true, "a": false}})")) ==
        "flags.json:1:62: error: flags.f.variants.a: duplicate key \"a\": the last one counts, as in flagd");
  CHECK(first_violation(R"({"flags": {}, "flags": {}})") ==
        "flags.json:1:15: error: flags: duplicate key \"flags\": the last one counts, as in flagd");
  const auto result = load_flag_text(R"({"flags": {"f": {"state": "ENABLED", "variants": {"a": true, "b": 1, "a": false}},
                                                 "g": {"state": "ENABLED", "variants": {"x": true}},
                                                 "f": {"state": "DISABLED", "variants": {"c": "s", "c": "t"}}}})");
  REQUIRE(result.flags.flags.size() == 2);
  CHECK(result.flags.flags[0].key == "f");  // where the first stood
  CHECK_FALSE(result.flags.flags[0].enabled);
  REQUIRE(result.flags.flags[0].variants.size() == 1);
  CHECK(result.flags.flags[0].variants[0].value.text == "t");
  CHECK(result.flags.flags[1].key == "g");
}

TEST_CASE("metadata values other than strings, numbers and booleans are passed on, as flagd does") {
  CHECK(first_violation(R"({"metadata": {"team": ["a"]}, "flags": {}})") ==
        "flags.json:1:23: error: metadata.team: metadata values must be strings, numbers or booleans (OpenFeature's "
        "flag metadata), not an array; flagd passes it on as it is");
  const auto result = load_flag_text(R"({"metadata": {"a": {"x": 1}, "b": "set", "c": null},
    "flags": {"f": {"state": "ENABLED", "variants": {"on": true}, "metadata": {"b": null, "d": [1, {"y": 2}]}}}})");
  REQUIRE(result.flags.flags.size() == 1);
  const auto& metadata = result.flags.flags[0].metadata;  // null hides a key, the set's too
  REQUIRE(metadata.size() == 2);
  CHECK(metadata[0].key == "a");
  CHECK(metadata[0].kind == flagd::layout::MetadataKind::Json);
  CHECK(metadata[0].text == R"({"x":1})");
  CHECK(metadata[1].key == "d");
  CHECK(metadata[1].text == R"([1,{"y":2}])");
  CHECK(first_error(flag(R"({"state": "ENABLED", "variants": {"a": true}, "metadata": 3})")) ==
        "flags.json:1:75: error: flags.f.metadata: metadata must be an object, not a number");
}

TEST_CASE("targeting rules are checked at load, naming the flag's path; flagd loads what they break") {
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {"if": [{"frobnicate": [1]}, "a"]}})")) ==
        "flags.json:1:85: error: flags.f.targeting.if[0].frobnicate: unknown operator \"frobnicate\": flagd's engine "
        "fails the rule with PARSE_ERROR when evaluation reaches it");
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {"map": [[1]]}})")) ==
        "flags.json:1:84: error: flags.f.targeting.map: \"map\" takes 2 operands, not 1: flagd's engine answers []");
  // A path computed at evaluation is JsonLogic's own.
  CHECK(load_flag_text(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {"var": {"cat": ["a"]}}})"))
            .ok(flagd::Strictness::Strict));
  // An empty rule is the same as none; so is null.
  CHECK(load_flag_text(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {}})")).ok());
  CHECK(load_flag_text(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": null})")).ok());
}

TEST_CASE("a $ref to a missing evaluator loads with a warning") {
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {"if": [{"$ref": "nope"}, "a", null]}})")) ==
        "flags.json:1:93: error: flags.f.targeting.if[0].$ref: \"$ref\" names \"nope\", which is not in $evaluators; "
        "evaluating this rule fails with PARSE_ERROR when it is reached, as in flagd");
}

TEST_CASE("an if without an array of operands loads with a warning") {
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"a": true}, "targeting": {"or": [{"var": "x"}, {"if": "a"}]}})")) ==
        "flags.json:1:105: error: flags.f.targeting.or[1].if: \"if\" takes an array of operands, not a string: flagd's "
        "engine fails the rule with PARSE_ERROR when evaluation reaches it");
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
          "(none)");
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
    "a": {"state": 1, "variants": {"x": true}},
    "b": {"state": "ENABLED", "variants": []},
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

TEST_CASE("unknown flag members are ignored as flagd ignores them, and named by validate, with a guess") {
  const auto result = load_flag_text(
      flag(R"({"state": "ENABLED", "variants": {"a": true}, "defaultVariant": "a", "targetting": {"if": [true, "b"]}})"),
      "flags.json");
  REQUIRE(result.ok());
  REQUIRE_FALSE(result.ok(flagd::Strictness::Strict));
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(flagd::format(result.diagnostics[0], flagd::Strictness::Lenient) ==
        "flags.json:1:86: warning: flags.f.targetting: unknown flag member is ignored (did you mean \"targeting\"?)");
  CHECK(flagd::format(result.diagnostics[0]) ==
        "flags.json:1:86: error: flags.f.targetting: unknown flag member is ignored (did you mean \"targeting\"?)");
  REQUIRE(result.flags.flags.size() == 1);
  CHECK(result.flags.flags[0].rule.empty());
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"a": true}, "description": "x"})")) ==
        "flags.json:1:63: error: flags.f.description: unknown flag member is ignored");
}

TEST_CASE("a rule that can answer a constant naming no variant loads, and validate names the constant") {
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                                 "targeting": {"if": [{"var": "beta"}, "onn", "off"]}})")) ==
        "flags.json:2:72: error: flags.f.targeting.if[1]: the rule can answer \"onn\", which names no variant of flag "
        "\"f\" (flagd answers ERROR, GENERAL there) (did you mean \"on\"?)");
  // Every result position: else branches, and/or operands, var defaults, fractional's buckets,
  // booleans and numbers as flagd names them, and an evaluator's results where they are written.
  const auto result = load_flag_text(R"({"$evaluators": {"pick": {"if": [{"var": "x"}, "b", "zz"]}},
    "flags": {"f": {"state": "ENABLED", "variants": {"a": 1, "b": 2, "1": 3, "true": 4},
      "targeting": {"if": [{"var": "p"}, {"or": [{"var": "q"}, "c"]},
                           {"var": "r"}, {"var": ["s", "d"]},
                           {"var": "t"}, {"fractional": [["a", 1], ["e", 1], [1, 1], [2.5, 1]]},
                           {"var": "u"}, {"$ref": "pick"},
                           true]}}}})",
                                     "flags.json");
  std::vector<std::string> named;
  for (const auto& d : result.diagnostics)
    if (d.severity == Diagnostic::Severity::Violation) named.push_back(d.json_path + " " + d.message.substr(0, d.message.find(',')));
  CHECK(named == std::vector<std::string>{
                     "flags.f.targeting.if[1].or[1] the rule can answer \"c\"",
                     "flags.f.targeting.if[3].var[1] the rule can answer \"d\"",
                     "flags.f.targeting.if[5].fractional[1][0] the rule can answer \"e\"",
                     "flags.f.targeting.if[5].fractional[3][0] the rule can answer \"2.5\"",
                     "$evaluators.pick.if[2] the rule can answer \"zz\"",
                 });
  // A constant that never stops and/or is never their answer; a lone if operand is.
  CHECK(load_flag_text(flag(R"({"state": "ENABLED", "variants": {"on": true},
                                "targeting": {"or": [false, {"var": "pick"}, "on"]}})"))
            .ok(flagd::Strictness::Strict));
  CHECK(first_violation(flag(R"({"state": "ENABLED", "variants": {"on": true}, "targeting": {"if": ["onn"]}})"))
            .find("the rule can answer \"onn\"") != std::string::npos);
  // What names a variant, or cannot be known without running the rule, is fine.
  CHECK(load_flag_text(flag(R"({"state": "ENABLED", "variants": {"on": true, "off": false},
                                "targeting": {"if": [{"var": "x"}, "on", {"cat": ["o", "ff"]}]}})"))
            .ok(flagd::Strictness::Strict));
}

TEST_CASE("a YAML flag file loads as its JSON twin does, with diagnostics at its own lines and columns") {
  constexpr std::string_view yaml = R"(# a flagd flag file in YAML
flags:
  new-checkout:
    state: ENABLED
    variants: {on: true, off: false}
    defaultVariant: off
    targeting:
      if:
        - ends_with: [{var: email}, "@example.com"]
        - on
        - fractional: [[on, 25], [off, 75]]
    metadata: {owner: payments, expires: 2031-06-30}
  typo:
    state: ENABELD
    variants: {a: 1}
)";
  const auto loaded = load_flag_text(yaml, "flags.yaml");
  REQUIRE(loaded.ok());
  REQUIRE(loaded.flags.flags.size() == 2);
  const auto twin = load_flag_text(R"({"flags": {
    "new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
      "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on",
                           {"fractional": [["on", 25], ["off", 75]]}]},
      "metadata": {"owner": "payments", "expires": "2031-06-30T00:00:00Z"}},
    "typo": {"state": "ENABELD", "variants": {"a": 1}}}})");
  REQUIRE(twin.flags.flags.size() == 2);
  const auto& a = loaded.flags.flags[0];
  const auto& b = twin.flags.flags[0];
  CHECK(a.key == b.key);
  CHECK(a.default_variant == b.default_variant);
  REQUIRE(a.rule.size() == b.rule.size());
  for (std::size_t i = 0; i < a.rule.size(); ++i) {
    CHECK(a.rule[i].op == b.rule[i].op);
    CHECK(a.rule[i].text == b.rule[i].text);
  }
  REQUIRE(a.metadata.size() == 2);
  CHECK(a.metadata[1].text == "2031-06-30T00:00:00Z");  // yaml.v3 reads a date as a time
  // The state's problem at its YAML place.
  REQUIRE(loaded.diagnostics.size() == 1);
  CHECK(flagd::format(loaded.diagnostics[0], flagd::Strictness::Strict).rfind("flags.yaml:14:12: error: flags.typo.state: unknown state", 0) == 0);
  // Any case of the extension names YAML; YAML's repeated keys are refused, as yaml.v3 refuses them.
  CHECK(load_flag_text("flags:\n  f: {variants: {a: 1}, state: DISABLED}\n", "FLAGS.YML").ok(flagd::Strictness::Strict));
  CHECK(first_error("flags: {}\n") == "flags.json:1:1: error: invalid JSON: unexpected character 'f'");  // .json
  const auto repeated = load_flag_text("flags:\n  f: {state: ENABLED, variants: {a: 1, a: 2}}\n", "f.yaml");
  REQUIRE_FALSE(repeated.ok());
  CHECK(flagd::format(repeated.diagnostics.at(0), flagd::Strictness::Strict) ==
        "f.yaml:2:40: error: flags.f.variants.a: duplicate key \"a\"; YAML forbids it, and flagd refuses the file");
}

TEST_CASE("an unknown top-level member is only a warning") {
  const auto result = load_flag_text(R"({"flags": {}, "version": 2, "flagz": {}})", "flags.json");
  REQUIRE(result.ok(flagd::Strictness::Strict));
  REQUIRE(result.diagnostics.size() == 2);
  CHECK(flagd::format(result.diagnostics[0]) ==  // in the order flagd meets them: sorted
        "flags.json:1:29: warning: flagz: unknown top-level member is ignored (did you mean \"flags\"?)");
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
