// The two evaluators under comparison, as commands: this project's `flagctl eval --flags FILE`
// and flagd's Go engine built as `go-oracle --flags FILE`. Both read the same request lines on
// stdin and write one answer line per request.
#pragma once

#include <string>
#include <vector>

#include "json_tree.hpp"
#include "oracle_case.hpp"

namespace flagd::oracle {

struct Engines {
  std::string flagctl;    // path of flagctl
  std::string go_oracle;  // path of go-oracle
  std::string work_dir;   // where the case's files are written (one case at a time)
};

struct Run {
  int exit_code = 0;               // 128 + signal when it was killed
  std::vector<Json> answers;       // one per output line that is JSON
  std::size_t unreadable = 0;      // output lines that are not JSON
  std::string stderr_text;
};

struct Runs {
  Run flagctl;
  Run go;
};

// Writes the case into engines.work_dir and runs both commands on it, side by side; with
// go_messages, flagd's answers carry its error text ("detail").
Runs run_both(const Case& c, const Engines& engines, bool go_messages = false);

}  // namespace flagd::oracle
