// Loading flag files in the flagd format: read, parse, validate, merge.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "diagnostic.hpp"
#include "flag_model.hpp"

namespace flagd {

struct LoadResult {
  FlagSet flags;
  std::vector<Diagnostic> diagnostics;  // every error and warning found, in file order
  bool ok() const noexcept { return !has_errors(diagnostics); }
};

// Loads the files in order; a later file's flag replaces an earlier flag of the same key.
LoadResult load_flag_files(const std::vector<std::string>& paths);

// Loads one document held in memory; `name` stands for its file name in diagnostics.
LoadResult load_flag_text(std::string_view text, std::string_view name = "<memory>");

}  // namespace flagd
