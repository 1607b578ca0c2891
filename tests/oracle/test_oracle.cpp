// flagctl's answers against flagd's own Go engine on generated flag files and requests ([go]),
// and the parts of that comparison on their own ([unit]): the JSON tree, the field comparison,
// the generator's determinism and reach, the shrinker.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <set>

#include <fstream>

#include "campaign.hpp"
#include "file_cases.hpp"
#include "scratch_directory.hpp"

using namespace flagd::oracle;

namespace {

Json parsed(const std::string& text) {
  std::string error;
  auto j = parse_json(text, &error);
  INFO(text << ": " << error);
  REQUIRE(j);
  return *j;
}

void collect_operators(const Json& node, std::set<std::string>& out) {
  if (node.is_object() && node.keys.size() == 1) out.insert(node.keys[0]);
  for (const auto& child : node.items) collect_operators(child, out);
}

}  // namespace

TEST_CASE("JSON tree keeps numbers' text, member order and duplicates", "[unit]") {
  const std::string text =
      R"({"n":[-0,1e308,12345678901234567890,1.50,5e-324],"s":"ünï \"q\" \\ \n 😀","k":1,"k":2,"o":{}})";
  const Json j = parsed(text);
  CHECK(dump(j) == text);
  REQUIRE(j.find("k"));
  CHECK(j.find("k")->text == "2");  // the last of a duplicate, as flagd's Go decoder reads it
  CHECK(parsed(R"("\u00fc\ud83d\ude00")").text == "ü😀");
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "[1] 2", "nul"})
    CHECK_FALSE(parse_json(bad));
}

TEST_CASE("answers compare numbers by value and objects as maps", "[unit]") {
  CHECK(same_value(parsed("1"), parsed("1.0")));
  CHECK(same_value(parsed("-0"), parsed("0")));
  CHECK(same_value(parsed("1e2"), parsed("100")));
  CHECK(same_value(parsed(R"({"a":1,"b":[true,"x"]})"), parsed(R"({"b":[true,"x"],"a":1.0})")));
  CHECK_FALSE(same_value(parsed("1"), parsed("\"1\"")));
  CHECK_FALSE(same_value(parsed("[1,2]"), parsed("[2,1]")));
  CHECK_FALSE(same_value(parsed(R"({"a":1})"), parsed(R"({"a":1,"b":2})")));
  CHECK_FALSE(same_value(parsed("null"), parsed("false")));

  const Json flagctl = parsed(R"({"value":1,"variant":"a","reason":"STATIC","errorCode":null,"flagMetadata":{"v":1}})");
  const Json go = parsed(R"({"value":1.0,"variant":"b","reason":"STATIC","errorCode":null,"flagMetadata":{"v":"1"}})");
  CHECK(differing_fields(flagctl, go) == std::vector<std::string>{"variant", "flagMetadata"});
  CHECK(differing_fields(flagctl, flagctl).empty());
}

TEST_CASE("refusals for one reason share a signature", "[unit]") {
  const auto refusal = [](const std::string& note) {
    Finding f;
    f.kind = Finding::Kind::FlagctlRefusesServed;
    f.note = note;
    return f.signature();
  };
  const std::string nope = refusal("flags.json:1:29: error: flags.i.targeting.nope: unsupported operator \"nope\"");
  CHECK(nope == refusal("flags.json:3:7: error: flags[\"x y\"].targeting.if[0].x: unsupported operator \"x\""));
  CHECK(nope != refusal("flags.json:1:29: error: flags.i.targeting.abs: unsupported operator \"abs\""));
  CHECK(refusal("f:1:2: error: flags.f.targeting.map: \"map\" takes 2 operands, not 3") ==
        refusal("f:9:9: error: flags.g.targeting.map: \"map\" takes 2 operands, not 1"));
}

TEST_CASE("a seed names the same cases, and other seeds other cases", "[unit]") {
  Rng a(case_seed(7, 3)), b(case_seed(7, 3)), c(case_seed(7, 4));
  const Case x = generate_case(a), y = generate_case(b), z = generate_case(c);
  CHECK(printable(x) == printable(y));
  CHECK(printable(x) != printable(z));
  CHECK(x.requests.size() == 12);
}

TEST_CASE("the generator reaches every operator flagd runs, and odd inputs", "[unit]") {
  std::set<std::string> ops;
  std::set<std::string> types;
  bool array_of_flags = false, broken = false, folded_member = false;
  for (std::size_t i = 0; i < 1500; ++i) {
    Rng rng(case_seed(99, i));
    const Case c = generate_case(rng);
    collect_operators(c.file, ops);
    if (const Json* flags = c.file.find("flags")) array_of_flags = array_of_flags || flags->is_array();
    broken = broken || c.breakage != Case::Breakage::None;
    const std::string text = file_text(c);
    folded_member = folded_member || text.find("\"State\"") != std::string::npos;
    for (const auto& r : c.requests) types.insert(r.find("type")->text);
    REQUIRE(timestamp_reads_are_guarded(c.file));
    // no evaluator names another: flagd would resolve that in a random order
    if (const Json* evaluators = c.file.find("$evaluators")) {
      std::set<std::string> inside;
      collect_operators(*evaluators, inside);
      if (inside.count("$ref")) {
        for (const auto& name : evaluators->keys) {
          INFO(dump(*evaluators));
          CHECK(dump(*evaluators).find("{\"$ref\":" + dump(Json::string(name)) + "}") == std::string::npos);
        }
      }
    }
  }
  for (const char* op : {"var", "missing", "missing_some", "if", "?:", "==", "===", "!=", "!==", "!", "!!", "or", "and",
                         "<", "<=", ">", ">=", "max", "min", "+", "-", "*", "/", "%", "abs", "in", "cat", "substr",
                         "merge", "map", "filter", "reduce", "all", "none", "some", "set", "contains_all",
                         "contains_any", "contains_none", "fractional", "sem_ver", "starts_with", "ends_with", "$ref",
                         "nope"}) {
    INFO(op);
    CHECK(ops.count(op) == 1);
  }
  CHECK(types == std::set<std::string>{"boolean", "string", "integer", "float", "object"});
  CHECK(array_of_flags);
  CHECK(broken);
  CHECK(folded_member);
}

TEST_CASE("timestamp reads are allowed only in comparisons with far constants", "[unit]") {
  CHECK(timestamp_reads_are_guarded(parsed(R"({"if":[{">":[{"var":"$flagd.timestamp"},1000000000]},"a"]})")));
  CHECK(timestamp_reads_are_guarded(parsed(R"({"<":[0,{"var":["$flagd.timestamp"]}]})")));
  CHECK_FALSE(timestamp_reads_are_guarded(parsed(R"({"cat":[{"var":"$flagd.timestamp"}]})")));
  CHECK_FALSE(timestamp_reads_are_guarded(parsed(R"({">":[{"var":"$flagd.timestamp"},1750000000]})")));
  CHECK_FALSE(timestamp_reads_are_guarded(parsed(R"({"var":"$flagd..timestamp"})")));
  CHECK_FALSE(timestamp_reads_are_guarded(parsed(R"({"==":[{"var":"$flagd"},1]})")));
}

TEST_CASE("the shrinker keeps the property and ends small", "[unit]") {
  Case start;
  start.file = parsed(R"({"$schema":"x","metadata":{"a":1},"flags":{"f":{"state":"ENABLED","variants":{"on":true,"off":false},)"
                      R"("defaultVariant":"on","targeting":{"if":[{"and":[{"==":[{"var":"a"},1]},{"sem_ver":[{"var":"v"},">","1.0.0"]}]},"on","off"]}},)"
                      R"("g":{"state":"DISABLED","variants":{"x":"y"}}}})");
  for (int i = 0; i < 3; ++i)
    start.requests.push_back(parsed(R"({"flag":"f","type":"boolean","context":{"a":1,"v":"2.0.0","z":[1,2,3]},"default":false})"));
  // the "disagreement": a sem_ver operation in the file, and context key "v" in every request
  const auto still = [](const Case& c) {
    std::set<std::string> ops;
    collect_operators(c.file, ops);
    bool v = !c.requests.empty();
    for (const auto& r : c.requests) v = v && r.find("context") && r.find("context")->find("v");
    return ops.count("sem_ver") == 1 && v;
  };
  REQUIRE(still(start));
  const ShrinkResult r = shrink(start, still);
  CHECK(still(r.minimal));
  CHECK_FALSE(r.exhausted);
  CHECK(r.minimal.requests.size() == 1);
  CHECK(dump(r.minimal.file) == R"({"sem_ver":0})");
  CHECK(dump(r.minimal.requests[0]) == R"({"flag":"f","type":"boolean","context":{"v":0}})");
}

TEST_CASE("a flag file's case asks every flag as each type in each context", "[unit]") {
  flagd::test::ScratchDirectory dir("oracle-file");
  const std::string object_form = dir.path() + "/object.json", array_form = dir.path() + "/array.json";
  std::ofstream(object_form) << R"({"flags": {"a": {"state": "ENABLED"}, "b": {"state": "DISABLED"}}})";
  std::ofstream(array_form) << R"({"flags": [{"key": "c"}, {"state": "ENABLED"}]})";
  std::string error;
  const auto by_key = case_of_file(object_form, error);
  REQUIRE(by_key);
  CHECK(by_key->requests.size() == 2 * 5 * 3);
  std::set<std::string> asked;
  for (const Json& r : by_key->requests) {
    REQUIRE(r.find("default"));
    asked.insert(r.find("flag")->text + "/" + r.find("type")->text);
  }
  CHECK(asked.size() == 2 * 5);
  CHECK(asked.count("b/object") == 1);
  const auto in_array = case_of_file(array_form, error);
  REQUIRE(in_array);
  CHECK(in_array->requests.size() == 1 * 5 * 3);  // a flag without a key is asked for by none
  CHECK_FALSE(case_of_file(dir.path() + "/missing.json", error));
  CHECK(error.find("missing.json") != std::string::npos);
}

TEST_CASE("flagctl answers as flagd's Go engine on generated flag files and requests", "[go]") {
  Engines engines{FLAGCTL_BINARY, GO_ORACLE_BINARY, ""};
  if (const char* env = std::getenv("FLAGD_GO_ORACLE")) engines.go_oracle = env;
  if (engines.go_oracle.empty() || ::access(engines.go_oracle.c_str(), X_OK) != 0) {
    WARN("SKIPPED: no go-oracle to compare with: " << GO_ORACLE_MISSING);
    return;
  }
  flagd::test::ScratchDirectory work("flagd-oracle");
  engines.work_dir = work.path();
  // Fixed seeds: the same 3,024 requests on every run; oracle_campaign runs wider.
  CampaignOptions options;
  options.seeds = {1, 2, 3};
  options.cases_per_seed = 84;
  options.shrinks_per_kind = 1;
  options.max_shrinks = 12;
  options.shrink.max_checks = 250;
  const CampaignReport report = run_campaign(engines, options);
  const std::string text = render(report, "test_oracle [go] (seeds 1-3, 84 cases each)");
  // It reached every answer flagd gives, and files flagd refuses.
  CHECK(report.served >= 2000);
  for (const char* answer : {"\"STATIC\"/null", "\"DEFAULT\"/null", "\"TARGETING_MATCH\"/null", "\"DISABLED\"/null",
                             "\"ERROR\"/\"FLAG_NOT_FOUND\"", "\"ERROR\"/\"TYPE_MISMATCH\"", "\"ERROR\"/\"PARSE_ERROR\"",
                             "\"ERROR\"/\"GENERAL\""}) {
    INFO(answer);
    CHECK(report.answers.count(answer) == 1);
  }
  CHECK(report.go_refused_files > 0);
  CHECK(report.go_broken == 0);
  // And flagctl answered every one of them as flagd does; if not, the minimal cases, once.
  if (report.findings() != 0) FAIL_CHECK(text);
  CHECK(report.findings() == 0);
}
