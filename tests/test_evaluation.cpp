// Evaluation of every value type and every reason a flag without targeting can give.
#include <catch2/catch.hpp>

#include "memory_flags.hpp"

using flagd::ErrorCode;
using flagd::Evaluation;
using flagd::Reason;
using flagd::test::MemoryFlags;

namespace {

constexpr std::string_view kFlags = R"({
  "metadata": {"flagSetId": "payments", "team": "core", "tier": 1},
  "flags": {
    "bool-on":   {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
    "bool-off":  {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},
    "text":      {"state": "ENABLED", "variants": {"a": "alpha", "b": ""}, "defaultVariant": "a"},
    "empty-text":{"state": "ENABLED", "variants": {"a": "alpha", "b": ""}, "defaultVariant": "b"},
    "count":     {"state": "ENABLED", "variants": {"small": 10, "big": 5000}, "defaultVariant": "big"},
    "ratio":     {"state": "ENABLED", "variants": {"low": -2.75, "high": 0.5}, "defaultVariant": "low"},
    "huge":      {"state": "ENABLED", "variants": {"h": 1e300}, "defaultVariant": "h"},
    "theme":     {"state": "ENABLED", "variants": {"dark": {"bg": "#000", "n": [1, 2.5, null], "ok": true}},
                  "defaultVariant": "dark"},
    "disabled":  {"state": "DISABLED", "variants": {"on": true}, "defaultVariant": "on"},
    "no-default":{"state": "ENABLED", "variants": {"on": true}, "defaultVariant": null},
    "absent-default": {"state": "ENABLED", "variants": {"s": "x"}},
    "empty-rule":{"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on", "targeting": {}},
    "long":      {"state": "ENABLED", "variants": {"v": "0123456789abcdefghijklmnopqrstuvwxyz0123456789"},
                  "defaultVariant": "v", "metadata": {"team": "edge", "expires": "2026-06-30", "beta": true}},
    "disabled-count": {"state": "DISABLED", "variants": {"n": 12}, "defaultVariant": "n"},
    "no-default-count": {"state": "ENABLED", "variants": {"n": 12}, "defaultVariant": null}
  }
})";

}  // namespace

TEST_CASE("static values of every type, with reason STATIC and their variant") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();

  CHECK(r.get_bool(r.resolve("bool-on"), false) == true);
  CHECK(r.get_bool(r.resolve("bool-off"), true) == false);
  CHECK(r.get_string(r.resolve("text"), "dflt") == "alpha");
  CHECK(r.get_string(r.resolve("empty-text"), "dflt").empty());
  CHECK(r.get_int(r.resolve("count"), -1) == 5000);
  CHECK(r.get_double(r.resolve("count"), -1) == 5000.0);
  CHECK(r.get_double(r.resolve("ratio"), 0) == -2.75);
  CHECK(r.get_string(r.resolve("long"), "") == "0123456789abcdefghijklmnopqrstuvwxyz0123456789");
  std::string object;
  r.get_object(r.resolve("theme"), "{}", object);
  CHECK(object == R"({"bg":"#000","n":[1,2.5,null],"ok":true})");

  Evaluation<bool> b;
  r.evaluate(r.resolve("bool-off"), true, b);
  CHECK(b.value == false);
  CHECK(b.has_variant);
  CHECK(b.variant == "off");
  CHECK(b.reason == Reason::Static);
  CHECK(b.error == ErrorCode::None);
  CHECK(b.generation == 1);

  Evaluation<std::string> s;
  r.evaluate(r.resolve("text"), std::string_view("dflt"), s);
  CHECK(s.value == "alpha");
  CHECK(s.variant == "a");
  CHECK(s.reason == Reason::Static);

  Evaluation<double> d;
  r.evaluate(r.resolve("ratio"), 9.0, d);
  CHECK(d.value == -2.75);
  CHECK(d.variant == "low");
}

TEST_CASE("an integer request truncates a number toward zero") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  CHECK(r.get_int(r.resolve("ratio"), 99) == -2);
  Evaluation<std::int64_t> e;
  r.evaluate(r.resolve("ratio"), std::int64_t{99}, e);
  CHECK(e.value == -2);
  CHECK(e.reason == Reason::Static);
  // A number no int64 holds converts as flagd's Go converts it on amd64: to INT64_MIN.
  r.evaluate(r.resolve("huge"), std::int64_t{7}, e);
  CHECK(e.value == std::numeric_limits<std::int64_t>::min());
  CHECK(e.reason == Reason::Static);
  CHECK(e.variant == "h");
}

TEST_CASE("value-only number reads of static flags: the record's default, or the caller's") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  CHECK(r.get_int(r.resolve("huge"), 7) == std::numeric_limits<std::int64_t>::min());  // as Go converts 1e300
  CHECK(r.get_double(r.resolve("huge"), 7) == 1e300);
  CHECK(r.get_int(r.resolve("disabled-count"), 3) == 3);
  CHECK(r.get_double(r.resolve("disabled-count"), 3.5) == 3.5);
  CHECK(r.get_int(r.resolve("no-default-count"), 4) == 4);
  CHECK(r.get_double(r.resolve("no-default-count"), 4.5) == 4.5);
  CHECK(r.get_int(r.resolve("text"), 5) == 5);  // a string flag is no number
  CHECK(r.get_int(r.resolve("missing-flag"), 6) == 6);
  CHECK(r.get_int(r.resolve("count"), 0) == 5000);
}

TEST_CASE("a disabled flag gives DISABLED and the caller's default, without a variant") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  Evaluation<bool> e;
  r.evaluate(r.resolve("disabled"), false, e);
  CHECK(e.value == false);
  CHECK(e.reason == Reason::Disabled);
  CHECK(e.error == ErrorCode::None);
  CHECK_FALSE(e.has_variant);
  CHECK(e.variant.empty());
  CHECK(r.get_bool(r.resolve("disabled"), false) == false);
}

TEST_CASE("no default variant gives DEFAULT and the caller's default") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  Evaluation<bool> e;
  r.evaluate(r.resolve("no-default"), false, e);
  CHECK(e.value == false);
  CHECK(e.reason == Reason::Default);
  CHECK(e.error == ErrorCode::None);
  CHECK_FALSE(e.has_variant);
  Evaluation<std::string> s;
  r.evaluate(r.resolve("absent-default"), std::string_view("fallback"), s);
  CHECK(s.value == "fallback");
  CHECK(s.reason == Reason::Default);
}

TEST_CASE("an empty targeting rule is the same as none") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  Evaluation<bool> e;
  r.evaluate(r.resolve("empty-rule"), false, e);
  CHECK(e.value == true);
  CHECK(e.reason == Reason::Static);
}

TEST_CASE("a missing flag gives ERROR FLAG_NOT_FOUND and the caller's default") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  Evaluation<bool> e;
  r.evaluate(r.resolve("nope"), true, e);
  CHECK(e.value == true);
  CHECK(e.reason == Reason::Error);
  CHECK(e.error == ErrorCode::FlagNotFound);
  CHECK_FALSE(e.has_variant);
  CHECK(r.get_string(r.resolve("nope"), "d") == "d");
  // A default-constructed handle names no flag.
  CHECK(r.get_bool(flagd::Handle{}, true) == true);
  r.evaluate(flagd::Handle{}, false, e);
  CHECK(e.error == ErrorCode::FlagNotFound);
}

TEST_CASE("asking for the wrong type gives ERROR TYPE_MISMATCH and the caller's default") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  Evaluation<bool> b;
  r.evaluate(r.resolve("text"), true, b);
  CHECK(b.value == true);
  CHECK(b.reason == Reason::Error);
  CHECK(b.error == ErrorCode::TypeMismatch);
  CHECK(b.has_variant);  // flagd names the variant that did not fit
  CHECK(b.variant == "a");
  CHECK(r.get_bool(r.resolve("count"), true) == true);
  CHECK(r.get_int(r.resolve("bool-on"), 3) == 3);
  CHECK(r.get_double(r.resolve("text"), 1.5) == 1.5);
  CHECK(r.get_string(r.resolve("theme"), "s") == "s");
  std::string object;
  r.get_object(r.resolve("text"), R"({"d":1})", object);
  CHECK(object == R"({"d":1})");
  Evaluation<std::string> o;
  r.evaluate_object(r.resolve("count"), "{}", o);
  CHECK(o.error == ErrorCode::TypeMismatch);
  CHECK(o.value == "{}");
}

TEST_CASE("by-key evaluation gives the same answers as handles") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  CHECK(r.get_bool("bool-on", false) == true);
  CHECK(r.get_bool("nope", true) == true);
  CHECK(r.get_int("count", 0) == 5000);
  CHECK(r.get_double("ratio", 0) == -2.75);
  std::string s;
  r.get_string("text", "x", s);
  CHECK(s == "alpha");
  Evaluation<bool> e;
  r.evaluate("disabled", true, e);
  CHECK(e.reason == Reason::Disabled);
}

TEST_CASE("metadata is the set's overlaid by the flag's own") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  std::vector<flagd::MetadataValue> m;
  REQUIRE(r.metadata(r.resolve("long"), m));
  REQUIRE(m.size() == 5);
  CHECK(m[0].key == "flagSetId");
  CHECK(std::get<std::string>(m[0].value) == "payments");
  CHECK(m[1].key == "team");
  CHECK(std::get<std::string>(m[1].value) == "edge");  // the flag's value replaces the set's
  CHECK(m[2].key == "tier");
  CHECK(std::get<double>(m[2].value) == 1.0);
  CHECK(m[3].key == "expires");
  CHECK(m[4].key == "beta");
  CHECK(std::get<bool>(m[4].value) == true);
  REQUIRE(r.metadata(r.resolve("bool-on"), m));
  CHECK(m.size() == 3);
  CHECK_FALSE(r.metadata(r.resolve("nope"), m));
}

TEST_CASE("the listing shows every flag with its type, state and variants") {
  MemoryFlags flags(kFlags);
  const auto list = flags.reader().list();
  REQUIRE(list.size() == 15);
  CHECK(list[0].key == "bool-on");
  CHECK(list[0].kind == flagd::layout::ValueKind::Boolean);
  CHECK(list[0].default_variant == std::optional<std::string>("on"));
  CHECK(list[0].variants == std::vector<std::string>{"on", "off"});
  CHECK(list[8].state == flagd::layout::FlagState::Disabled);
  CHECK_FALSE(list[9].default_variant.has_value());
}

TEST_CASE("strings of every length up to the limit copy out exactly") {
  std::string json = R"({"flags": {)";
  for (int n = 0; n <= 40; ++n)
    json += (n ? "," : "") + std::string("\"s") + std::to_string(n) + R"(": {"state": "ENABLED", "variants": {"v": ")" +
            std::string(static_cast<std::size_t>(n), static_cast<char>('a' + n % 26)) + R"("}, "defaultVariant": "v"})";
  json += "}}";
  MemoryFlags flags(json);
  auto& r = flags.reader();
  std::string out;
  for (int n = 0; n <= 40; ++n) {
    r.get_string(r.resolve("s" + std::to_string(n)), "?", out);
    CHECK(out == std::string(static_cast<std::size_t>(n), static_cast<char>('a' + n % 26)));
  }
}
