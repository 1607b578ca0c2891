// The differ of flag definitions (flag_changes.hpp) that the daemon's log, its audit log and
// flagctl watch share: every kind of change, what a reader's partial facts can tell, and the
// line and JSON each change is written as.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "flag_changes.hpp"
#include "flag_loader.hpp"
#include "sha256.hpp"

namespace {

// The facts of the flags in `members` ("KEY": {...}, ...), loaded as the daemon loads them.
std::vector<flagd::FlagFacts> facts(const std::string& members) {
  const flagd::LoadResult loaded = flagd::load_flag_text(R"({"flags": {)" + members + "}}", "flags.json");
  INFO(members);
  REQUIRE(loaded.ok());
  return flagd::flag_facts(loaded.flags);
}

std::vector<flagd::FlagDiff> diff(const std::string& before, const std::string& after) {
  return flagd::diff_flags(facts(before), facts(after));
}

std::string json(const flagd::FlagDiff& d) {
  std::string out;
  flagd::append_json(out, d);
  return out;
}

const std::string kToggle = R"("t": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"})";

// A rule of about `bytes` bytes of compact JSON: a list of user ids.
std::string long_rule(std::size_t bytes) {
  std::string ids;
  for (int i = 0; ids.size() < bytes; ++i) ids += (ids.empty() ? "" : ",") + std::string("\"user-") + std::to_string(i) + "\"";
  return R"({"if": [{"in": [{"var": "user"}, [)" + ids + R"(]]}, "on", "off"]})";
}

}  // namespace

TEST_CASE("diff_flags: the same flags, or their variants and metadata in another order, are no change") {
  const std::string a = R"("f": {"state": "ENABLED", "variants": {"x": 1, "y": 2}, "defaultVariant": "x", "metadata": {"m": 1, "n": "v"}})";
  const std::string a_reordered = R"("f": {"state": "ENABLED", "variants": {"y": 2, "x": 1}, "defaultVariant": "x", "metadata": {"n": "v", "m": 1}})";
  CHECK(diff(a + "," + kToggle, kToggle + "," + a).empty());
  CHECK(diff(a, a_reordered).empty());
  CHECK(flagd::diff_flags({}, {}).empty());
}

TEST_CASE("diff_flags: added and removed flags, sorted by key; an added one says its state and default variant") {
  const std::string b = R"("b": {"state": "DISABLED", "variants": {"s": "t"}, "defaultVariant": "s"})";
  const std::vector<flagd::FlagDiff> d = diff(kToggle, b);
  REQUIRE(d.size() == 2);
  CHECK(d[0].key == "b");
  CHECK(d[0].kind == flagd::FlagDiff::Kind::Added);
  CHECK(d[0].state == flagd::TextChange{std::nullopt, "DISABLED"});
  CHECK(d[0].default_variant == flagd::TextChange{std::nullopt, "s"});
  CHECK(d[1].key == "t");
  CHECK(d[1].kind == flagd::FlagDiff::Kind::Removed);
  CHECK(flagd::describe(d[0]) == "flag 'b' added: DISABLED, default variant 's'");
  CHECK(flagd::describe(d[1]) == "flag 't' removed");
  CHECK(json(d[0]) == R"({"key":"b","change":"added","state":[null,"DISABLED"],"defaultVariant":[null,"s"]})");
  CHECK(json(d[1]) == R"({"key":"t","change":"removed"})");

  // Every flag of a first publication is added.
  const std::vector<flagd::FlagDiff> start = flagd::diff_flags({}, facts(kToggle + "," + b));
  REQUIRE(start.size() == 2);
  CHECK(start[0].kind == flagd::FlagDiff::Kind::Added);
  CHECK(start[1].kind == flagd::FlagDiff::Kind::Added);
}

TEST_CASE("diff_flags: state, default variant and type") {
  const std::vector<flagd::FlagDiff> d =
      diff(kToggle, R"("t": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"})");
  REQUIRE(d.size() == 1);
  CHECK(d[0].kind == flagd::FlagDiff::Kind::Changed);
  CHECK(d[0].state == flagd::TextChange{"ENABLED", "DISABLED"});
  CHECK(d[0].default_variant == flagd::TextChange{"off", "on"});
  CHECK_FALSE(d[0].type);
  CHECK(d[0].variants.empty());
  CHECK_FALSE(d[0].rule);
  CHECK_FALSE(d[0].unseen);
  CHECK(flagd::describe(d[0]) == "flag 't' changed: state ENABLED -> DISABLED; default variant 'off' -> 'on'");
  CHECK(json(d[0]) == R"({"key":"t","change":"changed","state":["ENABLED","DISABLED"],"defaultVariant":["off","on"],)"
                      R"("fingerprint":[")" + flagd::fingerprint_hex(d[0].fingerprint_before) + R"(",")" +
                          flagd::fingerprint_hex(d[0].fingerprint_after) + R"("]})");

  // A default variant that goes away, and variants of another type.
  std::vector<flagd::FlagFacts> before = facts(kToggle), after = facts(R"("t": {"state": "ENABLED", "variants": {"on": "yes", "off": "no"}, "defaultVariant": "off"})");
  after[0].default_variant.reset();
  const std::vector<flagd::FlagDiff> e = flagd::diff_flags(before, after);
  REQUIRE(e.size() == 1);
  CHECK(e[0].default_variant == flagd::TextChange{"off", std::nullopt});
  CHECK(e[0].type == flagd::TextChange{"boolean", "string"});
  CHECK(flagd::describe(e[0]) == R"(flag 't' changed: default variant 'off' -> none; type boolean -> string; variants ~off (false -> "no"), ~on (true -> "yes"))");
  CHECK(json(e[0]).find(R"("defaultVariant":["off",null],"type":["boolean","string"],"variants":{"changed":{"off":[false,"no"],"on":[true,"yes"]}})") !=
        std::string::npos);
}

TEST_CASE("diff_flags: variants added, removed and given another value; long values are named only") {
  const std::string long_value(60, 'z');
  const std::vector<flagd::FlagDiff> d =
      diff(R"("f": {"state": "ENABLED", "variants": {"a": 1, "b": 2, "c": "short", "gone": 4}, "defaultVariant": "a"})",
           R"("f": {"state": "ENABLED", "variants": {"a": 1, "b": 3, "c": ")" + long_value + R"(", "new": 5}, "defaultVariant": "a"})");
  REQUIRE(d.size() == 1);
  using K = flagd::PartChange::Kind;
  const std::vector<flagd::PartChange> expected{
      {K::Changed, "b", "2", "3"}, {K::Changed, "c", "\"short\"", "\"" + long_value + "\""}, {K::Removed, "gone", "4", std::nullopt},
      {K::Added, "new", std::nullopt, "5"}};
  CHECK(d[0].variants == expected);
  CHECK(flagd::describe(d[0]) == "flag 'f' changed: variants ~b (2 -> 3), ~c, -gone, +new (5)");
  CHECK(json(d[0]).find(R"("variants":{"added":{"new":5},"removed":{"gone":4},"changed":{"b":[2,3],"c":["short",")" + long_value + R"("]}})") !=
        std::string::npos);
}

TEST_CASE("diff_flags: rules added, changed and removed; a short rule is shown, a long one named by its fingerprint") {
  const std::string with_rule = R"("t": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                                         "targeting": {"if": [{"==": [{"var": "tier"}, "gold"]}, "on", "off"]}})";
  const std::string compact = R"({"if":[{"==":[{"var":"tier"},"gold"]},"on","off"]})";
  const std::vector<flagd::FlagDiff> added = diff(kToggle, with_rule);
  REQUIRE(added.size() == 1);
  CHECK(added[0].rule == flagd::TextChange{"", compact});
  CHECK(flagd::describe(added[0]) == "flag 't' changed: rule none -> " + compact);
  CHECK(json(added[0]).find(R"("rule":{"fingerprint":[null,")" + flagd::rule_fingerprint(compact) + R"("],"before":null,"after":)" + compact + "}") !=
        std::string::npos);

  const std::vector<flagd::FlagDiff> removed = diff(with_rule, kToggle);
  REQUIRE(removed.size() == 1);
  CHECK(flagd::describe(removed[0]) == "flag 't' changed: rule " + compact + " -> none");

  const std::string toggle_with = R"("t": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off", "targeting": )";
  const std::vector<flagd::FlagFacts> long_before = facts(toggle_with + long_rule(200) + "}");
  const std::vector<flagd::FlagFacts> long_after = facts(toggle_with + long_rule(300) + "}");
  const std::vector<flagd::FlagDiff> changed = flagd::diff_flags(long_before, long_after);
  REQUIRE(changed.size() == 1);
  REQUIRE(changed[0].rule);
  CHECK(flagd::describe(changed[0]) == "flag 't' changed: rule changed (fingerprint " + flagd::rule_fingerprint(*long_before[0].rule) +
                                           " -> " + flagd::rule_fingerprint(*long_after[0].rule) + ")");
  // Up to kLoggedRuleBytes the audit line holds the texts, beyond only their fingerprints.
  CHECK(json(changed[0]).find(R"("before":)" + *long_before[0].rule) != std::string::npos);
  const std::vector<flagd::FlagFacts> huge = facts(toggle_with + long_rule(flagd::kLoggedRuleBytes + 100) + "}");
  const std::string huge_json = json(flagd::diff_flags(long_before, huge).at(0));
  CHECK(huge_json.find(R"("before":)" + *long_before[0].rule) != std::string::npos);
  CHECK(huge_json.find(R"("after":)") == std::string::npos);
  CHECK(huge_json.find(flagd::rule_fingerprint(*huge[0].rule)) != std::string::npos);
}

TEST_CASE("rule_fingerprint is the start of the SHA-256 of the rule's compact JSON") {
  const std::string rule = R"({"if":[true,"on","off"]})";
  flagd::Sha256 digest;
  digest.update(rule);
  CHECK(flagd::rule_fingerprint(rule) == flagd::to_hex(digest.finish()).substr(0, 16));
  CHECK(flagd::rule_fingerprint("") == "none");
}

TEST_CASE("diff_flags: metadata keys added, removed and changed") {
  const std::vector<flagd::FlagDiff> d =
      diff(R"("f": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "metadata": {"owner": "x", "old": true, "version": 1}})",
           R"("f": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "metadata": {"owner": "y", "team": "t", "version": 1}})");
  REQUIRE(d.size() == 1);
  CHECK(flagd::describe(d[0]) == R"(flag 'f' changed: metadata -old, ~owner ("x" -> "y"), +team ("t"))");
  CHECK(json(d[0]).find(R"("metadata":{"added":{"team":"t"},"removed":{"old":true},"changed":{"owner":["x","y"]}})") != std::string::npos);
}

TEST_CASE("diff_flags on a reader's facts: what it cannot see is judged by the fingerprint") {
  // As flagctl watch builds them: no rule text, no variant values.
  const auto reader_facts = [](std::vector<flagd::FlagFacts> all) {
    for (flagd::FlagFacts& f : all) {
      f.rule.reset();
      for (auto& v : f.variants) v.second.reset();
    }
    return all;
  };
  const std::string with_rule = R"("t": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                                         "targeting": {"if": [true, "on", "off"]}})";
  const std::vector<flagd::FlagFacts> before = reader_facts(facts(kToggle)), after = reader_facts(facts(with_rule));
  REQUIRE(before[0].fingerprint != after[0].fingerprint);
  const std::vector<flagd::FlagDiff> d = flagd::diff_flags(before, after);
  REQUIRE(d.size() == 1);
  CHECK(d[0].unseen);
  CHECK(flagd::describe(d[0]) == "flag 't' changed: rule or values changed (fingerprint " + flagd::fingerprint_hex(before[0].fingerprint) +
                                     " -> " + flagd::fingerprint_hex(after[0].fingerprint) + ")");
  CHECK(flagd::diff_flags(after, after).empty());  // equal fingerprints: no change

  // What it does see is said as the daemon says it, without the fingerprint line.
  const std::vector<flagd::FlagDiff> state =
      flagd::diff_flags(before, reader_facts(facts(R"("t": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"})")));
  REQUIRE(state.size() == 1);
  CHECK_FALSE(state[0].unseen);
  CHECK(flagd::describe(state[0]) == "flag 't' changed: state ENABLED -> DISABLED");

  // Without fingerprints nothing says the flag did not change.
  std::vector<flagd::FlagFacts> unprinted = before;
  unprinted[0].fingerprint = 0;
  const std::vector<flagd::FlagDiff> unknown = flagd::diff_flags(unprinted, unprinted);
  REQUIRE(unknown.size() == 1);
  CHECK(flagd::describe(unknown[0]) == "flag 't' changed: rule or values may have changed (the image has no fingerprints)");
}

TEST_CASE("describe and append_json keep a key as it is: escaping is the output's") {
  flagd::FlagFacts f;
  f.key = "a\"b\n";
  f.default_variant = "v";
  f.variants = {{"v", "1"}};
  f.rule = "";
  const std::vector<flagd::FlagDiff> d = flagd::diff_flags({}, {f});
  REQUIRE(d.size() == 1);
  CHECK(flagd::describe(d[0]) == "flag 'a\"b\n' added: ENABLED, default variant 'v'");
  CHECK(json(d[0]) == R"({"key":"a\"b\n","change":"added","state":[null,"ENABLED"],"defaultVariant":[null,"v"]})");
}
