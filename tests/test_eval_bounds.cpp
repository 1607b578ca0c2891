// Every evaluation's work is bounded by the step budget whatever the context holds
// (docs/targeting.md, "Evaluation"): string operators are charged for the bytes they read, `in`
// searches in linear time, and the fast forms leave strings they would read at length to the
// interpreter. No timing here: the work is checked by what the evaluator counts and charges.
#include <catch2/catch.hpp>

#include <cstddef>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "flag_loader.hpp"
#include "first_rule.hpp"
#include "image_builder.hpp"
#include "memory_flags.hpp"
#include "rule_eval.hpp"

using flagd::Context;
using flagd::ErrorCode;
using flagd::Reason;
using flagd::detail::find_text;
using flagd::detail::RuleOutcome;

namespace {

std::string flags_with(std::string_view rule) {
  return std::string(R"({"flags": {"rule": {"state": "ENABLED", "variants": {"on": true, "off": false},
      "defaultVariant": "off", "targeting": )") +
         std::string(rule) + "}}}";
}

// The detailed evaluation of `rule` (variants on and off) as "on", "off", "DEFAULT" or "ERROR:<code>".
std::string outcome(std::string_view rule, const Context& context) {
  flagd::test::MemoryFlags flags(flags_with(rule));
  auto& r = flags.reader();
  flagd::Evaluation<bool> e;
  r.evaluate(r.resolve("rule"), context, false, e);
  if (e.reason == Reason::Error) return "ERROR:" + std::string(flagd::to_string(e.error));
  if (e.reason == Reason::Default) return "DEFAULT";
  return e.variant;
}

// The interpreter run directly on `rule`, for the steps it spent (the answer is outcome()'s to check).
struct Interpreted {
  RuleOutcome outcome;
  std::uint32_t steps;
};

Interpreted interpret(std::string_view rule, const Context& context) {
  flagd::LoadResult loaded = flagd::load_flag_text(flags_with(rule), "bounds.json");
  REQUIRE(loaded.ok());
  flagd::StableIndex index;
  const std::vector<std::byte> image = flagd::build_image(loaded.flags, index, flagd::ImageStamp{});
  const flagd::test::FirstRule first(image);
  auto evaluator = first.interpreter(context);
  const RuleOutcome outcome = evaluator->run();
  return {outcome, evaluator->steps()};
}

constexpr const char* kIn = R"({"if": [{"in": [{"var": "needle"}, {"var": "haystack"}]}, "on", "off"]})";

}  // namespace

TEST_CASE("find_text finds what string_view::find finds, in a number of comparisons linear in both strings") {
  std::mt19937 rng(14);
  for (int round = 0; round < 20000; ++round) {
    // Two- and three-letter alphabets make periodic needles and near misses common.
    const int letters = 2 + round % 2;
    const auto text = [&](std::size_t length) {
      std::string s;
      for (std::size_t i = 0; i < length; ++i) s += static_cast<char>('a' + rng() % letters);
      return s;
    };
    const std::string haystack = text(rng() % 40);
    std::string needle = text(rng() % 8);
    if (round % 3 == 0 && haystack.size() > 2) {  // a needle that occurs
      const std::size_t from = rng() % haystack.size();
      needle = haystack.substr(from, 1 + rng() % (haystack.size() - from));
    }
    std::uint64_t comparisons = 0;
    INFO("haystack " << haystack << ", needle " << needle);
    REQUIRE(find_text(haystack, needle, comparisons) == std::string_view(haystack).find(needle));
    CHECK(comparisons <= 2 * haystack.size() + 5 * needle.size());
  }

  // What a naive search takes quadratic time on (needle x haystack comparisons), with where the
  // needle is (string_view::find would take that long to say).
  const std::string as(500'000, 'a');
  constexpr std::size_t npos = std::string_view::npos;
  const struct {
    std::string haystack, needle;
    std::size_t at;
  } cases[] = {
      {as, std::string(200'000, 'a') + "b", npos},
      {as, "b" + std::string(200'000, 'a'), npos},
      {as, std::string(100'000, 'a') + "b" + std::string(100'000, 'a'), npos},
      {as + "b", std::string(200'000, 'a') + "b", 300'000},
      {std::string(250'000, 'a') + std::string(250'000, 'b'), std::string(1000, 'a') + std::string(1001, 'b'), 249'000},
  };
  for (const auto& c : cases) {
    std::uint64_t comparisons = 0;
    CHECK(find_text(c.haystack, c.needle, comparisons) == c.at);
    CHECK(comparisons <= 2 * c.haystack.size() + 5 * c.needle.size());
  }
}

TEST_CASE("in over two huge context strings ends within the step budget") {
  // 200 KB of 'a' and a 'b', in 500 KB of 'a': 10^11 byte comparisons for a naive search, and more
  // bytes than the budget covers: the evaluation stops before it searches.
  const std::string needle = std::string(200'000, 'a') + "b";
  const std::string haystack(500'000, 'a');
  Context context;
  context.set("needle", needle);
  context.set("haystack", haystack);
  CHECK(outcome(kIn, context) == "ERROR:GENERAL");
  const Interpreted run = interpret(kIn, context);
  CHECK(run.outcome == RuleOutcome::General);
  CHECK(run.steps <= flagd::limits::kRuleStepBudget);
}

TEST_CASE("in over long context strings under the bound answers, charged for both strings") {
  const std::string needle = std::string(20'000, 'a') + "b";
  const std::string misses(100'000, 'a');
  const std::string hits = misses + "b";
  for (const std::string* haystack : {&misses, &hits}) {
    Context context;
    context.set("needle", needle);
    context.set("haystack", *haystack);
    const std::string expected = haystack == &hits ? "on" : "off";
    CHECK(outcome(kIn, context) == expected);
    const Interpreted run = interpret(kIn, context);
    REQUIRE(run.outcome == RuleOutcome::Variant);
    // The search read both strings: the budget pays for both.
    CHECK(run.steps >= (needle.size() + haystack->size()) / flagd::detail::kRuleBytesPerStep);
    CHECK(run.steps <= flagd::limits::kRuleStepBudget);
  }
}

TEST_CASE("other string operators on huge context strings are charged for the bytes they read") {
  const std::string huge(600'000, 'a');  // more bytes than the whole budget covers
  const std::string version = "1.0.0-" + huge;
  Context context;
  context.set("a", huge);
  context.set("b", huge);
  context.set("version", version);
  // Each of these reads the whole of an attribute at least once.
  const char* const rules[] = {
      R"({"if": [{"starts_with": [{"var": "a"}, {"var": "b"}]}, "on", "off"]})",
      R"({"if": [{"ends_with": [{"var": "a"}, {"var": "b"}]}, "on", "off"]})",
      R"({"if": [{"==": [{"var": "a"}, {"var": "b"}]}, "on", "off"]})",
      R"({"if": [{"<": [{"var": "a"}, {"var": "b"}]}, "on", "off"]})",
      R"({"if": [{"in": [{"var": "a"}, [{"var": "b"}]]}, "on", "off"]})",
      R"({"if": [{"substr": [{"var": "a"}, 1]}, "on", "off"]})",
      R"({"if": [{"+": [{"var": "a"}, 1]}, "on", "off"]})",
      R"({"fractional": [{"var": "a"}, ["on", 1], ["off", 1]]})",
      // sem_ver against a constant: a fast form would parse the attribute without a budget.
      R"({"if": [{"sem_ver": [{"var": "version"}, ">=", "1.0.0"]}, "on", "off"]})",
  };
  for (const char* rule : rules) {
    INFO(rule);
    CHECK(outcome(rule, context) == "ERROR:GENERAL");
  }
  // Short strings are read as before.
  Context small;
  small.set("a", "abc");
  small.set("b", "ab");
  small.set("version", "1.2.0");
  CHECK(outcome(rules[0], small) == "on");
  CHECK(outcome(rules[2], small) == "off");
  CHECK(outcome(rules[8], small) == "on");
}

TEST_CASE("a rollout on a huge targeting key is charged for hashing it, in the fast form too") {
  const std::string huge(600'000, 'k');
  Context context;
  context.set_targeting_key(huge);
  const char* const rollout = R"({"fractional": [["on", 1], ["off", 1]]})";  // a fast form
  CHECK(outcome(rollout, context) == "ERROR:GENERAL");
  flagd::test::MemoryFlags flags(flags_with(rollout));
  CHECK(flags.reader().get_bool(flags.reader().resolve("rule"), context, true) == true);  // the fallback

  // A key the fast form hashes, and one it leaves to the interpreter, both answered.
  for (const std::size_t length : {std::size_t{4096}, std::size_t{5000}}) {
    const std::string key(length, 'k');
    Context c;
    c.set_targeting_key(key);
    const std::string answer = outcome(rollout, c);
    CHECK((answer == "on" || answer == "off"));
    CHECK(interpret(rollout, c).outcome == RuleOutcome::Variant);
  }
}
