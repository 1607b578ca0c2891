// Evaluation cost of targeting rules (bench/targeting_flags.json, shared with the JavaScript
// reference's benchmark bench/js/reference_bench.js), through a handle, with a context built
// once. The shapes are
// the issue's: one string comparison on a context attribute; three conditions (and of ==, in on a
// list, ends_with); a fractional rollout on a targeting key of up to 32 bytes; sem_ver against a
// context version string.
//
//   build/release/bench/targeting_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <fstream>
#include <iterator>
#include <string>

#include "memory_flags.hpp"

namespace {

std::string flags_json() {
  std::ifstream in(FLAGD_BENCH_FLAGS);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Setup {
  flagd::test::MemoryFlags flags{flags_json()};
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
