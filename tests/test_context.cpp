// The evaluation context: attributes found by key through its hash index (inline attributes) and
// by a scan (once they spill), by the library's lookups and by rules' fast forms alike.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "memory_flags.hpp"

using flagd::Context;

namespace {

std::vector<std::string> numbered(const char* prefix, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// One boolean flag per key: on when the attribute `key` equals `value`, the fast form's shape.
std::string equality_flags(const std::vector<std::string>& keys, const std::vector<std::string>& values) {
  std::string flags;
  for (std::size_t i = 0; i < keys.size(); ++i)
    flags += (flags.empty() ? "" : ",") + std::string("\"") + keys[i] +
             R"(": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                 "targeting": {"if": [{"==": [{"var": ")" + keys[i] + R"("}, ")" + values[i] + R"("]}, "on", "off"]}})";
  return R"({"flags": {)" + flags + "}}";
}

}  // namespace

TEST_CASE("every attribute is found by key, inline and after spilling to the heap") {
  // Keys of many lengths (around the 8-byte words) and more of them than fit inline.
  std::vector<std::string> keys = numbered("k", 40);
  for (std::string& k : numbered("a-much-longer-attribute-name-", 40)) keys.push_back(k);
  const std::vector<std::string> values = numbered("value-", static_cast<int>(keys.size()));
  Context c;
  for (std::size_t n = 0; n < keys.size(); ++n) {
    c.set(keys[n], values[n]);
    REQUIRE(c.size() == n + 1);
    for (std::size_t i = 0; i <= n; ++i) {  // every earlier key, whether inline or spilled now
      const Context::Attribute* a = c.find(keys[i]);
      REQUIRE(a != nullptr);
      CHECK(a->text == values[i]);
    }
    CHECK(c.find("absent") == nullptr);
    CHECK(c.find(keys[n] + "x") == nullptr);
  }
  CHECK(c.size() > Context::kInlineAttributes);
}

TEST_CASE("rules find the attributes they read in small and spilled contexts") {
  const std::vector<std::string> keys = numbered("attribute.", 50);
  const std::vector<std::string> values = numbered("v", 50);
  flagd::test::MemoryFlags flags(equality_flags(keys, values));
  auto& r = flags.reader();
  for (std::size_t size : {std::size_t{1}, std::size_t{5}, Context::kInlineAttributes, keys.size()}) {
    Context c;
    for (std::size_t i = 0; i < size; ++i) c.set(keys[i], values[i]);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      INFO("context of " << size << ", flag " << keys[i]);
      const flagd::Handle h = r.resolve(keys[i]);
      CHECK(r.get_bool(h, c, false) == (i < size));
      flagd::Evaluation<bool> e;
      r.evaluate(h, c, false, e);
      CHECK(e.value == (i < size));
    }
  }
}

TEST_CASE("setting a key again replaces its value; clear and copies keep the index right") {
  Context c;
  c.set("country", "DE").set("plan", "pro").set("tier", 3.0);
  c.set("country", "FR").set("tier", true);
  REQUIRE(c.size() == 3);
  CHECK(c.find("country")->text == "FR");
  CHECK(c.find("tier")->type == Context::Type::Bool);

  const Context copy = c;
  CHECK(copy.find("plan")->text == "pro");
  c.clear();
  CHECK(c.size() == 0);
  CHECK(c.find("country") == nullptr);
  CHECK(copy.find("country")->text == "FR");  // the copy has an index of its own

  c.set("plan", "team").set_targeting_key("user-1");
  CHECK(c.find("plan")->text == "team");
  CHECK(c.find("country") == nullptr);
  REQUIRE(c.targeting_key() != nullptr);
  CHECK(c.targeting_key()->text == "user-1");
  CHECK(c.find(Context::kTargetingKey) == c.targeting_key());

  // Filled past the inline attributes, cleared, and filled again inline.
  for (const std::string& k : numbered("key", 40)) c.set(k, 1.0);
  c.clear();
  c.set("key3", "again");
  CHECK(c.size() == 1);
  CHECK(c.find("key3")->text == "again");
  CHECK(c.find("key39") == nullptr);
}

namespace {

// Each answer below is flagd's Go engine's to the same rule and the context in JSON
// (../shared/go-oracle).
constexpr std::string_view kJsonFlags = R"({"flags": {
  "object-truthy": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                    "targeting": {"if": [{"var": "user"}, "on", "off"]}},
  "element-name": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                   "targeting": {"if": [{"==": [{"var": "items.1.name"}, "b"]}, "on", "off"]}},
  "nested-list": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                  "targeting": {"if": [{"in": ["x", {"var": "items.0"}]}, "on", "off"]}},
  "branch-applied": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                     "targeting": {"if": [{"var": "items.0"}]}},
  "whole-data": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                 "targeting": {"if": [{"set": [{"var": ""}, "k", 0]}, "on", "off"]}}
}})";

flagd::Evaluation<bool> boolean(flagd::test::MemoryFlags& flags, std::string_view key, const Context& c) {
  flagd::Evaluation<bool> out;
  flags.reader().evaluate(flags.reader().resolve(key), c, false, out);
  return out;
}

}  // namespace

TEST_CASE("a value set as JSON text is what rules read, whole and along paths") {
  flagd::test::MemoryFlags flags(kJsonFlags);
  Context c;
  // {"user": {"a.b": 1}}: no path reaches the member, yet the object holds it, so it is truthy.
  c.set_json("user", R"({"a.b":1})");
  CHECK(boolean(flags, "object-truthy", c).value);
  Context empty_object;
  empty_object.set_object("user");
  CHECK_FALSE(boolean(flags, "object-truthy", empty_object).value);

  // A list of objects and a list of lists: paths walk into them, the fast form's path included.
  c.set_json("items", R"([{"name":"a"},{"name":"b"}])");
  CHECK(boolean(flags, "element-name", c).value);
  CHECK(boolean(flags, "element-name", c).reason == flagd::Reason::TargetingMatch);
  c.set_json("items", R"([["x","y"]])");
  CHECK(boolean(flags, "nested-list", c).value);
  c.set_json("items", R"([["y"]])");
  CHECK_FALSE(boolean(flags, "nested-list", c).value);

  // An if's branch that gives an object applies it as a rule: {"var": "pick"} reads "on".
  c.set_json("items", R"([{"var":"pick"}])");
  c.set("pick", "on");
  const auto applied = boolean(flags, "branch-applied", c);
  CHECK(applied.value);
  CHECK(applied.variant == "on");
  CHECK(applied.reason == flagd::Reason::TargetingMatch);

  // The whole data, built as text around the JSON attributes, is an object set can work on.
  c.set_json("items", "[[]]");
  const auto whole = boolean(flags, "whole-data", c);
  CHECK(whole.value);
  CHECK(whole.reason == flagd::Reason::TargetingMatch);
}

TEST_CASE("a value set as JSON text is read where it lies: larger than the evaluator's scratch area") {
  flagd::test::MemoryFlags flags(kJsonFlags);
  std::string items = "[";
  for (int i = 0; i < 400; ++i) items += std::string(i ? "," : "") + R"({"name":")" + (i == 1 ? "b" : "a") + R"("})";
  items += "]";
  REQUIRE(items.size() > 4096);
  Context c;
  c.set_json("items", items);
  CHECK(boolean(flags, "element-name", c).value);
  CHECK(boolean(flags, "element-name", c).reason == flagd::Reason::TargetingMatch);
}

TEST_CASE("a value set as text that is not JSON fails the evaluations that read it") {
  flagd::test::MemoryFlags flags(kJsonFlags);
  Context c;
  c.set_json("items", "[{\"name\":");
  const auto e = boolean(flags, "element-name", c);
  CHECK_FALSE(e.value);
  CHECK(e.reason == flagd::Reason::Error);
  CHECK(e.error == flagd::ErrorCode::ParseError);
  CHECK(boolean(flags, "object-truthy", c).reason == flagd::Reason::TargetingMatch);  // reads no such attribute
}
