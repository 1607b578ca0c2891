// Evaluation cost of targeting rules, through a handle, with a context built once. The shapes are
// the issue's: one string comparison on a context attribute; three conditions (and of ==, in on a
// list, ends_with); a fractional rollout on a targeting key of up to 32 bytes; sem_ver against a
// context version string.
//
//   build/release/bench/targeting_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include "memory_flags.hpp"

namespace {

constexpr const char* kFlags = R"({"flags": {
  "one-condition": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"if": [{"==": [{"var": "country"}, "DE"]}, "on", "off"]}},
  "three-conditions": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"if": [{"and": [{"==": [{"var": "country"}, "DE"]},
                                  {"in": [{"var": "plan"}, ["pro", "enterprise", "team"]]},
                                  {"ends_with": [{"var": "email"}, "@example.com"]}]}, "on", "off"]}},
  "rollout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"fractional": [["on", 25], ["off", 75]]}},
  "semver": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"if": [{"sem_ver": [{"var": "version"}, ">=", "2.4.0"]}, "on", "off"]}}
}})";

struct Setup {
  flagd::test::MemoryFlags flags{kFlags};
  flagd::Context context;
  Setup() {
    context.set("country", "DE")
        .set("plan", "enterprise")
        .set("email", "ann.smith@example.com")
        .set("version", "2.10.3")
        .set_targeting_key("7c9e6679-7425-40de-944b-e07fc1f9");  // 32 bytes
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

void run(benchmark::State& state, const char* flag) {
  auto& s = setup();
  flagd::Reader& reader = s.flags.reader();
  const flagd::Handle h = reader.resolve(flag);
  if (!reader.get_bool(h, s.context, false) && std::string_view(flag) != "rollout") state.SkipWithError("rule did not match");
  for (auto _ : state) benchmark::DoNotOptimize(reader.get_bool(h, s.context, false));
}

void BM_Rule_OneStringComparison(benchmark::State& state) { run(state, "one-condition"); }
void BM_Rule_ThreeConditions(benchmark::State& state) { run(state, "three-conditions"); }
void BM_Rule_Fractional32ByteKey(benchmark::State& state) { run(state, "rollout"); }
void BM_Rule_SemVer(benchmark::State& state) { run(state, "semver"); }
BENCHMARK(BM_Rule_OneStringComparison);
BENCHMARK(BM_Rule_ThreeConditions);
BENCHMARK(BM_Rule_Fractional32ByteKey);
BENCHMARK(BM_Rule_SemVer);

}  // namespace

BENCHMARK_MAIN();
