// Flags that break flagd's schema yet load in flagd: they load here too, and answer as flagd's Go
// engine answers them (each expectation below is that engine's answer to the same file and
// request), while the other flags of the file are unaffected.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "memory_flags.hpp"

using flagd::ErrorCode;
using flagd::Evaluation;
using flagd::Reason;
using flagd::test::MemoryFlags;

namespace {

constexpr std::string_view kFlags = R"({
  "flags": {
    "good":        {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
    "no-state":    {"variants": {"on": true}, "defaultVariant": "on"},
    "lower-state": {"state": "disabled", "variants": {"on": true}, "defaultVariant": "on"},
    "no-variants": {"state": "ENABLED"},
    "null-flag":   null,
    "empty-default": {"state": "ENABLED", "variants": {"": true}, "defaultVariant": "", "targeting": {"if": [true, ""]}},
    "mixed": {"state": "ENABLED",
              "variants": {"b": true, "s": "text", "n": 2.5, "o": {"k": 1}, "a": [1, 2], "z": null},
              "defaultVariant": "s", "targeting": {"var": "pick"}},
    "typo":  {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
              "targetting": {"if": [true, "on"]}}
  }
})";

Evaluation<bool> boolean(MemoryFlags& flags, std::string_view key, const flagd::Context& context = {}) {
  Evaluation<bool> out;
  flags.reader().evaluate(flags.reader().resolve(key), context, false, out);
  return out;
}

}  // namespace

TEST_CASE("a flag without a state, or with one flagd does not know, is served as ENABLED") {
  MemoryFlags flags(kFlags);
  for (const char* key : {"no-state", "lower-state"}) {
    const auto r = boolean(flags, key);
    INFO(key);
    CHECK(r.value);
    CHECK(r.reason == Reason::Static);
    CHECK(r.variant == "on");
  }
}

TEST_CASE("a flag without variants, or null, answers the caller's default with reason DEFAULT") {
  MemoryFlags flags(kFlags);
  for (const char* key : {"no-variants", "null-flag"}) {
    const auto r = boolean(flags, key);
    INFO(key);
    CHECK_FALSE(r.value);
    CHECK(r.reason == Reason::Default);
    CHECK(r.error == ErrorCode::None);
    CHECK_FALSE(r.has_variant);
  }
}

TEST_CASE("an empty defaultVariant is none, and a variant named \"\" can still be chosen by a rule") {
  MemoryFlags flags(kFlags);
  const auto r = boolean(flags, "empty-default");
  CHECK(r.value);
  CHECK(r.reason == Reason::TargetingMatch);
  CHECK(r.has_variant);
  CHECK(r.variant.empty());
}

TEST_CASE("variants of mixed types answer with the chosen variant's type, TYPE_MISMATCH naming it otherwise") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  const auto pick = [](std::string_view variant) {
    flagd::Context c;
    c.set("pick", variant);
    return c;
  };
  const flagd::Handle mixed = r.resolve("mixed");

  Evaluation<std::string> s;
  r.evaluate(mixed, flagd::Context{}, std::string_view("dflt"), s);  // null: the default variant
  CHECK(s.value == "text");
  CHECK(s.reason == Reason::Default);
  CHECK(s.variant == "s");

  Evaluation<bool> b;
  r.evaluate(mixed, pick("b"), false, b);
  CHECK(b.value);
  CHECK(b.reason == Reason::TargetingMatch);
  r.evaluate(mixed, pick("s"), false, b);
  CHECK_FALSE(b.value);
  CHECK(b.reason == Reason::Error);
  CHECK(b.error == ErrorCode::TypeMismatch);
  CHECK(b.has_variant);
  CHECK(b.variant == "s");

  Evaluation<double> d;
  r.evaluate(mixed, pick("n"), 0.0, d);
  CHECK(d.value == 2.5);
  Evaluation<std::int64_t> i;
  r.evaluate(mixed, pick("n"), std::int64_t{0}, i);
  CHECK(i.value == 2);
  CHECK(r.get_double(mixed, pick("b"), -1.0) == -1.0);

  Evaluation<std::string> o;
  r.evaluate_object(mixed, pick("o"), "{}", o);
  CHECK(o.value == R"({"k":1})");
  CHECK(o.reason == Reason::TargetingMatch);
  // An array or null fits no type asked for.
  for (const char* variant : {"a", "z"}) {
    INFO(variant);
    r.evaluate_object(mixed, pick(variant), "{}", o);
    CHECK(o.value == "{}");
    CHECK(o.error == ErrorCode::TypeMismatch);
    CHECK(o.variant == variant);
    r.evaluate(mixed, pick(variant), std::string_view("dflt"), s);
    CHECK(s.value == "dflt");
    CHECK(s.error == ErrorCode::TypeMismatch);
  }
}

TEST_CASE("an unknown flag member is ignored, so a misspelt targeting does not run") {
  MemoryFlags flags(kFlags);
  const auto r = boolean(flags, "typo");
  CHECK_FALSE(r.value);
  CHECK(r.reason == Reason::Static);
  CHECK(r.variant == "off");
}

TEST_CASE("the flags beside those that break the schema answer as ever") {
  MemoryFlags flags(kFlags);
  const auto r = boolean(flags, "good");
  CHECK(r.value);
  CHECK(r.reason == Reason::Static);
  CHECK(r.variant == "on");
  CHECK(flags.reader().get_bool(flags.reader().resolve("good"), false));
}

TEST_CASE("a TYPE_MISMATCH on a variant whose key is empty names no variant, as OpenFeature reads it") {
  MemoryFlags flags(R"({"flags": {"f": {"state": "ENABLED", "variants": {"": 0}, "targeting": ""}}})");
  const auto r = boolean(flags, "f");
  CHECK(r.error == ErrorCode::TypeMismatch);
  CHECK_FALSE(r.has_variant);
}

TEST_CASE("a flag that is ever TYPE_MISMATCH by type alone keeps naming its variant") {
  MemoryFlags flags(kFlags);
  Evaluation<std::string> s;
  flags.reader().evaluate(flags.reader().resolve("good"), flagd::Context{}, std::string_view("x"), s);
  CHECK(s.value == "x");
  CHECK(s.error == ErrorCode::TypeMismatch);
  CHECK(s.has_variant);
  CHECK(s.variant == "on");
}

namespace {

// Each answer below is flagd's Go engine's to this file (../shared/go-oracle).
constexpr std::string_view kReferences = R"({
  "$evaluators": {
    "obj": {"tier": "gold"},
    "vars": {"on": true, "off": false},
    "flagdef": {"state": "ENABLED", "variants": {"a": "A", "b": "B"}, "defaultVariant": "b"},
    "a<b": {"x": 1},
    "meta": {"team": "core"}
  },
  "flags": {
    "object-variant": {"state": "ENABLED", "variants": {"x": {"$ref": "obj"}}, "defaultVariant": "x"},
    "nested": {"state": "ENABLED", "variants": {"x": {"deep": [{"$ref": "obj"}, {"$ref": "missing"}]}},
               "defaultVariant": "x"},
    "whole-variants": {"state": "ENABLED", "variants": {"$ref": "vars"}, "defaultVariant": "on"},
    "whole-flag": {"$ref": "flagdef"},
    "escaped-name": {"state": "ENABLED", "variants": {"x": {"$ref": "a<b"}}, "defaultVariant": "x"},
    "two-members": {"state": "ENABLED", "variants": {"x": {"$ref": "obj", "more": 1}}, "defaultVariant": "x"},
    "meta-ref": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on", "metadata": {"$ref": "meta"}},
    "meta-value": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
                   "metadata": {"owner": {"$ref": "obj"}}}
  }
})";

std::string object_value(MemoryFlags& flags, std::string_view key) {
  Evaluation<std::string> out;
  flags.reader().evaluate_object(flags.reader().resolve(key), flagd::Context{}, "{}", out);
  return out.value;
}

}  // namespace

TEST_CASE("a $ref outside a rule is replaced by its evaluator, as flagd's textual substitution does") {
  MemoryFlags flags(kReferences);
  CHECK(object_value(flags, "object-variant") == R"({"tier":"gold"})");
  CHECK(object_value(flags, "nested") == R"({"deep":[{"tier":"gold"},{"$ref":"missing"}]})");
  const auto whole_variants = boolean(flags, "whole-variants");
  CHECK(whole_variants.value);
  CHECK(whole_variants.variant == "on");
  Evaluation<std::string> whole_flag;
  flags.reader().evaluate(flags.reader().resolve("whole-flag"), flagd::Context{}, std::string_view("d"), whole_flag);
  CHECK(whole_flag.value == "B");
  CHECK(whole_flag.variant == "b");

  std::vector<flagd::MetadataValue> metadata;
  REQUIRE(flags.reader().metadata(flags.reader().resolve("meta-ref"), metadata));
  REQUIRE(metadata.size() == 1);
  CHECK(metadata[0].key == "team");
  CHECK(metadata[0].value == decltype(metadata[0].value)(std::string("core")));
  REQUIRE(flags.reader().metadata(flags.reader().resolve("meta-value"), metadata));
  REQUIRE(metadata.size() == 1);
  CHECK(metadata[0].value == decltype(metadata[0].value)(flagd::MetadataJson{R"({"tier":"gold"})"}));
}

TEST_CASE("a $ref flagd cannot match in its text stays the object written") {
  MemoryFlags flags(kReferences);
  CHECK(object_value(flags, "escaped-name") == R"({"$ref":"a<b"})");  // JSON escapes '<'
  CHECK(object_value(flags, "two-members") == R"({"$ref":"obj","more":1})");
}

TEST_CASE("each $ref substituted outside a rule is reported, as the schema allows $ref only in rules") {
  const flagd::LoadResult loaded = flagd::load_flag_text(kReferences, "refs.json");
  REQUIRE(loaded.ok());
  std::vector<std::string> where;
  for (const auto& d : loaded.diagnostics)
    if (d.message.find("in the place of this $ref") != std::string::npos) where.push_back(d.json_path);
  std::sort(where.begin(), where.end());
  CHECK(where == std::vector<std::string>{"flags.meta-ref.metadata", "flags.meta-value.metadata.owner",
                                          "flags.nested.variants.x.deep[0]", "flags.object-variant.variants.x",
                                          "flags.whole-flag", "flags.whole-variants.variants"});
}

TEST_CASE("an evaluator that stands for the flags or a flag is taken as written: its own $refs stay") {
  // flagd puts an evaluator's text as written in the reference's place, so a reference written
  // in it with a space ({"$ref": "obj"}) is never substituted (answers from ../shared/go-oracle).
  constexpr std::string_view kEvaluators = R"("$evaluators": {"obj": {"t": 1}, "cond": {"==": [1, 1]},
    "all": {"f": {"state": "ENABLED", "variants": {"x": {"$ref": "obj"}}, "defaultVariant": "x"}},
    "flagdef": {"state": "ENABLED", "variants": {"x": "X", "y": "Y"}, "defaultVariant": "y",
                "targeting": {"if": [{"$ref": "cond"}, "x", "y"]}}})";
  MemoryFlags all("{" + std::string(kEvaluators) + R"(, "flags": {"$ref": "all"}})");
  CHECK(object_value(all, "f") == R"({"$ref":"obj"})");

  MemoryFlags one("{" + std::string(kEvaluators) + R"(, "flags": {"g": {"$ref": "flagdef"}}})");
  Evaluation<std::string> g;
  one.reader().evaluate(one.reader().resolve("g"), flagd::Context{}, std::string_view("d"), g);
  CHECK(g.reason == Reason::Error);
  CHECK(g.error == ErrorCode::ParseError);  // the $ref in its rule is an unknown operator
}

TEST_CASE("the set's metadata members are substituted before they merge, as flagd substitutes first") {
  // flagd's Go engine answers {"team": "core", "x": "1"} for this file.
  MemoryFlags flags(R"({"$evaluators": {"meta": {"team": "core"}}, "metadata": {"$ref": "meta"},
    "Metadata": {"x": "1"}, "flags": {"f": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}}})");
  std::vector<flagd::MetadataValue> metadata;
  REQUIRE(flags.reader().metadata(flags.reader().resolve("f"), metadata));
  std::vector<std::string> keys;
  for (const auto& m : metadata) keys.push_back(m.key);
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"team", "x"});
}
