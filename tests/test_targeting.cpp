// Targeting rules: every operator and quirk of the evaluation contract (shared semantics page),
// with flagd's Go evaluator as the reference where its engine differs from other JsonLogic ones.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <vector>

#include "flag_loader.hpp"
#include "memory_flags.hpp"

using flagd::Context;
using flagd::ErrorCode;
using flagd::Reason;

namespace {

// Names a rule's result can take in these tests; each is a variant whose value is its own name.
const char* const kNames[] = {"true", "false", "on", "off", "a", "b", "c", "yes", "no", "0", "1", "2",
                              "1000000", "0.0001", "1e-7", "j\xc3\xbc", "abcdef",
                              "3", "4", "5", "6", "7", "10", "-1", "-0", "0.5", "2.5", "1.5", "abc", "ab", "bc",
                              "cd", "hello", "x", "y", "z", "G", "S", "ab cd", "1000000000000000000000",
                              "1e+21", "-2", "12", "5.5", "20", "def", "de"};

std::string flags_with(std::string_view rule, std::string_view evaluators = "") {
  std::string variants;
  for (const char* name : kNames) variants += (variants.empty() ? "\"" : ",\"") + std::string(name) + "\":\"" + name + "\"";
  return std::string("{") + (evaluators.empty() ? "" : "\"$evaluators\": " + std::string(evaluators) + ",") +
         R"("flags": {"rule": {"state": "ENABLED", "variants": {)" + variants +
         R"(}, "defaultVariant": "S", "targeting": )" + std::string(rule) + "}}}";
}

// The outcome of a rule: the variant it named, "DEFAULT" (null), "STATIC:<variant>" (no rule),
// or "ERROR:<code>".
std::string outcome(std::string_view rule, const Context& context = Context{}, std::string_view evaluators = "") {
  flagd::test::MemoryFlags flags(flags_with(rule, evaluators));
  auto& r = flags.reader();
  flagd::Evaluation<std::string> e;
  r.evaluate(r.resolve("rule"), context, std::string_view("fallback"), e);
  if (e.reason == Reason::Error) return "ERROR:" + std::string(flagd::to_string(e.error));
  if (e.reason == Reason::Default) return "DEFAULT";
  if (e.reason == Reason::Static) return "STATIC:" + e.variant;
  REQUIRE(e.reason == Reason::TargetingMatch);
  REQUIRE(e.value == e.variant);
  return e.variant;
}

// The diagnostics loading the rule reports, as `flagctl validate` prints them (strict).
std::vector<std::string> diagnostics(std::string_view rule, std::string_view evaluators = "") {
  const flagd::LoadResult loaded = flagd::load_flag_text(flags_with(rule, evaluators), "flags.json");
  std::vector<std::string> out;
  for (const auto& d : loaded.diagnostics) out.push_back(flagd::format(d));
  return out;
}

bool contains(const std::vector<std::string>& lines, std::string_view part) {
  for (const auto& line : lines)
    if (line.find(part) != std::string::npos) return true;
  return false;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The outcome of a rule whose flag has exactly the variants `names` (each its own value), for
// names outside kNames: objects, arrays, escaped text.
std::string named(std::string_view rule, std::initializer_list<std::string_view> names, const Context& context = Context{}) {
  std::string variants = json_string("other") + ": \"other\"";
  for (std::string_view n : names) variants += "," + json_string(n) + ":" + json_string(n);
  flagd::test::MemoryFlags flags(R"({"flags": {"rule": {"state": "ENABLED", "variants": {)" + variants +
                                 R"(}, "defaultVariant": "other", "targeting": )" + std::string(rule) + "}}}");
  auto& r = flags.reader();
  flagd::Evaluation<std::string> e;
  r.evaluate(r.resolve("rule"), context, std::string_view("fallback"), e);
  if (e.reason == Reason::Error) return "ERROR:" + std::string(flagd::to_string(e.error));
  if (e.reason == Reason::Default) return "DEFAULT";
  return e.variant;
}

}  // namespace

TEST_CASE("results name variants: strings as-is, booleans and numbers as text, null the default") {
  CHECK(outcome(R"("on")") == "on");
  CHECK(outcome(R"({"if": [true, "a", "b"]})") == "a");
  CHECK(outcome(R"({"==": [1, 1]})") == "true");
  CHECK(outcome(R"({"+": [1, 1]})") == "2");
  CHECK(outcome(R"({"/": [1, 2]})") == "0.5");
  CHECK(outcome(R"({"-": [0]})") == "-0");  // as flagd's JSON encoding prints it
  CHECK(outcome(R"({"*": [1000, 1000]})") == "1000000");
  CHECK(outcome(R"({"/": [1, 10000]})") == "0.0001");
  CHECK(outcome(R"({"/": [1, 10000000]})") == "1e-7");
  CHECK(outcome(R"({"if": [false, "a"]})") == "DEFAULT");
  CHECK(outcome(R"(null)") == "DEFAULT");  // a rule answering null, as flagd's Go engine runs it
  CHECK(outcome(R"({})") == "STATIC:S");   // {} is no rule
  CHECK(outcome(R"("nope")") == "ERROR:GENERAL");  // names no variant
  CHECK(outcome(R"({"cat": ["a<", "b"]})") == "ERROR:GENERAL");  // JSON would escape '<'
  CHECK(outcome(R"({"/": [1, 0]})") == "ERROR:PARSE_ERROR");  // infinity cannot be a variant name
}

TEST_CASE("an array result names the variant of its JSON text without quotes, as flagd does") {
  // flagd encodes the result as JSON and strips every double quote: ["a",1] names "[a,1]".
  const auto name = [](std::string_view rule, const Context& context = Context{}) {
    const std::string json = std::string(R"({"flags": {"rule": {"state": "ENABLED", "variants": {
        "[a,1]": "arr", "[[true,null],-0,0.5]": "nested", "[x\\u003cy]": "html", "[\\]": "quote", "[]": "empty",
        "off": "off"}, "defaultVariant": "off", "targeting": )") + std::string(rule) + "}}}";
    flagd::test::MemoryFlags flags(json);
    auto& r = flags.reader();
    flagd::Evaluation<std::string> e;
    r.evaluate(r.resolve("rule"), context, std::string_view("fallback"), e);
    if (e.reason == Reason::Error) return "ERROR:" + std::string(flagd::to_string(e.error));
    return e.value;
  };
  CHECK(name(R"({"merge": [["a"], 1]})") == "arr");
  CHECK(name(R"({"merge": [[[true, null]], {"-": [0]}, 0.5]})") == "nested");  // -0 keeps its sign in Go
  CHECK(name(R"({"merge": [["x<y"]]})") == "html");      // encoding/json escapes < > &
  CHECK(name(R"({"merge": [["\""]]})") == "quote");      // "\"" encodes as \", and the quote goes
  CHECK(name(R"({"merge": []})") == "empty");
  CHECK(name(R"({"merge": [["b"]]})") == "ERROR:GENERAL");  // no variant "[b]"
  CHECK(name(R"({"merge": [[{"/": [1, 0]}]]})") == "ERROR:PARSE_ERROR");  // encoding/json rejects +Inf
  CHECK(name(R"({"merge": [[{"a": 1, "b": 2}]]})") == "ERROR:GENERAL");
}

TEST_CASE("reasons: TARGETING_MATCH, DEFAULT with and without a default variant, PARSE_ERROR") {
  flagd::test::MemoryFlags flags(R"({"flags": {
    "with-default": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                     "targeting": {"if": [{"==": [{"var": "tier"}, "gold"]}, "on", null]}},
    "without-default": {"state": "ENABLED", "variants": {"on": true, "off": false},
                        "targeting": {"if": [{"==": [{"var": "tier"}, "gold"]}, "on", null]}},
    "disabled": {"state": "DISABLED", "variants": {"on": true}, "defaultVariant": "on", "targeting": {"$ref": "x"}}}})");
  auto& r = flags.reader();
  Context gold, silver;
  gold.set("tier", "gold");
  silver.set("tier", "silver");
  flagd::Evaluation<bool> e;
  r.evaluate(r.resolve("with-default"), gold, false, e);
  CHECK(e.value);
  CHECK(e.reason == Reason::TargetingMatch);
  CHECK(e.variant == "on");
  r.evaluate(r.resolve("with-default"), silver, true, e);
  CHECK_FALSE(e.value);
  CHECK(e.reason == Reason::Default);
  CHECK(e.variant == "off");
  r.evaluate(r.resolve("without-default"), silver, true, e);
  CHECK(e.value);
  CHECK(e.reason == Reason::Default);
  CHECK_FALSE(e.has_variant);
  r.evaluate(r.resolve("disabled"), gold, false, e);  // targeting is not run
  CHECK(e.reason == Reason::Disabled);
  CHECK(r.get_bool(r.resolve("with-default"), gold, false));
  CHECK_FALSE(r.get_bool(r.resolve("with-default"), silver, true));
}

TEST_CASE("$ref: evaluators are expanded; a missing one fails with PARSE_ERROR") {
  const std::string evaluators = R"({"is_staff": {"ends_with": [{"var": "email"}, "@example.com"]}})";
  Context staff, other;
  staff.set("email", "ann@example.com");
  other.set("email", "bob@else.org");
  CHECK(outcome(R"({"if": [{"$ref": "is_staff"}, "yes", "no"]})", staff, evaluators) == "yes");
  CHECK(outcome(R"({"if": [{"$ref": "is_staff"}, "yes", "no"]})", other, evaluators) == "no");
  CHECK(outcome(R"({"if": [{"$ref": "nobody"}, "yes", "no"]})", staff, evaluators) == "ERROR:PARSE_ERROR");
}

TEST_CASE("var: dotted paths, defaults, lists, $flagd and the targeting key") {
  Context c;
  c.set("name", "abc").set_object("user").set("user.tier", 3.0).set_null("gone");
  const Context::Item tags[] = {Context::Item::of("x"), Context::Item::of("y")};
  c.set_list("tags", tags).set_targeting_key("hello");
  CHECK(outcome(R"({"var": "name"})", c) == "abc");
  CHECK(outcome(R"({"var": "user.tier"})", c) == "3");
  CHECK(outcome(R"({"var": "tags.1"})", c) == "y");
  CHECK(outcome(R"({"var": "targetingKey"})", c) == "hello");
  CHECK(outcome(R"({"var": ["missing", "b"]})", c) == "b");
  CHECK(outcome(R"({"var": ["gone", "b"]})", c) == "b");  // null is missing, as in flagd's engine
  CHECK(outcome(R"({"var": "missing"})", c) == "DEFAULT");
  CHECK(outcome(R"({"if": [{"var": "user"}, "yes", "no"]})", c) == "yes");
  CHECK(outcome(R"({"var": "$flagd.flagKey"})") == "ERROR:GENERAL");  // "rule" is no variant
  CHECK(outcome(R"({"if": [{"==": [{"var": "$flagd.flagKey"}, "rule"]}, "yes", "no"]})") == "yes");
  CHECK(outcome(R"({"if": [{">": [{"var": "$flagd.timestamp"}, 1700000000]}, "yes", "no"]})") == "yes");
  Context spoof;
  spoof.set("$flagd.flagKey", "other");
  CHECK(outcome(R"({"if": [{"==": [{"var": "$flagd.flagKey"}, "rule"]}, "yes", "no"]})", spoof) == "yes");
}

TEST_CASE("var skips empty path segments, as flagd's Go engine does") {
  Context c;
  c.set_object("user").set("user.tier", 3.0);
  CHECK(outcome(R"({"var": "user..tier"})", c) == "3");
  CHECK(outcome(R"({"var": ".user.tier"})", c) == "3");
  CHECK(outcome(R"({"var": "user.tier."})", c) == "3");
  CHECK(outcome(R"({"if": [{"var": "user."}, "yes", "no"]})", c) == "yes");  // the object itself
  CHECK(outcome(R"({"if": [{"==": [{"var": "$flagd..flagKey"}, "rule"]}, "yes", "no"]})") == "yes");
}

TEST_CASE("the flag key stays intact when the text around its first use is given back") {
  // Found by fuzz_load: the key, loaded inside a comparison whose boolean result releases the
  // rule's scratch text, was then overwritten by the next string ("zzzzzz") built there.
  flagd::test::MemoryFlags flags(R"({"flags": {"flag-a": {"state": "ENABLED",
    "variants": {"zzzzzzflag-a": "right", "zzzzzzzzzzzz": "wrong", "no": "no"}, "defaultVariant": "no",
    "targeting": {"if": [{"==": [{"var": "$flagd.flagKey"}, "flag-a"]},
                         {"cat": ["zzzzzz", {"var": "$flagd.flagKey"}]}, "no"]}}}})");
  auto& r = flags.reader();
  flagd::Evaluation<std::string> e;
  r.evaluate(r.resolve("flag-a"), Context{}, std::string_view("fallback"), e);
  CHECK(e.reason == Reason::TargetingMatch);
  CHECK(e.variant == "zzzzzzflag-a");
  CHECK(e.value == "right");
}

TEST_CASE("missing and missing_some") {
  Context c;
  c.set("a", "x").set("e", "").set_null("n");
  CHECK(outcome(R"({"if": [{"missing": ["a", "e"]}, "yes", "no"]})", c) == "no");  // "" is not missing
  CHECK(outcome(R"({"if": [{"missing": ["a", "n"]}, "yes", "no"]})", c) == "yes");  // null is
  CHECK(outcome(R"({"cat": {"missing": ["a", "b"]}})", c) == "b");  // a single operand's list is the operand list
  CHECK(outcome(R"({"if": [{"missing_some": [1, ["a", "b"]]}, "yes", "no"]})", c) == "no");
  CHECK(outcome(R"({"if": [{"missing_some": [2, ["a", "b"]]}, "yes", "no"]})", c) == "yes");
}

TEST_CASE("if, and, or, !, !! with JsonLogic's truthiness") {
  CHECK(outcome(R"({"if": []})") == "DEFAULT");
  CHECK(outcome(R"({"if": ["a"]})") == "a");
  CHECK(outcome(R"({"if": [false, "a", false, "b", "c"]})") == "c");
  CHECK(outcome(R"({"if": [0, "a", "b"]})") == "b");
  CHECK(outcome(R"({"if": ["", "a", "b"]})") == "b");
  CHECK(outcome(R"({"if": [[], "a", "b"]})") == "b");
  CHECK(outcome(R"({"if": ["0", "a", "b"]})") == "a");
  CHECK(outcome(R"({"if": [{"a": 1, "b": 2}, "a", "b"]})") == "a");  // two keys: a literal object
  CHECK(outcome(R"({"?:": [true, "a", "b"]})") == "a");
  CHECK(outcome(R"({"or": [false, 0, "x"]})") == "x");
  CHECK(outcome(R"({"or": [false, 0]})") == "0");
  CHECK(outcome(R"({"and": [1, "x"]})") == "x");
  CHECK(outcome(R"({"and": [1, 0, "x"]})") == "0");
  CHECK(outcome(R"({"!": [true]})") == "false");
  CHECK(outcome(R"({"!": [[]]})") == "true");
  CHECK(outcome(R"({"!!": ["0"]})") == "true");
  CHECK(outcome(R"({"!!": [[0]]})") == "true");  // of the first operand: [0], which is true
  // flagd's engine asserts if's operand is an array: anything else fails when it is reached.
  CHECK(outcome(R"({"if": true})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"?:": "a"})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"or": [true, {"if": "never reached"}]})") == "true");
}

TEST_CASE("equality and comparison coerce as flagd's engine does") {
  CHECK(outcome(R"({"==": ["1", 1]})") == "true");
  CHECK(outcome(R"({"==": [true, 1]})") == "true");
  CHECK(outcome(R"({"==": [null, 0]})") == "false");  // null equals only null
  CHECK(outcome(R"({"==": [null, null]})") == "true");
  CHECK(outcome(R"({"==": ["", 0]})") == "true");
  CHECK(outcome(R"({"==": [" 1", 1]})") == "false");
  CHECK(outcome(R"({"==": ["a", "a"]})") == "true");
  CHECK(outcome(R"({"===": ["1", 1]})") == "false");
  CHECK(outcome(R"({"===": [1, 1.0]})") == "true");
  CHECK(outcome(R"({"!=": ["a", "b"]})") == "true");
  CHECK(outcome(R"({"!==": [1, "1"]})") == "true");
  CHECK(outcome(R"({"<": [1, 2]})") == "true");
  CHECK(outcome(R"({"<": ["10", "9"]})") == "true");  // two strings: byte order
  CHECK(outcome(R"({"<": [null, 1]})") == "true");
  CHECK(outcome(R"({"<=": [null, 0]})") == "false");
  CHECK(outcome(R"({">=": [null, 0]})") == "false");
  CHECK(outcome(R"({"<": [1, 2, 3]})") == "true");
  CHECK(outcome(R"({"<": [1, 3, 3]})") == "false");
  CHECK(outcome(R"({"<=": [1, 3, 3]})") == "true");
  CHECK(outcome(R"({">": [3, 2]})") == "true");
  // Short of an operand (jsonlogic v3.9.1, as flagd runs it): false, and true for the negations.
  CHECK(outcome(R"({"==": [1]})") == "false");
  CHECK(outcome(R"({"==": []})") == "false");
  CHECK(outcome(R"({"<": [0]})") == "false");
  CHECK(outcome(R"({">=": [0]})") == "false");
  CHECK(outcome(R"({"===": [0]})") == "false");
  CHECK(outcome(R"({"!=": [0]})") == "true");
  CHECK(outcome(R"({"!==": []})") == "true");
  CHECK(outcome(R"({"<": ["+-5", 0]})") == "false");  // one sign only: not a number
  CHECK(outcome(R"({"<": ["1e400", 0]})") == "false");  // +Inf
  CHECK(outcome(R"({">": ["1e-400", -1]})") == "true");  // 0
}

TEST_CASE("arithmetic, min and max") {
  CHECK(outcome(R"({"+": [1, "2", 3]})") == "6");
  CHECK(outcome(R"({"+": "3"})") == "3");
  CHECK(outcome(R"({"-": [10, 2, 3]})") == "5");
  CHECK(outcome(R"({"-": [2]})") == "-2");
  CHECK(outcome(R"({"*": [2, 2.5]})") == "5");
  CHECK(outcome(R"({"/": [10, 4]})") == "2.5");
  CHECK(outcome(R"({"%": [7, 3]})") == "1");
  CHECK(outcome(R"({"%": [-7, 3]})") == "-1");
  CHECK(outcome(R"({"+": ["abc", 1]})") == "1");  // a non-number string counts 0
  CHECK(outcome(R"({"+": [null, 1]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"+": [true, 1]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"max": [1, 3, 2]})") == "3");
  CHECK(outcome(R"({"min": [1, "-1"]})") == "-1");
  CHECK(outcome(R"({"max": []})") == "DEFAULT");
  CHECK(outcome(R"({"if": [{">": [{"/": [1, 0]}, 5]}, "yes", "no"]})") == "yes");
}

TEST_CASE("- and / of no operands give Go's int 0, which == reads as 0 and === tells from 0.0") {
  // Each answer is flagd's Go engine's (../shared/go-oracle).
  CHECK(outcome(R"({"if": [{"==": [{"-": []}, 0]}, "yes", "no"]})") == "yes");
  CHECK(outcome(R"({"if": [{"===": [{"-": []}, 0]}, "yes", "no"]})") == "no");
  CHECK(outcome(R"({"if": [{"===": [{"/": []}, {"-": []}]}, "yes", "no"]})") == "yes");
  CHECK(outcome(R"({"if": [{"===": [{"if": [true, {"-": []}]}, 0]}, "yes", "no"]})") == "no");  // kept as given
  CHECK(outcome(R"({"if": [{"===": [{"+": [{"-": []}]}, 0]}, "yes", "no"]})") == "yes");  // arithmetic: a float64
  CHECK(outcome(R"({"if": [{"in": [{"-": []}, [0]]}, "yes", "no"]})") == "no");
  CHECK(outcome(R"({"if": [{"in": [0, [{"-": []}]]}, "yes", "no"]})") == "yes");
  CHECK(outcome(R"({"if": [{"===": [{"reduce": [[], {"var": "current"}, {"-": []}]}, 0]}, "yes", "no"]})") == "yes");
  Context c;
  c.set_targeting_key("u1");
  CHECK(outcome(R"({"fractional": [["a", {"-": []}], ["b", 1]]})", c) == "DEFAULT");  // no weight
  CHECK(outcome(R"({"fractional": [[{"/": []}, 1], ["b", 1]]})", c) == "DEFAULT");     // no variant
}

TEST_CASE("in, cat, substr, merge") {
  CHECK(outcome(R"({"if": [{"in": ["b", "abc"]}, "yes", "no"]})") == "yes");
  CHECK(outcome(R"({"if": [{"in": ["x", ["a", "x"]]}, "yes", "no"]})") == "yes");
  CHECK(outcome(R"({"if": [{"in": [1, ["1"]]}, "yes", "no"]})") == "yes");
  CHECK(outcome(R"({"if": [{"in": [5, [[1, 10]]]}, "yes", "no"]})") == "yes");  // a range
  CHECK(outcome(R"({"if": [{"in": ["a", null]}, "yes", "no"]})") == "no");
  CHECK(outcome(R"({"in": [1, "a1b"]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"cat": ["a", "b", "c"]})") == "abc");
  CHECK(outcome(R"({"cat": [" ab", " cd "]})") == "ab cd");  // two or more operands: trimmed
  CHECK(outcome(R"({"cat": [1, 2]})") == "12");
  CHECK(outcome(R"({"cat": [1e21]})") == "1000000000000000000000");
  CHECK(outcome(R"({"cat": ["a", null]})") == "a");
  CHECK(outcome(R"({"cat": ["a", true]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"substr": ["abcdef", 3]})") == "def");
  CHECK(outcome(R"({"substr": ["abcdef", -3, 2]})") == "de");
  CHECK(outcome(R"({"substr": ["abcdef", 1, -4]})") == "b");
  CHECK(outcome("{\"substr\": [\"j\xc3\xbcrgen\", 0, 2]}") == "j\xc3\xbc");  // code points
  CHECK(outcome(R"({"substr": ["abcdef", 9]})") == "abcdef");  // a start past the end: all of it
  CHECK(outcome(R"({"substr": ["abcdef", 4, -3]})") == "ERROR:PARSE_ERROR");  // crossing lengths fail
  CHECK(outcome(R"({"substr": ["abcdef", 0, 9e18]})") == "abcdef");
  CHECK(outcome(R"({"substr": ["abcdef", 0, 1e19]})") == "ERROR:PARSE_ERROR");  // int(1e19) is INT64_MIN in Go
  CHECK(outcome(R"({"substr": ["abcdef"]})") == "ERROR:PARSE_ERROR");  // no start: flagd's engine fails
  CHECK(outcome(R"({"substr": []})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"if": [{"in": ["x"]}, "yes", "no"]})") == "no");  // no haystack: not found
  CHECK(outcome(R"({"if": [{"in": []}, "yes", "no"]})") == "ERROR:PARSE_ERROR");
  // merge keeps null and objects as elements; only arrays are flattened.
  CHECK(outcome(R"({"if": [{"merge": [null]}, "yes", "no"]})") == "yes");
  CHECK(outcome(R"({"if": [{"merge": [{}]}, "yes", "no"]})") == "yes");
  CHECK(outcome(R"({"if": [{"in": [null, {"merge": [1, null]}]}, "yes", "no"]})") == "yes");
  CHECK(outcome("{\"cat\": [\"\xc2\xa0" "a\", \"b \"]}") == "ab");  // Go's TrimSpace set
  CHECK(outcome(R"({"if": [{"in": ["c", {"merge": [["a"], ["b", "c"]]}]}, "yes", "no"]})") == "yes");
}

TEST_CASE("map, filter, reduce, all, none, some over context lists") {
  Context c;
  const Context::Item numbers[] = {Context::Item::of(1.0), Context::Item::of(2.0), Context::Item::of(3.0)};
  c.set_list("n", numbers);
  CHECK(outcome(R"({"reduce": [{"var": "n"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]})", c) == "6");
  CHECK(outcome(R"({"reduce": [{"map": [{"var": "n"}, {"*": [{"var": ""}, 2]}]}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]})", c) == "12");
  CHECK(outcome(R"({"if": [{"in": [3, {"filter": [{"var": "n"}, {">": [{"var": ""}, 2]}]}]}, "yes", "no"]})", c) == "yes");
  CHECK(outcome(R"({"all": [{"var": "n"}, {">": [{"var": ""}, 0]}]})", c) == "true");
  CHECK(outcome(R"({"all": [[], {">": [{"var": ""}, 0]}]})", c) == "false");
  CHECK(outcome(R"({"none": [{"var": "n"}, {">": [{"var": ""}, 5]}]})", c) == "true");
  CHECK(outcome(R"({"some": [{"var": "n"}, {"==": [{"var": ""}, 2]}]})", c) == "true");
}

TEST_CASE("iteration follows flagd's engine: rewritten bodies, literal subjects, reduce's types") {
  Context c;
  const Context::Item numbers[] = {Context::Item::of(1.0), Context::Item::of(2.0), Context::Item::of(3.0)};
  c.set_list("n", numbers).set("id", 1.0).set("min", 1.0);
  // filter, none and some first replace each var the surrounding data resolves (not "" or ".x"):
  CHECK(outcome(R"({"some": [{"var": "n"}, {"==": [{"var": "id"}, 1]}]})", c) == "true");
  CHECK(outcome(R"({"if": [{"in": [1, {"filter": [{"var": "n"}, {">": [{"var": ""}, {"var": "min"}]}]}]}, "yes", "no"]})", c) == "no");
  CHECK(outcome(R"({"none": [{"var": "n"}, {"==": [{"var": "id"}, 1]}]})", c) == "false");
  CHECK(outcome(R"({"some": [["rule"], {"==": [{"var": ""}, {"var": "$flagd.flagKey"}]}]})", c) == "true");
  // ... and so do the filters they contain; map and all read the element only.
  CHECK(outcome(R"({"all": [{"map": [{"var": "n"}, {"var": "min"}]}, {"==": [{"var": ""}, null]}]})", c) == "true");
  CHECK(outcome(R"({"some": [[1], {"some": [[5], {"==": [{"var": "id"}, 1]}]}]})", c) == "true");
  // A body that is a lone var the rewrite replaces, or a constant, cannot be applied: an error.
  CHECK(outcome(R"({"some": [{"var": "n"}, {"var": "id"}]})", c) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"all": [{"var": "n"}, {"var": ["zz", true]}]})", c) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"some": [{"var": "n"}, true]})", c) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"some": [{"var": "n"}, {"var": ""}]})", c) == "true");
  // A literal object body is applied as it stands (an object of several members is itself),
  // unless the rewrite replaces it whole through a "var" member it resolves: then it is no
  // object to apply.
  CHECK(outcome(R"({"if": [{"none": [{"var": "n"}, {"var": "zz", "x": 1}]}, "yes", "no"]})", c) == "no");
  CHECK(outcome(R"({"none": [{"var": "n"}, {"var": "id", "x": 1}]})", c) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"some": [{"var": "n"}, {"var": "id", "x": 1}]})", c) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"if": [{"map": [{"var": "n"}, {"var": "id", "x": 1}]}, "yes", "no"]})", c) == "yes");
  CHECK(outcome(R"({"if": [{"filter": [{"var": "n"}, true]}, "yes", "no"]})", c) == "yes");
  // A literal array is iterated as written: an operation in it is an object, never evaluated.
  CHECK(outcome(R"({"if": [{"some": [[{"var": "id"}], {"==": [{"var": ""}, 1]}]}, "yes", "no"]})", c) == "no");
  CHECK(outcome(R"({"all": [[{"var": "nothing"}], {"!!": {"var": ""}}]})", c) == "true");
  // Another literal subject is nothing; an operation's value that is not an array is an error.
  CHECK(outcome(R"({"if": [{"filter": ["abc", true]}, "yes", "no"]})", c) == "no");
  CHECK(outcome(R"({"some": ["abc", true]})", c) == "false");
  CHECK(outcome(R"({"filter": [{"var": "id"}, true]})", c) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"some": [{"cat": ["a"]}, {"==": [1, 1]}]})", c) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"none": [{"cat": [""]}, {"==": [1, 1]}]})", c) == "true");
  // reduce: the initial value's type holds; null elements are skipped; no list gives 0.
  CHECK(outcome(R"({"reduce": [{"var": "n"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, "x"]})", c) == "6");
  CHECK(outcome(R"({"reduce": [[1e21], {"var": "current"}, ""]})", c) == "1000000000000000000000");
  CHECK(outcome(R"({"reduce": [{"var": "n"}, {"var": "current"}, false]})", c) == "true");
  CHECK(outcome(R"({"if": [{"==": [{"reduce": [[1], {"var": "valueType"}, "s"]}, "string"]}, "yes", "no"]})", c) == "yes");
  CHECK(outcome(R"({"reduce": [[null], {"var": "current"}, 5]})", c) == "5");
  CHECK(outcome(R"({"reduce": [{"var": "nothing"}, {"var": "current"}, 10]})", c) == "0");
  CHECK(outcome(R"({"reduce": [[1], {"var": "current"}]})", c) == "0");
  CHECK(outcome(R"({"reduce": [{"var": "n"}, {"var": "current"}, null]})", c) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"reduce": [[1], {"==": [1, 1]}, 0]})", c) == "ERROR:PARSE_ERROR");  // ToNumber(true)
  CHECK(outcome(R"({"reduce": [[1], 7, 0]})", c) == "ERROR:PARSE_ERROR");
}

TEST_CASE("starts_with and ends_with: two strings, else null") {
  Context c;
  c.set("email", "ann@example.com").set("n", 5.0);
  CHECK(outcome(R"({"if": [{"starts_with": [{"var": "email"}, "ann"]}, "yes", "no"]})", c) == "yes");
  CHECK(outcome(R"({"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "yes", "no"]})", c) == "yes");
  CHECK(outcome(R"({"ends_with": [{"var": "n"}, "5"]})", c) == "DEFAULT");
  CHECK(outcome(R"({"starts_with": ["a"]})", c) == "DEFAULT");
}

TEST_CASE("sem_ver: operators, partial versions, prefixes, pre-release order, invalid forms") {
  const auto is = [](std::string_view version, std::string_view op, std::string_view other) {
    Context c;
    c.set("v", version);
    return outcome(R"({"sem_ver": [{"var": "v"}, ")" + std::string(op) + R"(", ")" + std::string(other) + "\"]}", c);
  };
  CHECK(is("1.2.3", "=", "1.2.3") == "true");
  CHECK(is("v1.2.3", "=", "1.2.3") == "true");
  CHECK(is("V1.2.3", "=", "1.2.3") == "true");
  CHECK(is("1.2", "=", "1.2.0") == "true");
  CHECK(is("1", "=", "1.0.0") == "true");
  CHECK(is("1.2.3+build.5", "=", "1.2.3") == "true");
  CHECK(is("1.10.0", ">", "1.9.0") == "true");
  CHECK(is("1.0.0-alpha", "<", "1.0.0") == "true");
  CHECK(is("1.0.0-alpha", "<", "1.0.0-alpha.1") == "true");
  CHECK(is("1.0.0-alpha.1", "<", "1.0.0-alpha.beta") == "true");
  CHECK(is("1.0.0-beta.2", "<", "1.0.0-beta.11") == "true");
  CHECK(is("1.0.0-rc.1", "<", "1.0.0") == "true");
  CHECK(is("2.5.1", "^", "2.0.0") == "true");
  CHECK(is("3.0.0", "^", "2.0.0") == "false");
  CHECK(is("2.5.1", "~", "2.5.0") == "true");
  CHECK(is("2.6.0", "~", "2.5.0") == "false");
  CHECK(is("1.2.3", "!=", "1.2.4") == "true");
  CHECK(is("1.2.3", ">=", "1.2.3") == "true");
  CHECK(is("1.2.3", "<=", "1.2.2") == "false");
  CHECK(is("01.2.3", "=", "1.2.3") == "DEFAULT");   // leading zero
  CHECK(is("2.0.0.0", "=", "2.0.0") == "DEFAULT");  // a fourth part
  CHECK(is("1.2-beta", "=", "1.2.0") == "DEFAULT"); // partial with pre-release
  CHECK(is("1.2.3", "===", "1.2.3") == "DEFAULT");  // unknown operator
  CHECK(outcome(R"({"sem_ver": [1.2, "=", "1.2.0"]})") == "true");  // numbers as text
  CHECK(outcome(R"({"sem_ver": ["1.2.3", "="]})") == "DEFAULT");
}

TEST_CASE("fractional: the contract's vectors, keys and bucket forms") {
  const auto bucket = [](std::string_view flag, std::string_view rule, std::string_view targeting_key) {
    flagd::test::MemoryFlags flags(std::string(R"({"flags": {")") + std::string(flag) +
                                   R"(": {"state": "ENABLED", "variants": {"on": "on", "off": "off", "x": "x"},
                                   "defaultVariant": "x", "targeting": )" + std::string(rule) + "}}}");
    Context c;
    if (!targeting_key.empty()) c.set_targeting_key(targeting_key);
    flagd::Evaluation<std::string> e;
    flags.reader().evaluate(flags.reader().resolve(flag), c, std::string_view("?"), e);
    return e.reason == Reason::TargetingMatch ? e.variant : std::string(flagd::to_string(e.reason));
  };
  const std::string split = R"({"fractional": [["on", 25], ["off", 75]]})";
  CHECK(bucket("new-checkout", split, "user-123") == "off");  // b = 53
  CHECK(bucket("new-checkout", split, "user-456") == "off");  // b = 73
  CHECK(bucket("new-checkout", split, "") == "DEFAULT");      // no targeting key: null
  CHECK(bucket("new-checkout", R"({"fractional": [["on", 54], ["off", 46]]})", "user-123") == "on");
  CHECK(bucket("new-checkout", R"({"fractional": [["on", 53], ["off", 47]]})", "user-123") == "off");
  CHECK(bucket("f", R"({"fractional": [{"var": "missing"}, ["on", 100]]})", "k") == "on");  // null first: dropped
  CHECK(bucket("f", R"({"fractional": ["fixed-key", ["on", 1], ["off", 0]]})", "") == "on");
  CHECK(bucket("f", R"({"fractional": [["on"], ["off", null]]})", "k") != "DEFAULT");  // weight 1 each
  CHECK(bucket("f", R"({"fractional": [["on", 0], ["off", 0]]})", "k") == "DEFAULT");  // total 0
  CHECK(bucket("f", R"({"fractional": [["on", 1.5], ["off", 1]]})", "k") == "DEFAULT");  // not whole
  CHECK(bucket("f", R"({"fractional": [["on", -5], ["off", 1]]})", "k") == "off");  // negative: 0
  CHECK(bucket("f", R"({"fractional": [["on", 2147483647], ["off", 1]]})", "k") == "DEFAULT");  // total too big
  CHECK(bucket("f", R"({"fractional": []})", "k") == "DEFAULT");
}

TEST_CASE("the targeting key is found wherever and however the context sets it") {
  const char* rule = R"({"fractional": [["a", 1], ["b", 1], ["c", 1], ["abc", 1], ["x", 1], ["y", 1]]})";
  Context first, last, plain, reused;
  first.set_targeting_key("user-17").set("country", "DE");
  last.set("country", "DE").set("plan", "pro").set_targeting_key("user-17");
  plain.set("targetingKey", "user-17");
  const std::string expected = outcome(rule, first);
  CHECK(expected != "DEFAULT");
  CHECK(outcome(rule, last) == expected);
  CHECK(outcome(rule, plain) == expected);
  reused = last;
  reused.clear();
  reused.set("country", "DE");
  CHECK(outcome(rule, reused) == "DEFAULT");  // cleared: no targeting key any more
  reused.set("plan", "pro").set("targetingKey", "user-17");
  CHECK(outcome(rule, reused) == expected);
  reused.set_targeting_key("user-18");  // replaced in place
  CHECK(outcome(rule, reused) == outcome(rule, Context{}.set_targeting_key("user-18")));
}

TEST_CASE("fractional rollouts are sticky, monotonic and close to their weights") {
  const auto shares = [](int on_weight, std::vector<int>& assignment) {
    flagd::test::MemoryFlags flags(R"({"flags": {"rollout": {"state": "ENABLED", "variants": {"on": true, "off": false},
      "defaultVariant": "off", "targeting": {"fractional": [["on", )" + std::to_string(on_weight) + R"(], ["off", )" +
                                   std::to_string(100 - on_weight) + "]]}}}}");
    auto& r = flags.reader();
    const auto h = r.resolve("rollout");
    Context c;
    int on = 0;
    assignment.assign(100000, 0);
    std::string key;
    for (int i = 0; i < 100000; ++i) {
      key = "user-" + std::to_string(i);
      c.set_targeting_key(key);
      assignment[static_cast<std::size_t>(i)] = r.get_bool(h, c, false) ? 1 : 0;
      on += assignment[static_cast<std::size_t>(i)];
    }
    return on;
  };
  std::vector<int> at10, at10_again, at30;
  const int on10 = shares(10, at10);
  CHECK(shares(10, at10_again) == on10);
  CHECK(at10 == at10_again);  // sticky
  const int on30 = shares(30, at30);
  for (std::size_t i = 0; i < at10.size(); ++i)
    if (at10[i]) REQUIRE(at30[i]);  // raising the first weight only moves keys into it
  CHECK(std::abs(on10 - 10000) < 600);  // within a few standard deviations of the weight
  CHECK(std::abs(on30 - 30000) < 900);
}

TEST_CASE("long rules do not run out of scratch: 300 comparisons in a chain") {
  std::string chain = R"({"if": [{"or": [)";
  for (int i = 0; i < 300; ++i)
    chain += (i ? "," : "") + std::string(R"({"==": [{"var": "email"}, "user)") + std::to_string(i) + R"(@example.com"]})";
  chain += R"(]}, "yes", "no"]})";
  Context late, none;
  late.set("email", "user299@example.com");
  none.set("email", "nobody@example.com");
  CHECK(outcome(chain, late) == "yes");
  CHECK(outcome(chain, none) == "no");
}

TEST_CASE("a context built before a reload serves rules that reload adds") {
  flagd::test::MemoryFlags flags(R"({"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"}}})");
  Context c;
  c.set("region", "eu").set("tier", 7.0);
  auto& r = flags.reader();
  const auto h = r.resolve("f");
  CHECK_FALSE(r.get_bool(h, c, false));
  flags.publish(R"({"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"if": [{"and": [{"==": [{"var": "region"}, "eu"]}, {">": [{"var": "tier"}, 5]}]}, "on", "off"]}}}})");
  CHECK(r.get_bool(h, c, false));
}

TEST_CASE("get_bool with a context answers as the detailed evaluation does") {
  // The value-only form answers targeted flags from their fast forms inside the inline read; the
  // detailed form goes through the general evaluation. Both must agree, fallbacks included.
  flagd::test::MemoryFlags flags(R"({"flags": {
    "eq": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
           "targeting": {"if": [{"==": [{"var": "country"}, "DE"]}, "on", "off"]}},
    "ne-null": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on",
           "targeting": {"if": [{"!=": [{"var": "country"}, "DE"]}, "off", null]}},
    "no-default": {"state": "ENABLED", "variants": {"on": true, "off": false},
           "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on", null]}},
    "rollout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
           "targeting": {"fractional": [["on", 50], ["off", 50]]}},
    "computed": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
           "targeting": {"if": [{"in": ["DE", {"merge": [{"var": "country"}]}]}, "on", "off"]}},
    "version": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
           "targeting": {"if": [{"sem_ver": [{"var": "v"}, "^", "2.0.0"]}, "on", "off"]}},
    "text": {"state": "ENABLED", "variants": {"a": "a"}, "defaultVariant": "a",
           "targeting": {"if": [true, "a"]}},
    "off": {"state": "DISABLED", "variants": {"on": true}, "defaultVariant": "on",
           "targeting": {"if": [true, "on"]}}}})");
  auto& r = flags.reader();
  std::vector<Context> contexts(6);
  contexts[1].set("country", "DE").set("email", "ann@example.com").set("v", "2.3.1").set_targeting_key("u-1");
  contexts[2].set("country", "FR").set("email", "bob@corp.example").set("v", "1.9.0").set_targeting_key("u-2");
  contexts[3].set("country", 7.0).set("email", 3.0).set("v", "x");  // other types: the general path
  contexts[4].set_targeting_key("u-3").set("country", "DE");
  contexts[5].set("email", "@example.com").set("v", "v2");
  int answered = 0;
  for (const char* key : {"eq", "ne-null", "no-default", "rollout", "computed", "version", "text", "off", "missing"}) {
    const flagd::Handle h = r.resolve(key);
    for (const Context& c : contexts)
      for (bool fallback : {false, true}) {
        flagd::Evaluation<bool> e;
        r.evaluate(h, c, fallback, e);
        INFO(key << " fallback " << fallback);
        CHECK(r.get_bool(h, c, fallback) == e.value);
        answered += e.reason == Reason::TargetingMatch || e.reason == Reason::Default ? 1 : 0;
      }
  }
  CHECK(answered > 40);  // most of these are answered by rules, not by errors
}

// --- Rules flagd loads: what used to be load errors here ----------------------------------------

TEST_CASE("an unknown operator loads with a violation and fails only when evaluation reaches it") {
  const auto found = diagnostics(R"({"if": [{"var": "x"}, {"strats_with": [{"var": "e"}, "a"]}, "a"]})");
  REQUIRE(found.size() == 1);
  CHECK(found[0].rfind("flags.json:1:", 0) == 0);  // where: file, line and column
  CHECK(found[0].find(": error: flags.rule.targeting.if[1].strats_with: unknown operator \"strats_with\" (did you mean "
                      "\"starts_with\"?): flagd's engine fails the rule with PARSE_ERROR when evaluation reaches it") !=
        std::string::npos);
  const flagd::LoadResult loaded = flagd::load_flag_text(flags_with(R"({"frobnicate": 1})"), "flags.json");
  CHECK(loaded.ok());                                 // the daemon loads it, as flagd does
  CHECK_FALSE(loaded.ok(flagd::Strictness::Strict));  // validate and --strict refuse it
  Context x;
  x.set("x", true);
  CHECK(outcome(R"({"if": [{"var": "x"}, {"frobnicate": 1}, "a"]})") == "a");  // a lazy branch not taken
  CHECK(outcome(R"({"if": [{"var": "x"}, {"frobnicate": 1}, "a"]})", x) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"or": [true, {"nope": []}]})") == "true");
  CHECK(outcome(R"({"and": [false, {"nope": []}]})") == "false");
  CHECK(outcome(R"({"==": [1, {"nope": []}]})") == "ERROR:PARSE_ERROR");  // operands are evaluated first
  CHECK(contains(diagnostics(R"({"cta": ["a"]})"), "(did you mean \"cat\"?)"));
  CHECK_FALSE(contains(diagnostics(R"({"completely_unknown": ["a"]})"), "did you mean"));
}

TEST_CASE("operators short of operands or with too many load with a violation and answer as flagd's engine") {
  CHECK(contains(diagnostics(R"({"map": [[1]]})"), "\"map\" takes 2 operands, not 1: flagd's engine answers []"));
  CHECK(named(R"({"map": [[1]]})", {"[]"}) == "[]");
  CHECK(named(R"({"filter": []})", {"[]"}) == "[]");
  CHECK(named(R"({"map": [[1, 2], {"+": [{"var": ""}, 1]}, 5]})", {"[2,3]"}) == "[2,3]");  // extras ignored
  CHECK(outcome(R"({"reduce": [[1, 2], {"var": "current"}]})") == "0");
  CHECK(outcome(R"({"all": []})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"all": [[]]})") == "false");
  CHECK(outcome(R"({"all": [[1]]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"none": [[]]})") == "true");
  CHECK(outcome(R"({"none": [[1]]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"some": [[]]})") == "false");
  CHECK(outcome(R"({"all": [[1], {"var": ""}, 3]})") == "true");
  CHECK(contains(diagnostics(R"({"missing_some": [1]})"), "\"missing_some\" takes 2 operands, not 1"));
  CHECK(outcome(R"({"missing_some": [1]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"missing_some": [1, "a"]})") == "ERROR:PARSE_ERROR");  // the names must be a list
  CHECK(named(R"({"missing_some": [1, ["a"], 5]})", {"[a]"}) == "[a]");
  CHECK(outcome(R"({"%": [7, 4, true]})") == "3");  // only the first two are taken
  CHECK(outcome(R"({"%": [3]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"<": [3, 2, 1, 4]})") == "false");  // four: only the first two compared
  CHECK(outcome(R"({"<": [1, 2, 0, 4]})") == "true");
  CHECK(outcome(R"({"substr": ["abc", 0, 1, 5]})") == "abc");  // four: no length either
  CHECK(outcome(R"({"!": [0, {"+": [true]}]})") == "ERROR:PARSE_ERROR");  // every operand is evaluated
  CHECK(contains(diagnostics(R"({"!": [0, 1]})"), "\"!\" takes 1 operand, not 2"));
}

TEST_CASE("an operator written with one operand that is not an array takes that value's evaluation as its operands") {
  Context c;
  const Context::Item pair[] = {Context::Item::of(1.0), Context::Item::of("1")};
  const Context::Item words[] = {Context::Item::of("b"), Context::Item::of("abc")};
  const Context::Item zero[] = {Context::Item::of(0.0)};
  c.set_list("pair", pair).set_list("words", words).set_list("zero", zero).set("s", "x");
  CHECK(outcome(R"({"==": {"var": "pair"}})", c) == "true");
  CHECK(outcome(R"({"in": {"var": "words"}})", c) == "true");
  CHECK(outcome(R"({"+": {"var": "pair"}})", c) == "2");
  CHECK(named(R"({"cat": {"var": "words"}})", {"babc"}, c) == "babc");
  CHECK(outcome(R"({"==": 1})") == "ERROR:PARSE_ERROR");  // not a list
  CHECK(outcome(R"({"===": 1})") == "false");
  CHECK(outcome(R"({"!==": 1})") == "true");
  CHECK(outcome(R"({"in": "abc"})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"cat": "x"})") == "x");
  CHECK(outcome(R"({"cat": 1})") == "ERROR:PARSE_ERROR");
  CHECK(named(R"({"merge": 1})", {"[1]"}) == "[1]");
  CHECK(outcome(R"({"merge": null})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"-": 3})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"max": 3})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"starts_with": "abc"})") == "DEFAULT");
  CHECK(outcome(R"({"sem_ver": "1"})") == "DEFAULT");
  CHECK(outcome(R"({"fractional": "x"})") == "DEFAULT");
  CHECK(named(R"({"missing": "a"})", {"[a]"}) == "[a]");
  CHECK(outcome(R"({"missing": 1})") == "ERROR:PARSE_ERROR");
  CHECK(contains(diagnostics(R"({"==": 1})"), "\"==\" takes an array of operands, not a number: flagd's engine fails"));
  // and, or, if and the iterating operators take their array as written: anything else fails.
  CHECK(outcome(R"({"and": true})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"or": {"var": "s"}})", c) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"map": {"var": "pair"}})", c) == "ERROR:PARSE_ERROR");
  CHECK(contains(diagnostics(R"({"and": true})"), "\"and\" takes an array of operands, not a boolean"));
  CHECK(contains(diagnostics(R"({"if": "a"})"), "error: flags.rule.targeting.if: \"if\" takes an array of operands"));
}

TEST_CASE("var takes what flagd's engine takes: paths of strings and numbers, [path, default], computed paths") {
  Context c;
  const Context::Item pair[] = {Context::Item::of("q"), Context::Item::of("a")};
  c.set("ab", "a").set("p", "ab").set_list("pd", pair).set("q", "b").set_object("1").set("1.5", "c").set("-1", "x");
  CHECK(outcome(R"({"var": [1]})") == "ERROR:PARSE_ERROR");  // the array form's path must be a string
  CHECK(outcome(R"({"var": [1, "a"]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"var": 1.5})", c) == "c");   // the number printed, then split at its dot
  CHECK(outcome(R"({"var": -1})", c) == "x");
  CHECK(outcome(R"({"var": null})", c) == "DEFAULT");  // nothing, outside iteration bodies
  CHECK(outcome(R"({"var": true})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"var": {}})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"var": [null]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"var": {"cat": ["a", "b"]}})", c) == "a");  // a path computed at evaluation
  CHECK(outcome(R"({"var": {"var": "p"}})", c) == "a");
  CHECK(outcome(R"({"var": {"var": "pd"}})", c) == "b");  // [path, default], computed
  CHECK(outcome(R"({"var": ["zz", "a", "b"]})") == "DEFAULT");  // three operands: no default
  CHECK(outcome(R"({"var": ["ab", {"+": [true]}]})", c) == "ERROR:PARSE_ERROR");  // the default is evaluated first
  CHECK(outcome(R"({"var": ["zz", {"cat": ["a"]}]})", c) == "a");
  CHECK(contains(diagnostics(R"({"var": [1]})"), "a \"var\" path must be a string in var's array form, not a number"));
  CHECK(contains(diagnostics(R"({"var": ["a", "b", "c"]})"), "\"var\" takes a path and a default, not 3 operands"));
  CHECK(diagnostics(R"({"var": {"cat": ["a", "b"]}})").empty());  // a computed path is no mistake
}

TEST_CASE("$ref that flagd leaves unexpanded loads with a violation and fails when reached") {
  const std::string evaluators = R"({"e": {"==": [{"var": "x"}, 1]}, "nested": {"$ref": "e"}, "a<b": true})";
  CHECK(contains(diagnostics(R"({"$ref": "nope"})", evaluators),
                 "error: flags.rule.targeting.$ref: \"$ref\" names \"nope\", which is not in $evaluators"));
  CHECK(contains(diagnostics(R"({"$ref": 5})", evaluators), "\"$ref\" must name an evaluator (a string), not a number"));
  CHECK(contains(diagnostics(R"({"$ref": "nested"})", evaluators), "error: $evaluators.nested.$ref: \"$ref\" to \"e\" inside an evaluator"));
  CHECK(contains(diagnostics(R"({"$ref": "a<b"})", evaluators), "a name JSON escapes"));
  CHECK(outcome(R"({"$ref": 5})", Context{}, evaluators) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"if": [false, {"$ref": "nope"}, "a"]})", Context{}, evaluators) == "a");
  CHECK(outcome(R"({"$ref": "a<b"})", Context{}, evaluators) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"$ref": "nested"})", Context{}, evaluators) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"!": {"$ref": "e"}})", Context{}, evaluators) == "true");
}

// --- Operators jsonlogic v3.9.1 has beyond the classic set -------------------------------------

TEST_CASE("abs: of a number or of the first operand, as arithmetic coerces") {
  Context c;
  const Context::Item minus[] = {Context::Item::of(-3.0), Context::Item::of(2.0)};
  c.set_list("l", minus);
  CHECK(outcome(R"({"abs": -3})") == "3");
  CHECK(outcome(R"({"abs": [-3, 4]})") == "3");
  CHECK(outcome(R"({"abs": "-2.5"})") == "2.5");
  CHECK(outcome(R"({"abs": "x"})") == "0");  // a non-number string counts 0
  CHECK(outcome(R"({"abs": {"-": [0]}})") == "0");
  CHECK(outcome(R"({"abs": {"var": "l"}})", c) == "3");
  CHECK(outcome(R"({"abs": []})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"abs": null})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"abs": [true]})") == "ERROR:PARSE_ERROR");
}

TEST_CASE("set: a copy of an object with one key set, the value evaluated again") {
  Context c;
  c.set_object("o").set("o.a", 1.0).set_object("p").set("p.var", "z").set("z", 7.0);
  CHECK(named(R"({"set": [{"var": "o"}, "k", 1]})", {"{a:1,k:1}"}, c) == "{a:1,k:1}");
  CHECK(named(R"({"set": [{"var": "o"}, "a", "b"]})", {"{a:b}"}, c) == "{a:b}");  // replaced
  CHECK(named(R"({"set": [{"a": 1, "b": 2}, "0", [1, {"x": 1, "y": 2}]]})", {"{0:[1,{x:1,y:2}],a:1,b:2}"}) ==
        "{0:[1,{x:1,y:2}],a:1,b:2}");  // keys sorted, as flagd's engine encodes them
  CHECK(named(R"({"set": [{"var": "o"}, "k", {"var": "p"}]})", {"{a:1,k:7}"}, c) == "{a:1,k:7}");  // p applied
  CHECK(outcome(R"({"set": [{"var": "o"}, "k", {"var": "o"}]})", c) == "ERROR:PARSE_ERROR");  // "a" is no operator
  CHECK(named(R"({"set": [{"var": "o"}, "k"]})", {"{a:1}"}, c) == "{a:1}");  // fewer: the first
  CHECK(outcome(R"({"set": [1, 2]})") == "1");
  CHECK(outcome(R"({"set": []})") == "DEFAULT");
  CHECK(outcome(R"({"set": [5, "k", 1]})") == "5");  // not an object: itself
  CHECK(outcome(R"({"set": [{"var": "o"}, 1, 2]})", c) == "ERROR:PARSE_ERROR");  // the key must be a string
  CHECK(outcome(R"({"set": 5})") == "ERROR:PARSE_ERROR");
}

TEST_CASE("contains_all, contains_any, contains_none: two lists, elements compared as Go compares them") {
  CHECK(outcome(R"({"contains_all": [["a", "b", "c"], ["a", "b"]]})") == "true");
  CHECK(outcome(R"({"contains_all": [["a", "b"], ["a", "b", "c"]]})") == "false");
  CHECK(outcome(R"({"contains_all": [[1], []]})") == "true");
  CHECK(outcome(R"({"contains_all": [[1], [], 3]})") == "false");  // not two operands
  CHECK(outcome(R"({"contains_all": ["ab", ["a"]]})") == "false");  // not two lists
  CHECK(outcome(R"({"contains_any": [["a", "b"], ["x", "b"]]})") == "true");
  CHECK(outcome(R"({"contains_any": [[1, "a"], ["1"]]})") == "false");  // no coercion between kinds
  CHECK(outcome(R"({"contains_any": [[1, "a"], [1.0]]})") == "true");
  CHECK(outcome(R"({"contains_any": [[null], [null]]})") == "true");
  CHECK(outcome(R"({"contains_any": [[true], [1]]})") == "false");
  CHECK(outcome(R"({"contains_any": [[[1]], [[1]]]})") == "ERROR:PARSE_ERROR");  // Go cannot compare two lists
  CHECK(outcome(R"({"contains_none": [["a", "b"], ["x", "y"]]})") == "true");
  CHECK(outcome(R"({"contains_none": [["a", "b"], ["x", "b"]]})") == "false");
  CHECK(outcome(R"({"contains_none": [[1], "1"]})") == "true");
  CHECK(outcome(R"({"contains_none": 1})") == "true");
  CHECK(outcome(R"({"contains_all": 1})") == "false");
}

// --- Where this evaluator and flagd's Go engine used to disagree --------------------------------

TEST_CASE("! and !! unwrap an evaluated array only when written with a single operand") {
  Context c;
  const Context::Item zero[] = {Context::Item::of(0.0)};
  c.set_list("a", zero);
  CHECK(outcome(R"({"!": {"var": "a"}})", c) == "true");    // !0
  CHECK(outcome(R"({"!": [{"var": "a"}]})", c) == "false");  // ![0]
  CHECK(outcome(R"({"!": [[0]]})") == "false");
  CHECK(outcome(R"({"!!": {"var": "a"}})", c) == "false");
  CHECK(outcome(R"({"!!": [{"var": "a"}]})", c) == "true");
  CHECK(outcome(R"({"!": {"merge": [[0]]}})") == "true");
  CHECK(outcome(R"({"!": []})") == "true");
}

TEST_CASE("numeric strings out of range and Go's number syntax") {
  CHECK(outcome(R"({">": ["1e400", 1]})") == "false");  // comparisons: NaN
  CHECK(outcome(R"({"==": ["1e400", "1e400"]})") == "true");  // two strings: bytes
  CHECK(outcome(R"({"if": [{">": [{"+": ["1e400"]}, 1]}, "yes", "no"]})") == "yes");  // arithmetic: +Inf
  CHECK(outcome(R"({"+": ["0x1p3"]})") == "ERROR:GENERAL");  // 8: no variant "8"
  CHECK(outcome(R"({"if": [{"==": ["0x1p3", 8]}, "yes", "no"]})") == "yes");  // hexadecimal with an exponent
  CHECK(outcome(R"({"if": [{"==": ["0x10", 16]}, "yes", "no"]})") == "no");   // without one: not a number
  CHECK(outcome(R"({"if": [{"==": ["1_0", 10]}, "yes", "no"]})") == "yes");   // underscores between digits
  CHECK(outcome(R"({"if": [{"==": ["_10", 10]}, "yes", "no"]})") == "no");
  CHECK(outcome(R"({"if": [{"==": ["-nan", {"/": [0, 0]}]}, "yes", "no"]})") == "no");
  CHECK(outcome(R"({"if": [{"==": ["\u00a01", 1]}, "yes", "no"]})") == "no");  // only a blank string is 0
  CHECK(outcome(R"({"if": [{"==": ["\u2003", 0]}, "yes", "no"]})") == "yes");  // Unicode white space is blank
}

TEST_CASE("in reads list elements as numbers when the needle is one, and ranges as flagd's engine does") {
  CHECK(outcome(R"({"in": [0, ["a"]]})") == "true");  // "a" reads as 0
  CHECK(outcome(R"({"in": ["x", [[0, 1]]]})") == "true");  // so does the needle of a range
  CHECK(outcome(R"({"in": [1, [null]]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"in": [5, [[6, null]]]})") == "false");  // the high end is read only past the low one
  CHECK(outcome(R"({"in": [5, [[1, null]]]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"in": [1, [[0]]]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"in": [null, [null]]})") == "true");
  CHECK(outcome(R"({"in": [[1], [1]]})") == "false");
  Context c;
  c.set_object("o").set("o.b", 1.0);
  CHECK(outcome(R"({"in": [{"var": "o"}, [{"var": "o"}]]})", c) == "ERROR:PARSE_ERROR");  // two objects
  CHECK(outcome(R"({"in": [{"var": "o"}, ["x", 1]]})", c) == "false");
}

TEST_CASE("starts_with, ends_with and sem_ver evaluate every operand before counting them") {
  CHECK(outcome(R"({"starts_with": [{"+": [true]}]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"starts_with": ["a", "a", {"+": [true]}]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"ends_with": [{"+": [true]}]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"sem_ver": [{"+": [true]}, "="]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"starts_with": ["abc", "a", "x"]})") == "DEFAULT");
}

TEST_CASE("numbers become text as Go prints them, wherever they do") {
  CHECK(named(R"({"cat": ["a", 1234567890123456789]})", {"a1234567890123456800"}) == "a1234567890123456800");
  CHECK(named(R"({"cat": ["a", 0.0000001]})", {"a0.0000001"}) == "a0.0000001");
  CHECK(named(R"({"cat": ["a", 123456789012345678901234567890]})", {"a123456789012345680000000000000"}) ==
        "a123456789012345680000000000000");
  CHECK(named(R"(1234567890123456789)", {"1234567890123456800"}) == "1234567890123456800");  // variant names
  CHECK(named(R"({"+": [1e20, 1]})", {"100000000000000000000"}) == "100000000000000000000");
  CHECK(named(R"({"*": [1e21, 1]})", {"1e+21"}) == "1e+21");
  CHECK(named(R"({"/": [1, 3]})", {"0.3333333333333333"}) == "0.3333333333333333");
  CHECK(named(R"({"merge": [1e-7, 1e21, 0.5]})", {"[1e-7,1e+21,0.5]"}) == "[1e-7,1e+21,0.5]");
  CHECK(named(R"({"substr": [1e21, 1, 2]})", {"00"}) == "00");
  CHECK(named(R"({"reduce": [[1234567890123456789], {"var": "current"}, ""]})", {"1234567890123456800"}) ==
        "1234567890123456800");
  // sem_ver prints a number as fmt's %v: 1e+06 is no version.
  CHECK(outcome(R"({"sem_ver": [100000, "=", "100000.0.0"]})") == "true");
  CHECK(outcome(R"({"sem_ver": [1000000, "=", "1000000"]})") == "DEFAULT");
  CHECK(outcome(R"({"sem_ver": [1.5, "=", "1.5"]})") == "true");
  Context n;
  n.set("n", 1234567890123456789.0).set_object("1").set("1.5", "c");
  CHECK(named(R"({"cat": [{"var": "n"}, ""]})", {"1234567890123456800"}, n) == "1234567890123456800");
  CHECK(outcome(R"({"var": 1.5})", n) == "c");  // a path from a number
  // The fractional key is the flag key and the targeting key; a computed key prints numbers so.
  CHECK(named(R"({"fractional": [{"cat": [1e21]}, ["1000000000000000000000", 1]]})", {"1000000000000000000000"}) ==
        "1000000000000000000000");
}

TEST_CASE("objects name variants after their JSON text, keys sorted, without quotes") {
  Context c;
  c.set_object("o").set("o.b", "c").set("o.a", 1.0).set_object("o.n").set("o.n.z", "x<y");
  const Context::Item items[] = {Context::Item::of(1.0), Context::Item::of("q")};
  c.set_list("o.l", items);
  CHECK(named(R"({"var": "o"})", {"{a:1,b:c,l:[1,q],n:{z:x\\u003cy}}"}, c) == "{a:1,b:c,l:[1,q],n:{z:x\\u003cy}}");
  CHECK(named(R"({"var": "o.n"})", {"{z:x\\u003cy}"}, c) == "{z:x\\u003cy}");
  CHECK(named(R"({"if": [true, {"b": 2, "a": [1, {"c": null}]}]})", {"{a:[1,{c:null}],b:2}"}) == "{a:[1,{c:null}],b:2}");
  CHECK(named(R"({"merge": [[{"b": 1, "a": 2}], {}]})", {"[{a:2,b:1},{}]"}) == "[{a:2,b:1},{}]");
  CHECK(named(R"({"var": "$flagd.flagKey"})", {"rule"}) == "rule");
  CHECK(named(R"({"cat": ["a\"", "b"]})", {"a\\b"}) == "a\\b");  // \" loses its quote
  CHECK(named(R"({"cat": ["a<", "b"]})", {"a\\u003cb"}) == "a\\u003cb");
  CHECK(outcome(R"({"var": "o"})", c) == "ERROR:GENERAL");  // no such variant
}

TEST_CASE("an object an if branch gives is evaluated again as a rule") {
  Context c;
  c.set_object("o").set("o.on", 1.0);
  Context m;
  m.set_object("o").set("o.a", 1.0).set("o.b", 2.0);
  Context v;
  v.set_object("o").set("o.var", "z").set("z", "yes");
  Context e;
  const Context::Item pair[] = {Context::Item::of(1.0), Context::Item::of(1.0)};
  e.set_object("o").set_list("o.==", pair);
  CHECK(outcome(R"({"if": [true, {"var": "o"}]})", c) == "ERROR:PARSE_ERROR");  // "on" is no operator
  CHECK(named(R"({"if": [true, {"var": "o"}]})", {"{a:1,b:2}"}, m) == "{a:1,b:2}");  // two keys: a literal
  CHECK(outcome(R"({"if": [true, {"var": "o"}]})", v) == "yes");  // {"var": "z"}
  CHECK(outcome(R"({"?:": [false, "a", {"var": "o"}]})", v) == "yes");
  CHECK(outcome(R"({"if": [true, {"var": "o"}]})", e) == "true");  // {"==": [1, 1]}
  CHECK(outcome(R"({"if": [{"var": "o"}, "yes"]})", c) == "yes");  // a condition is not applied
  CHECK(named(R"({"and": [{"var": "o"}]})", {"{on:1}"}, c) == "{on:1}");  // nor is and's answer
  // An object from a literal list, and an if inside one evaluated twice.
  CHECK(named(R"({"map": [[{"map": [[1, 2], {"+": [{"var": ""}, 1]}]}], {"if": [true, {"var": ""}]}]})", {"[[2,3]]"}) ==
        "[[2,3]]");
  CHECK(outcome(R"({"map": [[{"nope": 1}], {"if": [true, {"var": ""}]}]})") == "ERROR:PARSE_ERROR");
  CHECK(named(R"({"map": [[{"if": [true, {"a": 1}]}], {"if": [true, {"var": ""}]}]})", {"[1]"}) != "[1]");
}

TEST_CASE("iteration bodies read into elements that are lists or objects") {
  CHECK(named(R"({"map": [[[1, 2], [3]], {"var": "1"}]})", {"[2,null]"}) == "[2,null]");
  CHECK(named(R"({"map": [[{"a": 1}, {"a": 2, "b": 3}], {"var": "a"}]})", {"[1,2]"}) == "[1,2]");
  CHECK(named(R"({"map": [[{"foo": 1}], {"var": "foo"}]})", {"[1]"}) == "[1]");  // a one-key object as data
  CHECK(named(R"({"map": [[{"a": {"b": [5, 6]}}], {"var": "a.b.1"}]})", {"[6]"}) == "[6]");
  CHECK(named(R"({"map": [[[1, 2]], {"var": "x"}]})", {"[1]"}) == "[1]");  // "x" reads as index 0
  CHECK(named(R"({"filter": [[{"a": 1}, {"a": 2}], {"==": [{"var": "a"}, 1]}]})", {"[{a:1}]"}) == "[{a:1}]");
  CHECK(named(R"({"reduce": [[[1, 2], [3]], {"+": [{"var": "current.0"}, {"var": "accumulator"}]}, 0]})", {"4"}) == "4");
  CHECK(named(R"({"map": [[1, null, "x"], {"var": null}]})", {"[1,null,x]"}) == "[1,null,x]");  // the element itself
  Context c;
  c.set_object("o").set("o.a", 5.0);
  CHECK(named(R"({"map": [{"merge": [[{"var": "o"}]]}, {"var": "a"}]})", {"[5]"}, c) == "[5]");
  CHECK(named(R"({"map": [[{"var": "o"}], {"var": "var"}]})", {"[o]"}, c) == "[o]");  // literal: not evaluated
}

TEST_CASE("rewritten bodies: values the rewrite puts in are evaluated again, subjects taken as written") {
  Context c;
  c.set("x", 1.0).set("s", "abc").set_object("p").set("p.var", "y").set("y", 2.0);
  CHECK(named(R"({"filter": [[1, 2], {"var": ".x"}]})", {"[]"}, c) == "[]");  // ".x" is the element's
  CHECK(named(R"({"filter": [[{"x": 0}, {"x": 1}], {"var": ".x"}]})", {"[{x:1}]"}, c) == "[{x:1}]");
  CHECK(named(R"({"filter": [[{"x": 0}, {"x": 1}], {"var": "x"}]})", {"[{x:0},{x:1}]"}, c) == "[{x:0},{x:1}]");
  CHECK(outcome(R"({"some": [["~"], {"some": [{"var": "s"}, true]}]})", c) == "false");  // "abc": no list
  // p's value {"var": "y"} is evaluated again against each element (1, 2), where y is nothing.
  CHECK(named(R"({"filter": [[1, 2], {"==": [{"var": "p"}, 2]}]})", {"[]"}, c) == "[]");
  CHECK(outcome(R"({"all": [[{"x": {"var": "y"}, "y": 5}], {"==": [{"var": "x"}, 5]}]})") == "true");
  CHECK(outcome(R"({"all": [[{"x": {"a": 1}}], {"!!": [{"var": "x"}]}]})") == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"map": [[{"x": {"a": 1}}], {"!!": [{"var": "x"}]}]})") == "ERROR:GENERAL");  // [true]: no variant
  // The rewrite evaluates var operands before anything runs, for an empty list too.
  CHECK(outcome(R"({"filter": [[], {"var": ["z", {"+": [true]}]}]})", c) == "ERROR:PARSE_ERROR");
  CHECK(outcome(R"({"map": [[], {"var": ["z", {"+": [true]}]}]})", c) == "ERROR:GENERAL");  // []: no variant
}

TEST_CASE("fractional reads the targeting key and the flag key from the data it runs on") {
  CHECK(named(R"({"map": [[{"targetingKey": "u1", "$flagd": {"flagKey": "zz"}}], {"fractional": [["x", 1]]}]})", {"[x]"}) == "[x]");
  CHECK(named(R"({"map": [[{"a": 1}], {"fractional": [["x", 1]]}]})", {"[null]"}) == "[null]");  // no targeting key
  CHECK(named(R"({"map": [[1], {"fractional": ["k", ["x", 1]]}]})", {"[null]"}) == "[null]");  // no object
  CHECK(named(R"({"map": [[{"a": 1}], {"fractional": ["k", ["x", 1]]}]})", {"[x]"}) == "[x]");
  Context c;
  c.set_targeting_key("user-123");
  CHECK(named(R"({"map": [[1], {"fractional": [["x", 1]]}]})", {"[null]"}, c) == "[null]");  // the element, not the context
}

TEST_CASE("fractional weights: whole numbers from -2^63 to 2^31 - 1") {
  CHECK(outcome(R"({"fractional": ["k", ["a", -9223372036854775808], ["b", 1]]})") == "b");
  CHECK(outcome(R"({"fractional": ["k", ["a", -9223372036854777856], ["b", 1]]})") == "DEFAULT");
  CHECK(outcome(R"({"fractional": ["k", ["a", -1e300], ["b", 1]]})") == "DEFAULT");
  CHECK(outcome(R"({"fractional": ["k", ["a", -4503599627370497], ["b", 1]]})") == "b");
}

TEST_CASE("sem_ver: build metadata may have leading zeros, parts any number of digits") {
  CHECK(outcome(R"({"sem_ver": ["1.0.0+01", "=", "1.0.0"]})") == "true");
  CHECK(outcome(R"({"sem_ver": ["1.0.0-01", "=", "1.0.0"]})") == "DEFAULT");
  CHECK(outcome(R"({"sem_ver": ["99999999999999999999999.0.0", ">", "99999999999999999999998.0.0"]})") == "true");
  CHECK(outcome(R"({"sem_ver": ["99999999999999999999999.0.0", ">", "1.0.0"]})") == "true");
  CHECK(outcome(R"({"sem_ver": ["1.99999999999999999999.0", "^", "1.0.0"]})") == "true");
  CHECK(outcome(R"({"sem_ver": ["1.99999999999999999999.0", "~", "1.99999999999999999998.5"]})") == "false");
  Context v;
  v.set("v", "123456789012345678901.0.0");
  CHECK(outcome(R"({"if": [{"sem_ver": [{"var": "v"}, ">", "2.4.0"]}, "yes", "no"]})", v) == "yes");
}

TEST_CASE("var paths that reach into a list read the segment as a number, as flagd's engine does") {
  Context c;
  const Context::Item items[] = {Context::Item::of("x"), Context::Item::of("y")};
  c.set_list("l", items).set_object("o").set_list("o.l", items).set("s", "str");
  CHECK(outcome(R"({"var": "l.x"})", c) == "x");   // 0
  CHECK(outcome(R"({"var": "l.1e0"})", c) == "y");
  CHECK(outcome(R"({"var": "l.01"})", c) == "y");
  CHECK(outcome(R"({"var": "l.-1"})", c) == "DEFAULT");
  CHECK(outcome(R"({"var": "l.1.a"})", c) == "DEFAULT");
  CHECK(outcome(R"({"var": "o.l.1"})", c) == "y");
  CHECK(outcome(R"({"var": "s.0"})", c) == "DEFAULT");
  CHECK(outcome(R"({"if": [{"==": [{"var": "l.x"}, "x"]}, "yes", "no"]})", c) == "yes");  // fused test, same answer
  CHECK(outcome(R"({"if": [{"in": [{"var": "o.l.z"}, ["x"]]}, "yes", "no"]})", c) == "yes");
}

TEST_CASE("the whole data and $flagd are objects") {
  Context c;
  c.set("s", "a");
  CHECK(outcome(R"({"if": [{"var": "$flagd"}, "yes", "no"]})") == "yes");
  CHECK(outcome(R"({"if": [{"var": ""}, "yes", "no"]})") == "yes");  // $flagd is always there
  CHECK(outcome(R"({"var": "$flagd.flagKey.x"})") == "DEFAULT");
  CHECK(outcome(R"({"var": ["$flagd.x", "a"]})") == "a");
  CHECK(outcome(R"({"if": [{"==": [{"var": "$flagd.timestamp"}, {"var": "$flagd.timestamp"}]}, "yes", "no"]})") == "yes");
  CHECK(outcome(R"({"if": [{"missing": ["$flagd.flagKey", "s"]}, "yes", "no"]})", c) == "no");
}

TEST_CASE("the empty path is the whole data, not an attribute of the empty key") {
  Context five, x, one, object, tk;
  five.set("", 5.0);
  x.set("", "x");
  one.set("", 1.0);
  object.set_object("").set_object("o").set("o.", 1.0);
  tk.set("", 0.0).set_targeting_key("a");
  CHECK(outcome(R"({"==": [{"var": ""}, 5]})", five) == "false");  // an object is no number
  CHECK(outcome(R"({"==": [{"var": "."}, "x"]})", x) == "false");
  CHECK(outcome(R"({"in": [{"var": ""}, ["x"]]})", x) == "false");
  CHECK(outcome(R"({"<": [{"var": ""}, 5]})", one) == "false");
  CHECK(outcome(R"({"if": [0, 0, {"var": ""}, "3"]})", object) == "3");  // the data holds {"": {}}
  CHECK(named(R"({"var": "o"})", {"{:1}"}, object) == "{:1}");       // an object's empty key
  CHECK(outcome(R"({"fractional": [["a"], [0, {"var": ""}]]})", tk) == "DEFAULT");  // an object weight
}
