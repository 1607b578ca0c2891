// Loading flag files in the flagd format: read, parse, validate, merge.
#pragma once

#include <cstdint>
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

// Who may have written the flag files a loader trusts.
enum class FileTrust : std::uint8_t {
  Any,          // any readable file (flagctl validate, tests)
  OwnerOrRoot,  // owned by this process's user or by root, and not writable by all (the daemon):
                // a file anyone can edit would let anyone change what every reader sees
};

// Loads the files in order; a later file's flag replaces an earlier flag of the same key.
LoadResult load_flag_files(const std::vector<std::string>& paths, FileTrust trust = FileTrust::Any);

// Loads one document held in memory; `name` stands for its file name in diagnostics.
LoadResult load_flag_text(std::string_view text, std::string_view name = "<memory>");

}  // namespace flagd
