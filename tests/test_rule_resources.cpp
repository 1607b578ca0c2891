// The rule evaluator's slower paths stay within the reader's promises: the objects a rule builds
// or reads (context objects and JSON attributes, set, literal objects), objects evaluated again as rules, rewritten
// iteration bodies, computed var paths, every operator written with a single operand. None may
// allocate (counted across many evaluations, by replacing the allocation functions or through
// the sanitizers' hook) or make a syscall (a child under SECCOMP_MODE_STRICT).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "allocation_counter.hpp"
#include "confined_child.hpp"
#include "memory_flags.hpp"

namespace {

// Each rule's answer names a variant ("a"), or none (an error answer): what is counted is the work.
constexpr const char* kRules[] = {
    R"({"var": "o"})",
    R"({"set": [{"var": "o"}, "k", [1, {"x": "<y>"}]]})",
    R"({"if": [true, {"var": "p"}]})",
    R"({"if": [true, {"var": "q"}]})",
    R"({"map": [[{"map": [[1, 2], {"+": [{"var": ""}, 1]}]}], {"if": [true, {"var": ""}]}]})",
    R"({"filter": [[{"x": 0}, {"x": 1}], {"==": [{"var": "x"}, {"var": "n"}]}]})",
    R"({"some": [{"var": "l"}, {"all": [[{"var": "s", "b": 1}], {"var": "p"}]}]})",
    R"({"none": [[1, 2], {"==": [{"var": {"cat": ["s"]}}, {"a": {"var": "s"}, "b": 2}]}]})",
    R"({"missing": [{"var": "p"}, "s", 1, ["zz", 2]]})",
    R"({"contains_any": [{"var": "l"}, [1, "x"]]})",
    R"({"!": {"var": "l"}})",
    R"({"in": {"var": "l"}})",
    R"({"cat": [" \u00a0x", {"var": "n"}, 1e21, "\u3000"]})",
    R"({"substr": ["\u00e9\u00e9x", 1, 1]})",
    R"({"sem_ver": [{"var": "v"}, ">", "1.2.3+01"]})",
    R"({"map": [[{"targetingKey": "t1"}, {"a": 1}], {"fractional": [["a", 1], ["b", 1]]}]})",
    R"({"reduce": [[[1, 2], [3]], {"+": [{"var": "current.0"}, {"var": "accumulator"}]}, 0]})",
    R"({"filter": [[1, 2], {"?:": {"var": "r"}}]})",
    R"({"merge": [{"var": "o"}, {"abs": -1}, {"var": "missing_path"}]})",
    R"({"if": [{"var": "j.1.k.0"}, {"var": "j.0"}]})",
    R"({"merge": [{"var": "j"}, {"var": "j.1"}]})",
};

std::string flags_json() {
  std::string flags;
  for (std::size_t i = 0; i < std::size(kRules); ++i)
    flags += (i ? ", " : "") + std::string("\"r") + std::to_string(i) +
             R"(": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "b", "targeting": )" +
             kRules[i] + "}";
  return "{\"flags\": {" + flags + "}}";
}

flagd::Context context() {
  static const flagd::Context::Item list[] = {flagd::Context::Item::of(1.0), flagd::Context::Item::of("x")};
  static const flagd::Context::Item rule[] = {flagd::Context::Item::of(true), flagd::Context::Item::of("a")};
  flagd::Context c;
  c.set_object("o").set("o.a", 1.0).set("o.b", "text").set_object("o.c").set("o.c.d", true);
  c.set_object("p").set("p.var", "s").set_object("q").set("q.a", 1.0).set("q.b", 2.0);
  c.set("s", "a").set("n", 1.0).set("v", "2.0.0").set_list("l", list).set_list("r", rule).set_targeting_key("k");
  c.set_json("j", R"([{"var":"s"},{"k":[1,"a.b"],"x.y":null}])");
  return c;
}

struct Run {
  flagd::Reader& reader;
  flagd::Context context = ::context();
  std::vector<flagd::Handle> handles;
  flagd::Evaluation<std::string> e;
  explicit Run(flagd::Reader& r) : reader(r) {
    for (std::size_t i = 0; i < std::size(kRules); ++i) handles.push_back(reader.resolve("r" + std::to_string(i)));
    e.value.reserve(256);
    e.variant.reserve(256);
  }
  // Evaluates every rule `rounds` times; a checksum of the answers.
  std::uint64_t evaluate_all(int rounds) {
    std::uint64_t sum = 0;
    for (int round = 0; round < rounds; ++round)
      for (const flagd::Handle h : handles) {
        reader.evaluate(h, context, std::string_view("fallback"), e);
        sum += static_cast<std::uint64_t>(e.reason) * 7 + static_cast<std::uint64_t>(e.error) + e.value.size();
      }
    return sum;
  }
};

}  // namespace

TEST_CASE("the rules of the slower paths evaluate without allocating") {
  flagd::test::MemoryFlags flags(flags_json());
  Run run(flags.reader());
  run.evaluate_all(1);
  const auto before = flagd::test::allocations().calls;
  const std::uint64_t sum = run.evaluate_all(2000);
  CHECK(flagd::test::allocations().calls - before == 0);
  CHECK(sum > 0);
}

TEST_CASE("the rules of the slower paths make no syscalls (SECCOMP_MODE_STRICT child)") {
  flagd::test::MemoryFlags flags(flags_json());
  Run run(flags.reader());
  const std::uint64_t expected = run.evaluate_all(100);
  const auto outcome = flagd::test::run_confined(flagd::test::Confinement::Strict,
                                                 [&](auto confine) { return confine() ? run.evaluate_all(100) : 0; });
  INFO("a child killed by SIGKILL made a syscall under seccomp");
  CHECK(outcome.completed());
  CHECK(outcome.value == expected);
}
