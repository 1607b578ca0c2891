// Long runs of the comparison with flagd's Go engine, beyond what CI runs:
//
//   oracle_campaign [--seeds A-B | --seed S ...] [--cases N] [--requests R] [--only I]
//                   [--file FLAGS.json ...] [--shrinks-per-kind K] [--max-shrinks M] [--checks C]
//                   [--out DIR] [--flagctl PATH] [--go-oracle PATH]
//
// Cases I of each seed are generated alone again with --seed S --only I. With --file, the given
// flag files are compared instead: each flag as each type, in a few contexts (file_cases.hpp). The report (counts and
// the distinct minimal disagreements, ready to paste) goes to DIR/report.md, or to stdout.
// Exit: 0 no disagreement, 1 disagreements, 2 bad usage, 77 no go-oracle to compare with.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "campaign.hpp"
#include "file_cases.hpp"
#include "scratch_directory.hpp"

namespace {

int usage(const std::string& why) {
  std::fprintf(stderr,
               "oracle_campaign: %s\nusage: oracle_campaign [--seeds A-B | --seed S ...] [--cases N] [--requests R] "
               "[--only I] [--file FLAGS.json ...] [--shrinks-per-kind K] [--max-shrinks M] [--checks C] [--out DIR] [--flagctl PATH] "
               "[--go-oracle PATH]\n",
               why.c_str());
  return 2;
}

bool number(const std::string& text, std::uint64_t& out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  out = std::strtoull(text.c_str(), nullptr, 10);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace flagd::oracle;
  Engines engines{FLAGCTL_BINARY, GO_ORACLE_BINARY, ""};
  if (const char* env = std::getenv("FLAGD_GO_ORACLE")) engines.go_oracle = env;
  CampaignOptions options;
  options.seeds.clear();
  std::string out_dir;
  std::string command = "oracle_campaign";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    command += " " + arg;
    if (i + 1 >= argc) return usage(arg + " needs a value");
    const std::string value = argv[++i];
    command += " " + value;
    std::uint64_t n = 0;
    if (arg == "--seeds") {
      const auto dash = value.find('-');
      std::uint64_t a = 0, b = 0;
      if (dash == std::string::npos || !number(value.substr(0, dash), a) || !number(value.substr(dash + 1), b) || b < a)
        return usage("--seeds takes A-B");
      for (auto s = a; s <= b; ++s) options.seeds.push_back(s);
    } else if (arg == "--seed" && number(value, n)) {
      options.seeds.push_back(n);
    } else if (arg == "--cases" && number(value, n) && n > 0) {
      options.cases_per_seed = n;
    } else if (arg == "--requests" && number(value, n) && n > 0) {
      options.generator.requests = static_cast<int>(n);
    } else if (arg == "--only" && number(value, n)) {
      options.first_case = n;
      options.cases_per_seed = 1;
    } else if (arg == "--shrinks-per-kind" && number(value, n)) {
      options.shrinks_per_kind = static_cast<int>(n);
    } else if (arg == "--max-shrinks" && number(value, n)) {
      options.max_shrinks = static_cast<int>(n);
    } else if (arg == "--checks" && number(value, n)) {
      options.shrink.max_checks = static_cast<int>(n);
    } else if (arg == "--file") {
      std::string error;
      std::optional<Case> c = case_of_file(value, error);
      if (!c) return usage(error);
      options.given.emplace_back(value, std::move(*c));
    } else if (arg == "--out") {
      out_dir = value;
    } else if (arg == "--flagctl") {
      engines.flagctl = value;
    } else if (arg == "--go-oracle") {
      engines.go_oracle = value;
    } else {
      return usage("unknown or bad option " + arg + " " + value);
    }
  }
  if (options.seeds.empty()) options.seeds.push_back(1);
  if (engines.go_oracle.empty() || ::access(engines.go_oracle.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "oracle_campaign: no go-oracle at '%s' (%s)\n", engines.go_oracle.c_str(), GO_ORACLE_MISSING);
    return 77;
  }
  flagd::test::ScratchDirectory work("flagd-oracle");
  engines.work_dir = work.path();
  options.progress = [](const std::string& found) { std::fprintf(stderr, "new: %s\n", found.c_str()); };
  const CampaignReport report = run_campaign(engines, options);
  const std::string text = render(report, command);
  if (out_dir.empty()) {
    std::cout << text;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    std::ofstream out(out_dir + "/report.md");
    out << text;
    out.close();
    if (ec || !out) {
      std::fprintf(stderr, "oracle_campaign: cannot write %s/report.md%s%s\n", out_dir.c_str(), ec ? ": " : "",
                   ec ? ec.message().c_str() : "");
      std::cout << text;
      return 2;
    }
    std::fprintf(stderr, "report: %s/report.md\n", out_dir.c_str());
  }
  std::fprintf(stderr, "%zu requests compared, %zu answered differently, %zu distinct minimal cases\n", report.compared,
               report.disagreeing, report.distinct.size());
  return report.findings() == 0 ? 0 : 1;
}
