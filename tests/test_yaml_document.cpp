// YAML flag files: the JSON tree flagd's conversion gives (gopkg.in/yaml.v3, then encoding/json),
// the tokens and their positions, the errors and where they point.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "json_parse.hpp"
#include "yaml_document.hpp"
#include "yaml_scalar.hpp"

namespace {

// The compact JSON of a YAML text that must parse.
std::string json_of(const std::string& yaml) {
  flagd::YamlDocument doc;
  flagd::Diagnostic error;
  const flagd::JsonValue* root = doc.parse(yaml, "t.yaml", error);
  INFO(yaml << "\n -> " << flagd::format(error));
  REQUIRE(root != nullptr);
  return flagd::to_json(*root);
}

// The value of the top-level key `v` in "v: <scalar>", as JSON.
std::string scalar(const std::string& text) {
  const std::string json = json_of("v: " + text + "\n");
  REQUIRE(json.substr(0, 5) == "{\"v\":");
  return json.substr(5, json.size() - 6);
}

// The error a YAML text gives.
flagd::Diagnostic error_of(const std::string& yaml) {
  flagd::YamlDocument doc;
  flagd::Diagnostic error;
  INFO(yaml);
  REQUIRE(doc.parse(yaml, "bad.yaml", error) == nullptr);
  CHECK(error.file == "bad.yaml");
  CHECK_FALSE(error.message.empty());
  return error;
}

// Both trees alike: kinds, values, member order, and every value's and key's token.
void same_tree(const flagd::JsonValue& a, const flagd::JsonValue& b) {
  REQUIRE(a.kind() == b.kind());
  CHECK(a.token() == b.token());
  REQUIRE(a.items().size() == b.items().size());
  for (std::size_t i = 0; i < a.items().size(); ++i) same_tree(a.items()[i], b.items()[i]);
  REQUIRE(a.members().size() == b.members().size());
  for (std::size_t i = 0; i < a.members().size(); ++i) {
    CHECK(a.members()[i].key == b.members()[i].key);
    CHECK(a.members()[i].key_token == b.members()[i].key_token);
    same_tree(a.members()[i].value, b.members()[i].value);
  }
}

std::pair<std::uint32_t, std::uint32_t> where(const flagd::YamlDocument& doc, std::uint32_t token) {
  std::uint32_t line = 0, column = 0;
  doc.locate(token, line, column);
  return {line, column};
}

using Place = std::pair<std::uint32_t, std::uint32_t>;

}  // namespace

TEST_CASE("YAML nulls, booleans and strings read as yaml.v3 reads them") {
  for (const char* null : {"~", "null", "Null", "NULL", "", "!!null ''"}) CHECK(scalar(null) == "null");
  CHECK(scalar("true") == "true");
  CHECK(scalar("True") == "true");
  CHECK(scalar("FALSE") == "false");
  // YAML 1.1's booleans are strings in yaml.v3 (flagd's own test says so for on, off, yes, NO).
  for (const char* word : {"yes", "no", "on", "off", "y", "N", "Yes", "OFF", "tRUE"})
    CHECK(scalar(word) == std::string("\"") + word + "\"");
  CHECK(scalar("hello world") == "\"hello world\"");
  CHECK(scalar("\"true\"") == "\"true\"");
  CHECK(scalar("'12'") == "\"12\"");
  CHECK(scalar("!!str 12") == "\"12\"");
  CHECK(scalar("!!str") == "\"\"");
  CHECK(scalar("!custom 12") == "\"12\"");  // an unknown tag keeps the text
  CHECK(scalar("! 12") == "12");             // the non-specific tag: resolved as if untagged
  CHECK(scalar("! \"12\"") == "\"12\"");
  CHECK(json_of("a: !\nb: 1\n") == R"({"a":null,"b":1})");
  CHECK(scalar("\"tab\\there \\u00e9 \\x41\"") == "\"tab\\there \xC3\xA9 A\"");
  CHECK(scalar("'it''s'") == "\"it's\"");
  CHECK(json_of("v: |\n  line one\n  line two\n") == R"({"v":"line one\nline two\n"})");
  CHECK(json_of("v: >-\n  folded\n  text\n") == R"({"v":"folded text"})");
  CHECK(scalar("2024-13-01") == "\"2024-13-01\"");  // no such month: not a timestamp
  CHECK(scalar("<<") == "\"<<\"");                  // a merge key only as a key
  CHECK(scalar("!!binary aGVsbG8=") == "\"hello\"");
  CHECK(scalar("!!binary /w==") == "\"\xEF\xBF\xBD\"");  // not UTF-8: U+FFFD, as encoding/json writes it
}

TEST_CASE("YAML numbers are Go's: integers in any base, underscores, floats, big integers as doubles") {
  CHECK(scalar("12") == "12");
  CHECK(scalar("+12") == "12");
  CHECK(scalar("-7") == "-7");
  CHECK(scalar("0") == "0");
  CHECK(scalar("-0") == "0");  // an integer: no negative zero
  CHECK(scalar("0x10") == "16");
  CHECK(scalar("-0x1F") == "-31");
  CHECK(scalar("0o17") == "15");
  CHECK(scalar("017") == "15");  // YAML 1.1's octal, which yaml.v3 keeps
  CHECK(scalar("0b101") == "5");
  CHECK(scalar("-0b101") == "-5");
  CHECK(scalar("0b-1") == "-1");  // yaml.v3 parses what follows 0b on its own
  CHECK(scalar("1_000") == "1000");
  CHECK(scalar("1__0") == "10");
  CHECK(scalar("08") == "8");  // not octal, but a decimal float
  CHECK(scalar("1.5") == "1.5");
  CHECK(scalar("-.5") == "-0.5");
  CHECK(scalar(".5") == "0.5");
  CHECK(scalar(".5_0") == "0.5");  // Go's float syntax: '_' between digits
  CHECK(scalar("._5") == "\"._5\"");
  CHECK(scalar("1.") == "1");
  CHECK(scalar("1e3") == "1000");
  CHECK(scalar("-0.0") == "-0");
  CHECK(scalar("1e-400") == "0");            // underflow is zero, as in Go
  CHECK(scalar("1e400") == "\"1e400\"");     // overflow: Go's ParseFloat fails, the text stays a string
  CHECK(scalar("!!float 3") == "3");
  CHECK(scalar("9007199254740993") == "9007199254740992");      // int64, then a double
  CHECK(scalar("18446744073709551615") == "18446744073709551616");  // uint64, then 2^64
  CHECK(scalar("123456789012345678901234567890") == "1.2345678901234568e+29");  // a float
  CHECK(scalar("0x1FFFFFFFFFFFFFFFFF") == "\"0x1FFFFFFFFFFFFFFFFF\"");  // past 64 bits: a string
  CHECK(scalar("0x") == "\"0x\"");
  CHECK(scalar("1.2.3") == "\"1.2.3\"");
  CHECK(scalar("12abc") == "\"12abc\"");
  CHECK(scalar("+") == "\"+\"");
  CHECK(scalar("'1e3'") == "\"1e3\"");
}

TEST_CASE("YAML timestamps become the RFC 3339 strings Go's JSON encoder writes") {
  CHECK(scalar("2026-06-30") == "\"2026-06-30T00:00:00Z\"");
  CHECK(scalar("2001-12-14t21:59:43.10-05:00") == "\"2001-12-14T21:59:43.1-05:00\"");
  CHECK(scalar("2001-12-14T21:59:43Z") == "\"2001-12-14T21:59:43Z\"");
  CHECK(scalar("2001-12-14T21:59:43+00:00") == "\"2001-12-14T21:59:43Z\"");
  CHECK(scalar("2001-12-14 21:59:43.123456789123") == "\"2001-12-14T21:59:43.123456789Z\"");
  CHECK(scalar("2001-1-2T3:4:5Z") == "\"2001-01-02T03:04:05Z\"");
  CHECK(scalar("2024-02-29") == "\"2024-02-29T00:00:00Z\"");
  CHECK(scalar("2023-02-29") == "\"2023-02-29\"");                            // no such day
  CHECK(scalar("2001-12-14T21:59:43") == "\"2001-12-14T21:59:43\"");          // 'T' needs a zone
  CHECK(scalar("2001-12-14 21:59:43.10 -5") == "\"2001-12-14 21:59:43.10 -5\"");  // a layout Go lacks
  CHECK(scalar("\"2026-06-30\"") == "\"2026-06-30\"");
  CHECK(scalar("!!timestamp 2026-06-30") == "\"2026-06-30T00:00:00Z\"");
  const flagd::Diagnostic e = error_of("v: 2001-12-14T21:59:43+24:00\n");
  CHECK(e.message.find("24 hours") != std::string::npos);
  CHECK(e.line == 1);
  CHECK(e.column == 4);
}

TEST_CASE("YAML values JSON cannot hold, and tags their text does not fit, are errors where they stand") {
  for (const char* v : {".inf", "-.Inf", "+.INF", ".nan"}) {
    const flagd::Diagnostic e = error_of(std::string("flags:\n  a:\n    v: ") + v + "\n");
    CHECK(e.line == 3);
    CHECK(e.column == 8);
    CHECK(e.json_path == "flags.a.v");
    CHECK(e.message.find("finite") != std::string::npos);
  }
  const flagd::Diagnostic bad_bool = error_of("a: [1, !!bool yes]\n");
  CHECK(bad_bool.line == 1);
  CHECK(bad_bool.column == 8);
  CHECK(bad_bool.json_path == "a[1]");
  CHECK(bad_bool.message.find("!!bool") != std::string::npos);
  CHECK(error_of("a: !!int 1.5\n").message.find("!!int") != std::string::npos);
  CHECK(error_of("a: !!null x\n").message.find("!!null") != std::string::npos);
  CHECK(error_of("a: !!binary 'not base64!'\n").message.find("base64") != std::string::npos);
  CHECK(error_of("a: !!float 18446744073709551615\n").message.find("!!float") != std::string::npos);
}

TEST_CASE("YAML mappings and sequences nest, members in the order written") {
  CHECK(json_of("b: 1\na:\n  z: [1, two, {x: null}]\n  y:\n    - - 3\n    - {}\n    - []\n") ==
        R"({"b":1,"a":{"z":[1,"two",{"x":null}],"y":[[3],{},[]]}})");
  CHECK(json_of("- a\n- b: c\n  d: e\n") == R"(["a",{"b":"c","d":"e"}])");  // the loader refuses a non-object root
  CHECK(json_of("a:\nb: ~\n") == R"({"a":null,"b":null})");
  CHECK(json_of("---\na: 1\n...\n") == R"({"a":1})");
  CHECK(json_of("\xEF\xBB\xBF" "a: 1\n") == R"({"a":1})");  // a byte order mark
  CHECK(json_of("a: 1 # a comment\n# another\n") == R"({"a":1})");
}

TEST_CASE("YAML keys: the document's are their text, a nested non-string key is Go's %v of its value") {
  // flagd's own test: nested numeric keys become "1", "2".
  CHECK(json_of("v:\n  config:\n    1: first\n    2: second\n") == R"({"v":{"config":{"1":"first","2":"second"}}})");
  CHECK(json_of("on: A\noff: B\n") == R"({"on":"A","off":"B"})");
  CHECK(json_of("0x10: a\n") == R"({"0x10":"a"})");  // the document decodes into string keys
  CHECK(json_of("v: {0x10: a, 1.5: b, 1e6: c, true: d, ~: e, .inf: f, 0.00001: g, 123456.0: h}\n") ==
        R"({"v":{"16":"a","1.5":"b","1e+06":"c","true":"d","<nil>":"e","+Inf":"f","1e-05":"g","123456":"h"}})");
  CHECK(json_of("v: {2001-12-14: a, 2001-12-14T10:00:00+01:30: b}\n") ==
        R"({"v":{"2001-12-14 00:00:00 +0000 UTC":"a","2001-12-14 10:00:00 +0130 +0130":"b"}})");
  // A mapping whose keys are all strings keeps them as written, quoted or not.
  CHECK(json_of("v: {'1': a, b: c}\n") == R"({"v":{"1":"a","b":"c"}})");
}

TEST_CASE("YAML keys flagd drops or refuses") {
  flagd::YamlDocument doc;
  flagd::Diagnostic error;
  const flagd::JsonValue* root = doc.parse("a: 1\n~: 2\n", "t.yaml", error);
  REQUIRE(root != nullptr);
  CHECK(flagd::to_json(*root) == R"({"a":1})");
  REQUIRE(doc.violations().size() == 1);
  CHECK(doc.violations()[0].severity == flagd::Diagnostic::Severity::Violation);
  CHECK(doc.violations()[0].line == 2);
  CHECK(doc.violations()[0].column == 1);
  CHECK(doc.violations()[0].file == "t.yaml");

  const flagd::Diagnostic e = error_of("flags:\n  ? [a, b]\n  : 1\n");
  CHECK(e.line == 2);
  CHECK(e.column == 5);
  CHECK(e.json_path == "flags");
  CHECK(e.message.find("sequence") != std::string::npos);
  CHECK(error_of("v: {{a: 1}: 2}\n").message.find("mapping") != std::string::npos);
}

TEST_CASE("YAML tokens number values and keys in the JSON parser's pre-order, each at its line and column") {
  const std::string yaml =
      "flags:\n"                 // 1
      "  my-flag:\n"             // 2
      "    state: ENABLED\n"     // 3
      "    variants: {on: true, \"off\": false}\n"  // 4
      "    list:\n"              // 5
      "      - 1\n"              // 6
      "      - [x, 'y']\n";      // 7
  flagd::YamlDocument doc;
  flagd::Diagnostic error;
  const flagd::JsonValue* root = doc.parse(yaml, "t.yaml", error);
  REQUIRE(root != nullptr);
  CHECK(root->token() == 0);
  CHECK(where(doc, root->token()) == Place{1, 1});
  const flagd::JsonMember& flags = root->members()[0];
  CHECK(flags.key_token == 1);
  CHECK(where(doc, flags.key_token) == Place{1, 1});
  CHECK(flags.value.token() == 2);
  CHECK(where(doc, flags.value.token()) == Place{2, 3});
  const flagd::JsonMember& flag = flags.value.members()[0];
  CHECK(flag.key_token == 3);
  CHECK(where(doc, flag.key_token) == Place{2, 3});
  CHECK(where(doc, flag.value.token()) == Place{3, 5});
  const flagd::JsonMember& state = flag.value.members()[0];
  CHECK(where(doc, state.key_token) == Place{3, 5});
  CHECK(where(doc, state.value.token()) == Place{3, 12});
  const flagd::JsonMember& variants = flag.value.members()[1];
  CHECK(where(doc, variants.value.token()) == Place{4, 15});
  CHECK(where(doc, variants.value.members()[0].key_token) == Place{4, 16});
  CHECK(where(doc, variants.value.members()[0].value.token()) == Place{4, 20});
  CHECK(where(doc, variants.value.members()[1].key_token) == Place{4, 26});
  CHECK(where(doc, variants.value.members()[1].value.token()) == Place{4, 33});
  const flagd::JsonValue& list = flag.value.members()[2].value;
  CHECK(where(doc, list.token()) == Place{6, 7});
  CHECK(where(doc, list.items()[0].token()) == Place{6, 9});
  CHECK(where(doc, list.items()[1].token()) == Place{7, 9});
  CHECK(where(doc, list.items()[1].items()[1].token()) == Place{7, 13});
  CHECK(list.items()[1].items()[1].token() == 18);  // the last of 19 tokens
  CHECK(where(doc, 19) == Place{0, 0});
}

TEST_CASE("YAML repeated keys are kept for the loader to name, in small and large mappings") {
  flagd::YamlDocument doc;
  flagd::Diagnostic error;
  const flagd::JsonValue* root = doc.parse("a: 1\nb:\n  k: 1\n  \"k\": 2\n", "t.yaml", error);
  REQUIRE(root != nullptr);
  CHECK(doc.has_duplicate_keys());
  const flagd::JsonValue& b = root->members()[1].value;
  REQUIRE(b.members().size() == 2);
  CHECK(where(doc, b.members()[1].key_token) == Place{4, 3});
  // Keys that differ as written but not as flagd writes them: 1 and 0x1 are both "1".
  REQUIRE(doc.parse("v: {1: a, 0x1: b}\n", "t.yaml", error) != nullptr);
  CHECK(doc.has_duplicate_keys());
  std::string large;
  for (int i = 0; i < 100; ++i) large += "key-" + std::to_string(i) + ": " + std::to_string(i) + "\n";
  REQUIRE(doc.parse(large + "end: 0\n", "t.yaml", error) != nullptr);
  CHECK_FALSE(doc.has_duplicate_keys());
  REQUIRE(doc.parse(large + "key-42: 0\n", "t.yaml", error) != nullptr);
  CHECK(doc.has_duplicate_keys());
}

TEST_CASE("Invalid YAML is an error at the place the parser stopped") {
  const flagd::Diagnostic unclosed = error_of("flags:\n  a: [1, 2\n");
  CHECK(unclosed.line == 3);
  CHECK(unclosed.message.rfind("invalid YAML: ", 0) == 0);
  const flagd::Diagnostic indent = error_of("a: 1\n b: 2\n");
  CHECK(indent.line == 2);
  CHECK(indent.column == 3);
  const flagd::Diagnostic alias = error_of("a: 1\nb: *nowhere\n");
  CHECK(alias.line == 2);
  CHECK(alias.column == 4);
  const flagd::Diagnostic control = error_of("a: \"x\x01y\"\n");
  CHECK(control.line == 1);
  CHECK(control.column == 6);
  CHECK(control.message.find("U+0001") != std::string::npos);
  const flagd::Diagnostic utf8 = error_of("a: 1\nb: caf\xC3\n");
  CHECK(utf8.line == 2);
  CHECK(utf8.column == 7);
  CHECK(utf8.message.find("UTF-8") != std::string::npos);
  CHECK(error_of(std::string("\xFF\xFE" "a\0:\0", 6)).message.find("UTF-16") != std::string::npos);
  CHECK(error_of("").message == "the file is empty");
  CHECK(error_of("  \n\n").message == "the file holds only white space");
  CHECK(error_of("# only\n# comments\n").message.find("no YAML document") != std::string::npos);
  CHECK(error_of("a: \"\\ud800\"\n").line == 1);  // a surrogate escape
  CHECK(error_of("a: {b: 1}}\n").line == 1);
}

TEST_CASE("What yaml-cpp reads but flagd's parser (libyaml) refuses or reads otherwise is an error where it stands") {
  struct Case {
    const char* yaml;
    std::uint32_t line, column;
    const char* says;
  };
  const Case cases[] = {
      {"v: [a, , b]\n", 1, 8, "empty entry"},
      {"v: {a: 1, , b: 2}\n", 1, 11, "without a key"},
      {"a: 1\n: 2\n", 2, 1, "without a key"},
      {"a: 1\nb\n", 2, 1, "without ':'"},
      {"v: {x:, y}\n", 1, 6, "part of the key"},
      {"v: [x:]\n", 1, 6, "part of the key"},
      {"flags:\n{}\n", 2, 1, "indented more"},
      {"- key:\n  value\n", 2, 3, "without ':'"},
      {"a: 'not closed\nb: 2\n", 1, 4, "not closed"},
      {"a: \"x\\/y\"\n", 1, 6, "\\/"},
      {"a: &a.b 1\nb: *a.b\n", 1, 4, "anchor name"},
      {"a: !x{b: 1}\n", 1, 6, "followed by a space"},
      {"a: [!x]\n", 1, 5, "tag holding"},
      {"a: !e!x 1\n", 1, 4, "%TAG"},
      {"%FOO bar\n---\na: 1\n", 1, 1, "%FOO"},
      {"v: [:x]\n", 1, 5, "starting with ':'"},
      {"a:\n  -\t1\n", 2, 4, "tab"},
      {"[1]\n,\n", 2, 1, "unexpected ','"},  // yaml-cpp would report empty documents here forever
      {",\n", 1, 1, "unexpected ','"},
  };
  for (const Case& c : cases) {
    const flagd::Diagnostic e = error_of(c.yaml);
    INFO(c.yaml << " -> " << flagd::format(e));
    CHECK(e.line == c.line);
    CHECK(e.column == c.column);
    CHECK(e.message.find(c.says) != std::string::npos);
  }
  // Their neighbours that both parsers read alike.
  CHECK(json_of("v: {a: , b: 1}\n") == R"({"v":{"a":null,"b":1}})");
  CHECK(json_of("v: {a, b: 1}\n") == R"({"v":{"a":null,"b":1}})");
  CHECK(json_of("v: [a: ]\n") == R"({"v":[{"a":null}]})");
  CHECK(json_of("v: [a, ]\n") == R"({"v":["a"]})");
  CHECK(json_of("? a\n: 1\n") == R"({"a":1})");
  CHECK(json_of("a:\n- 1\n") == R"({"a":[1]})");
  CHECK(json_of("a: !!str\nb: 1\n") == R"({"a":"","b":1})");
  CHECK(json_of("a: &x\n  b: 1\nc: *x\n") == R"({"a":{"b":1},"c":{"b":1}})");
  CHECK(json_of("a: \"x\n%y\"\n") == R"({"a":"x %y"})");
  CHECK(json_of("%YAML 1.2\n---\na: 'it''s'\n") == R"({"a":"it's"})");
  CHECK(json_of("a: x:y\n") == R"({"a":"x:y"})");
  CHECK(scalar("\"\\N\\_\"") == "\"\xC2\x85\xC2\xA0\"");  // U+0085 and U+00A0, as UTF-8
}

TEST_CASE("Nesting is limited as in JSON files, also where an alias makes it deeper") {
  const auto nested = [](std::size_t levels) {
    std::string s;
    for (std::size_t i = 0; i < levels; ++i) s += "[";
    for (std::size_t i = 0; i < levels; ++i) s += "]";
    return s + "\n";
  };
  flagd::YamlDocument doc;
  flagd::Diagnostic error;
  CHECK(doc.parse(nested(64), "t.yaml", error) != nullptr);
  const flagd::Diagnostic deep = error_of(nested(65));
  CHECK(deep.line == 1);
  CHECK(deep.column == 65);
  CHECK(deep.message.find("nesting deeper than 64 levels") != std::string::npos);
  // The same limit, and the same place, as the JSON parser's.
  flagd::JsonParser json;
  flagd::Diagnostic json_error;
  REQUIRE(json.parse(nested(65), "t.json", json_error) == nullptr);
  CHECK(json_error.column == deep.column);
  CHECK(json.parse(nested(64), "t.json", json_error) != nullptr);
  // 40 levels anchored, copied 40 levels down: 80 in the JSON.
  const std::string forty = nested(40);
  const std::string yaml = "a: &deep " + forty + "b: " + std::string(40, '[') + "*deep" + std::string(40, ']') + "\n";
  const flagd::Diagnostic through_alias = error_of(yaml);
  CHECK(through_alias.message.find("nesting deeper") != std::string::npos);
  CHECK(through_alias.line == 2);  // at the alias that makes it so
  CHECK(through_alias.column == 44);
}

TEST_CASE("YAML aliases copy the anchored value, placed where it is written, the copy's first value at the alias") {
  const std::string yaml =
      "base: &variants\n"        // 1
      "  on: true\n"             // 2
      "  off: false\n"           // 3
      "copy: *variants\n"        // 4
      "list: [&n 7, *n, *n]\n";  // 5
  flagd::YamlDocument doc;
  flagd::Diagnostic error;
  const flagd::JsonValue* root = doc.parse(yaml, "t.yaml", error);
  REQUIRE(root != nullptr);
  CHECK(flagd::to_json(*root) == R"({"base":{"on":true,"off":false},"copy":{"on":true,"off":false},"list":[7,7,7]})");
  const flagd::JsonValue& copy = root->members()[1].value;
  CHECK(where(doc, copy.token()) == Place{4, 7});
  CHECK(where(doc, copy.members()[1].key_token) == Place{3, 3});
  CHECK(where(doc, copy.members()[1].value.token()) == Place{3, 8});
  CHECK(copy.token() != root->members()[0].value.token());  // tokens of their own, in pre-order
  CHECK(where(doc, root->members()[2].value.items()[2].token()) == Place{5, 18});
  CHECK_FALSE(doc.has_duplicate_keys());
  // An anchor redefined: later aliases name the later value.
  CHECK(json_of("a: &x 1\nb: &x 2\nc: *x\n") == R"({"a":1,"b":2,"c":2})");
  // An alias inside the value it names: yaml.v3 refuses it.
  const flagd::Diagnostic cycle = error_of("a: &x [1, *x]\n");
  CHECK(cycle.line == 1);
  CHECK(cycle.column == 11);
}

TEST_CASE("YAML merge keys add what the mapping does not set, earlier sources first, at the << key") {
  CHECK(json_of("base: &b {x: 1, y: 2}\nv:\n  a: 0\n  <<: *b\n  y: 3\n") ==
        R"({"base":{"x":1,"y":2},"v":{"a":0,"x":1,"y":3}})");
  CHECK(json_of("p: &p {x: 1}\nq: &q {x: 2, z: 2}\nv: {<<: [*p, *q], w: 0}\n") ==
        R"({"p":{"x":1},"q":{"x":2,"z":2},"v":{"x":1,"z":2,"w":0}})");
  CHECK(json_of("v: {<<: {k: inline}}\n") == R"({"v":{"k":"inline"}})");
  // A source's own keys come before what it merges in turn.
  CHECK(json_of("a: &a {k: deep, j: deep}\nb: &b {<<: *a, k: mid}\nv: {<<: *b}\n") ==
        R"({"a":{"k":"deep","j":"deep"},"b":{"j":"deep","k":"mid"},"v":{"j":"deep","k":"mid"}})");
  CHECK(json_of("v: {\"<<\": quoted}\n") == R"({"v":{"<<":"quoted"}})");  // a quoted << is a key
  const flagd::Diagnostic scalar_merge = error_of("v:\n  <<: 1\n");
  CHECK(scalar_merge.line == 2);
  CHECK(scalar_merge.column == 7);
  CHECK(error_of("s: &s [1]\nv: {<<: *s}\n").message.find("merge") != std::string::npos);
  CHECK(error_of("a: &a {x: 1}\nv: {<<: *a, <<: *a}\n").message.find("merge") != std::string::npos);
  // A chain of merges is bounded like nesting (each mapping merging the one before).
  std::string chain = "m0: &m0 {k0: 0}\n";
  for (int i = 1; i <= 70; ++i)
    chain += "m" + std::to_string(i) + ": &m" + std::to_string(i) + " {<<: *m" + std::to_string(i - 1) + ", k" +
             std::to_string(i) + ": " + std::to_string(i) + "}\n";
  CHECK(error_of(chain).message.find("merges nested deeper than 64 levels") != std::string::npos);
  CHECK(json_of("a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b}\n") ==
        R"({"a":{"x":1},"b":{"x":1,"y":2},"c":{"x":1,"y":2}})");
  // Merged positions are the source's.
  flagd::YamlDocument doc;
  flagd::Diagnostic error;
  const flagd::JsonValue* root = doc.parse("b: &b\n  x: 1\nv:\n  <<: *b\n", "t.yaml", error);
  REQUIRE(root != nullptr);
  const flagd::JsonMember& x = root->members()[1].value.members()[0];
  CHECK(where(doc, x.key_token) == Place{2, 3});
  CHECK(where(doc, x.value.token()) == Place{2, 6});
}

TEST_CASE("YAML aliases that expand into too much are refused, as yaml.v3 refuses them") {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    const char prev = static_cast<char>(c - 1);
    yaml += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) yaml += std::string(i ? ", " : "") + "*" + prev;
    yaml += "]\n";
  }
  const flagd::Diagnostic e = error_of(yaml);
  CHECK(e.message.find("aliasing") != std::string::npos);
  // Modest reuse is fine.
  CHECK(json_of("a: &a [1, 2]\nb: [*a, *a, *a]\n") == R"({"a":[1,2],"b":[[1,2],[1,2],[1,2]]})");
}

TEST_CASE("Only the first YAML document is read, as flagd reads it; what follows is a violation") {
  flagd::YamlDocument doc;
  flagd::Diagnostic error;
  const flagd::JsonValue* root = doc.parse("a: 1\n---\nb: 2\n", "t.yaml", error);
  REQUIRE(root != nullptr);
  CHECK(flagd::to_json(*root) == R"({"a":1})");
  REQUIRE(doc.violations().size() == 1);
  CHECK(doc.violations()[0].line == 2);
  CHECK(doc.violations()[0].message.find("first YAML document") != std::string::npos);
  // Not even read: a broken second document changes nothing but the violation.
  root = doc.parse("a: 1\n--- [\n", "t.yaml", error);
  REQUIRE(root != nullptr);
  CHECK(doc.violations().size() == 1);
  // A file ending in "---", or in empty documents, loses nothing.
  REQUIRE(doc.parse("a: 1\n---\n--- ~\n", "t.yaml", error) != nullptr);
  CHECK(doc.violations().empty());
}

TEST_CASE("A flagd flag file in YAML gives the tree of its JSON twin, tokens and all") {
  const std::string json = R"({
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "metadata": {"flagSetId": "payments", "version": "42"},
  "flags": {
    "new-checkout": {
      "state": "ENABLED",
      "variants": {"on": true, "off": false},
      "defaultVariant": "on",
      "metadata": {"owner": "payments", "expires": "2026-06-30T00:00:00Z", "weight": 1.5}
    },
    "max-order-qty": {
      "state": "ENABLED",
      "variants": {"cautious": 100, "normal": 5000},
      "defaultVariant": "normal"
    },
    "quote-theme": {
      "state": "ENABLED",
      "variants": {
        "dark": {"background": "#111111", "accent": "#33ff99", "sizes": [1, 2.5, null]},
        "light": {"background": "#ffffff", "accent": "#0055aa", "sizes": []}
      },
      "defaultVariant": "dark",
      "targeting": {"fractional": [{"cat": [{"var": "$flagd.flagKey"}, {"var": "email"}]}, ["dark", 50], ["light", 50]]}
    },
    "undecided": {
      "state": "DISABLED",
      "variants": {"on": true, "off": false},
      "defaultVariant": null
    },
    "fx-spread": {
      "state": "ENABLED",
      "variants": {"tight": 0.5, "standard": 1.5},
      "defaultVariant": "standard",
      "targeting": {"if": [{"$ref": "is-eu"}, "tight", "standard"]}
    }
  },
  "$evaluators": {
    "is-eu": {"in": [{"var": "region"}, ["eu-west", "eu-central"]]}
  }
})";
  const std::string yaml = R"(# The same flags, as an operator would write them in YAML.
$schema: https://flagd.dev/schema/v0/flags.json
metadata:
  flagSetId: payments
  version: "42"
flags:
  new-checkout:
    state: ENABLED
    variants: &on-off
      on: true
      off: false
    defaultVariant: on
    metadata:
      owner: payments
      expires: 2026-06-30    # a timestamp: flagd writes it as 2026-06-30T00:00:00Z
      weight: 1.5
  max-order-qty:
    state: ENABLED
    variants:
      cautious: 100
      normal: 5_000
    defaultVariant: normal
  quote-theme:
    state: ENABLED
    variants:
      dark: {background: '#111111', accent: "#33ff99", sizes: [1, 2.5, ~]}
      light:
        background: "#ffffff"
        accent: "#0055aa"
        sizes: []
    defaultVariant: dark
    targeting:
      fractional:
        - cat:
            - var: $flagd.flagKey
            - var: email
        - [dark, 50]
        - [light, 50]
  undecided:
    state: DISABLED
    variants: *on-off
    defaultVariant:
  fx-spread:
    state: ENABLED
    variants: {tight: 0.5, standard: 1.5}
    defaultVariant: standard
    targeting:
      if: [{$ref: is-eu}, tight, standard]
$evaluators:
  is-eu:
    in:
      - var: region
      - - eu-west
        - eu-central
)";
  flagd::JsonParser parser;
  flagd::YamlDocument doc;
  flagd::Diagnostic json_error, yaml_error;
  const flagd::JsonValue* from_json = parser.parse(json, "flags.json", json_error);
  const flagd::JsonValue* from_yaml = doc.parse(yaml, "flags.yaml", yaml_error);
  REQUIRE(from_json != nullptr);
  INFO(flagd::format(yaml_error));
  REQUIRE(from_yaml != nullptr);
  CHECK(flagd::to_json(*from_yaml) == flagd::to_json(*from_json));
  same_tree(*from_yaml, *from_json);
  CHECK_FALSE(doc.has_duplicate_keys());
  CHECK(doc.violations().empty());
  // A diagnostic about a flag's value points into the YAML.
  const flagd::JsonValue* theme = from_yaml->find("flags")->find("quote-theme");
  REQUIRE(theme != nullptr);
  CHECK(where(doc, theme->find("defaultVariant")->token()) == Place{31, 21});
  const flagd::JsonValue* undecided = from_yaml->find("flags")->find("undecided");
  CHECK(where(doc, undecided->find("variants")->token()) == Place{41, 15});
}

TEST_CASE("YAML parsing never throws, whatever prefix of a file it is given, and reuses nothing stale") {
  const std::string yaml =
      "flags:\n  a: &x {state: ENABLED, variants: {\"on\": true}, defaultVariant: 'on'}\n"
      "  b: *x\n  c:\n    <<: *x\n    targeting: {if: [{\"==\": [{var: k}, 1.5e3]}, \"on\", null]}\n"
      "  d: |\n    text\n  e: !!binary aGk=\n  f: [2001-12-14, 0x1F, ~, -.inf]\n";
  flagd::YamlDocument doc;
  std::size_t parsed = 0;
  for (std::size_t n = 0; n <= yaml.size(); ++n) {
    flagd::Diagnostic error;
    const flagd::JsonValue* root = nullptr;
    REQUIRE_NOTHROW(root = doc.parse(yaml.substr(0, n), "t.yaml", error));
    if (root != nullptr) {
      ++parsed;
      CHECK(!flagd::to_json(*root).empty());
    } else {
      CHECK_FALSE(error.message.empty());
    }
  }
  CHECK(parsed > yaml.size() / 4);
  flagd::Diagnostic error;
  const std::string small = "s: after\n";
  const flagd::JsonValue* root = doc.parse(small, "small.yaml", error);
  REQUIRE(root != nullptr);
  CHECK(flagd::to_json(*root) == R"({"s":"after"})");
  CHECK(where(doc, root->members()[0].value.token()) == Place{1, 4});
  CHECK(where(doc, 3) == Place{0, 0});
}

TEST_CASE("Go's %v of a float, for non-string keys, matches strconv's shortest 'g' form") {
  const auto key = [](double v) {
    flagd::GoScalar s;
    s.type = flagd::GoScalar::Type::Float;
    s.float_value = v;
    return flagd::go_key_text(s, "");
  };
  CHECK(key(1) == "1");
  CHECK(key(-2.5) == "-2.5");
  CHECK(key(100000) == "100000");
  CHECK(key(1e6) == "1e+06");
  CHECK(key(1234567) == "1.234567e+06");
  CHECK(key(0.0001) == "0.0001");
  CHECK(key(0.00001234) == "1.234e-05");
  CHECK(key(1e100) == "1e+100");
  CHECK(key(-0.0) == "-0");
  CHECK(key(0.1) == "0.1");
  CHECK(key(std::nan("")) == "NaN");
}
