// The loader's building blocks: the string-view hash table, the JSON parser's tokens, repeated
// keys and buffer reuse, and the stable index.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "json_parse.hpp"
#include "stable_index.hpp"
#include "string_view_table.hpp"

TEST_CASE("StringViewTable finds what it holds, through growth and collisions of length") {
  std::vector<std::string> keys;
  for (int i = 0; i < 20000; ++i) keys.push_back("flag-" + std::to_string(100000 + i));  // all one length
  flagd::StringViewTable<int> table(4);
  for (int i = 0; i < 20000; ++i) {
    const auto [value, inserted] = table.insert(keys[i], i);
    REQUIRE(inserted);
    REQUIRE(*value == i);
  }
  CHECK(table.size() == 20000);
  for (int i = 0; i < 20000; i += 997) {
    const int* found = table.find(keys[i]);
    REQUIRE(found != nullptr);
    CHECK(*found == i);
  }
  CHECK(table.find("flag-099999") == nullptr);
  CHECK(table.find("") == nullptr);
  const auto [existing, inserted] = table.insert(keys[5], -1);  // a key already there keeps its value
  CHECK_FALSE(inserted);
  CHECK(*existing == 5);
  table.clear(2);
  CHECK(table.size() == 0);
  CHECK(table.find(keys[5]) == nullptr);
  CHECK(table.insert("", 7).second);  // the empty key is a key like any other
  CHECK(*table.find("") == 7);
}

TEST_CASE("JsonParser numbers each value and key in source order and locates them on demand") {
  flagd::JsonParser parser;
  flagd::Diagnostic error;
  const std::string text = "{\"a\": [1, true],\n \"b\": {\"c\": null}}";
  const flagd::JsonValue* root = parser.parse(text, "t.json", error);
  REQUIRE(root != nullptr);
  REQUIRE(root->members().size() == 2);
  const flagd::JsonMember& a = root->members()[0];
  const flagd::JsonMember& b = root->members()[1];
  CHECK(a.key == "a");
  CHECK(parser.offset_of(root->token()) == 0);
  CHECK(parser.offset_of(a.key_token) == text.find("\"a\""));
  CHECK(parser.offset_of(a.value.token()) == text.find('['));
  CHECK(parser.offset_of(a.value.items()[1].token()) == text.find("true"));
  CHECK(parser.offset_of(b.key_token) == text.find("\"b\""));
  CHECK(parser.offset_of(b.value.members()[0].value.token()) == text.find("null"));
  CHECK_FALSE(parser.has_duplicate_keys());
}

TEST_CASE("JsonParser notices a repeated key in small and in large objects") {
  flagd::JsonParser parser;
  flagd::Diagnostic error;
  REQUIRE(parser.parse(R"({"x": {"k": 1, "j": 2, "k": 3}})", "t.json", error) != nullptr);
  CHECK(parser.has_duplicate_keys());
  std::string large = "{";
  for (int i = 0; i < 100; ++i) large += "\"key-" + std::to_string(i) + "\": " + std::to_string(i) + ",";
  REQUIRE(parser.parse(large + "\"end\": 0}", "t.json", error) != nullptr);
  CHECK_FALSE(parser.has_duplicate_keys());
  REQUIRE(parser.parse(large + "\"key-42\": 0}", "t.json", error) != nullptr);
  CHECK(parser.has_duplicate_keys());
}

TEST_CASE("JsonParser reuses its buffers: each parse stands alone") {
  flagd::JsonParser parser;
  flagd::Diagnostic error;
  std::string big = "[";
  for (int i = 0; i < 50000; ++i) big += "{\"n\": " + std::to_string(i) + ", \"s\": \"v" + std::to_string(i) + "\"},";
  big += "0]";
  const flagd::JsonValue* first = parser.parse(big, "big.json", error);
  REQUIRE(first != nullptr);
  CHECK(first->items().size() == 50001);
  CHECK(first->items()[49999].members()[1].value.text() == "v49999");

  CHECK(parser.parse("[1, 2", "broken.json", error) == nullptr);  // a failure in between
  CHECK(error.message.rfind("invalid JSON", 0) == 0);

  const std::string small = "{\"s\": \"after\"}";
  const flagd::JsonValue* second = parser.parse(small, "small.json", error);
  REQUIRE(second != nullptr);
  REQUIRE(second->members().size() == 1);
  CHECK(second->members()[0].value.text() == "after");
  CHECK(parser.offset_of(second->members()[0].value.token()) == small.find("\"after\""));
}

TEST_CASE("JsonParser reads padded text in place and unpadded text through a copy, alike") {
  flagd::JsonParser parser;
  flagd::Diagnostic error;
  std::string padded = R"({"k": "v"})";
  const std::size_t size = padded.size();
  padded.append(flagd::JsonParser::kPadding, '\0');
  const flagd::JsonValue* root = parser.parse(std::string_view(padded.data(), size), "p.json", error, true);
  REQUIRE(root != nullptr);
  CHECK(root->find("k")->text() == "v");
  root = parser.parse(R"({"k": "w"})", "u.json", error);
  REQUIRE(root != nullptr);
  CHECK(root->find("k")->text() == "w");
}

TEST_CASE("StableIndex keeps indices, and its lookups survive a move") {
  flagd::StableIndex index;
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) keys.push_back("k" + std::to_string(i));  // short: stored inside the string
  for (int i = 0; i < 5000; ++i) REQUIRE(index.assign(keys[i]) == static_cast<std::uint32_t>(i));
  CHECK(index.assign("k17") == 17);
  flagd::StableIndex moved = std::move(index);
  CHECK(moved.contains("k4999"));
  CHECK_FALSE(moved.contains("k5000"));
  CHECK(moved.assign("k4321") == 4321);
  CHECK(moved.assign("new") == 5000);
  CHECK(moved.keys()[5000] == "new");
}

#include "flag_fingerprint.hpp"
#include "flag_loader.hpp"

TEST_CASE("a flag's fingerprint changes with any part of its definition, and only then") {
  const auto print_of = [](std::string_view flag_json) {
    const flagd::LoadResult loaded = flagd::load_flag_text(std::string(R"({"flags": {"f": )") + std::string(flag_json) + "}}");
    REQUIRE(loaded.ok());
    return flagd::fingerprint(loaded.flags.flags.at(0));
  };
  const std::string base = R"({"state": "ENABLED", "variants": {"a": "x", "b": "y"}, "defaultVariant": "a",
      "targeting": {"if": [{"==": [{"var": "country"}, "DE"]}, "b", null]}, "metadata": {"owner": "team"}})";
  const std::uint64_t reference = print_of(base);
  CHECK(reference != 0);
  CHECK(print_of(base) == reference);
  // Layout alone (spaces, member order of the flag) changes nothing.
  CHECK(print_of(R"({"variants": {"a": "x", "b": "y"}, "state": "ENABLED", "defaultVariant": "a",
      "metadata": {"owner": "team"}, "targeting": {"if": [{"==": [{"var": "country"}, "DE"]}, "b", null]}})") == reference);
  const auto changed = [&](std::string_view from, std::string_view to) {
    std::string edited = base;
    const std::size_t at = edited.find(from);
    REQUIRE(at != std::string::npos);
    edited.replace(at, from.size(), to);
    return print_of(edited) != reference;
  };
  CHECK(changed("ENABLED", "DISABLED"));
  CHECK(changed(R"("b": "y")", R"("b": "z")"));
  CHECK(changed(R"("b": "y")", R"("c": "y")"));
  CHECK(changed(R"("defaultVariant": "a")", R"("defaultVariant": "b")"));
  CHECK(changed("\"DE\"", "\"FR\""));
  CHECK(changed("\"country\"", "\"region\""));
  CHECK(changed("\"==\"", "\"!=\""));
  CHECK(changed("\"team\"", "\"other\""));
}
