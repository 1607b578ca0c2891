// A run of many generated cases against both engines: counts what was compared, shrinks the
// disagreements (a few per kind) to minimal cases and keeps the distinct ones.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engines.hpp"
#include "generator.hpp"
#include "judge.hpp"
#include "shrink.hpp"

namespace flagd::oracle {

struct CampaignOptions {
  std::vector<std::uint64_t> seeds = {1};
  std::size_t first_case = 0;     // cases first_case .. first_case + cases_per_seed - 1 of each seed
  std::size_t cases_per_seed = 100;
  GeneratorOptions generator;
  ShrinkOptions shrink;
  int shrinks_per_kind = 4;       // minimal cases made per kind of disagreement (Finding::signature)
  int max_shrinks = 1000;         // in all
  std::function<void(const std::string&)> progress;  // told about each new distinct case, when set
  // When not empty: these cases (file_cases.hpp), named after their files, not generated ones.
  std::vector<std::pair<std::string, Case>> given;
};

struct Distinct {
  std::string signature;          // the kind of disagreement
  std::string cause;              // signature, request type and the operators the minimal case uses
  Case minimal;
  Json flagctl;                   // both answers to the minimal case's request
  Json go;                        // (with flagd's error text as "detail")
  std::string note;
  std::string origin;             // where it was first seen: the seed and case, or the file
  std::size_t occurrences = 1;    // disagreements that shrank to this cause
  int checks = 0;                 // candidates the shrink ran
};

struct CampaignReport {
  std::size_t cases = 0;
  std::size_t requests = 0;             // requests asked of both
  std::size_t served = 0;               // requests in files flagd serves
  std::size_t compared = 0;             // requests whose answers were compared (files both serve)
  std::size_t disagreeing = 0;          // compared requests answered differently
  std::size_t go_refused_files = 0;     // files flagd refuses
  std::size_t both_refused_files = 0;   // ... and flagctl refuses too
  std::size_t flagctl_serves_refused = 0;
  std::size_t flagctl_refuses_served = 0;
  std::size_t flagctl_broken = 0;
  std::size_t go_broken = 0;
  std::map<std::string, std::size_t> per_signature;  // findings per kind
  std::map<std::string, std::size_t> answers;        // flagd's reason/errorCode in the files it serves
  std::vector<Distinct> distinct;
  std::vector<std::string> go_broken_cases;          // printable, the first few

  std::size_t findings() const {
    return disagreeing + flagctl_serves_refused + flagctl_refuses_served + flagctl_broken;
  }
};

// The seed of case `index` of run `seed`, so that any one case can be generated again alone.
std::uint64_t case_seed(std::uint64_t seed, std::size_t index);

CampaignReport run_campaign(const Engines& engines, const CampaignOptions& options);

// Markdown: the counts, then each distinct minimal case ready to paste, grouped by kind.
std::string render(const CampaignReport& report, const std::string& command);

}  // namespace flagd::oracle
