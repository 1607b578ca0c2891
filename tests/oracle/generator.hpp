// Random flag files and requests, far wider than a hand-written test: every operator flagd's Go
// engine runs (JsonLogic v3.9.1's set with abs, set, contains_*, and flagd's fractional, sem_ver,
// starts_with, ends_with, $ref / $evaluators), random nesting and operand counts, odd operand
// types and var paths, odd variant names, set and flag metadata, disabled flags, flags without a
// default variant, flags that break the schema, and every request type with random contexts.
// Deterministic from the seed.
#pragma once

#include <cstdint>

#include "oracle_case.hpp"
#include "rng.hpp"

namespace flagd::oracle {

struct GeneratorOptions {
  int requests = 12;     // requests per case
  int max_flags = 4;     // flags per file, at least 1
  int max_depth = 4;     // nesting of a rule
};

Case generate_case(Rng& rng, const GeneratorOptions& options = {});

// Whether every read of $flagd.timestamp in the document is a comparison with a constant far
// from any present-day instant, so that no answer depends on the second it was asked in. The
// generator writes only such reads; the shrinker keeps only cases that still satisfy this.
bool timestamp_reads_are_guarded(const Json& document);

}  // namespace flagd::oracle
