// Loading flag files in the flagd format: read, parse, validate, merge.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostic.hpp"
#include "flag_model.hpp"
#include "flagd/flag_format.hpp"

namespace flagd {

struct LoadResult {
  FlagSet flags;
  std::vector<Diagnostic> diagnostics;  // every error, violation and warning found, in file order
  // Whether the flags may be published: lenient, as flagd loads them (a violation is a warning);
  // strict, as `flagctl validate` and `flagd --strict` judge them (a violation is an error).
  bool ok(Strictness strictness = Strictness::Lenient) const noexcept { return !has_errors(diagnostics, strictness); }
};

// Who may have written the flag files a loader trusts.
enum class FileTrust : std::uint8_t {
  Any,          // any readable file (flagctl validate, tests)
  OwnerOrRoot,  // owned by this process's user or by root, and not writable by all (the daemon):
                // a file anyone can edit would let anyone change what every reader sees
};

// Loads the files in order; a later file's flag replaces an earlier flag of the same key. A file
// whose name ends in .yaml or .yml is YAML (yaml_document.hpp), any other JSON.
LoadResult load_flag_files(const std::vector<std::string>& paths, FileTrust trust = FileTrust::Any);

// Loads one document held in memory; `name` stands for its file name in diagnostics, and says
// whether it is YAML as a file's name does (format_named), unless `format` says.
LoadResult load_flag_text(std::string_view text, std::string_view name = "<memory>");
LoadResult load_flag_text(std::string_view text, std::string_view name, FlagFormat format);

// Reads a flag file as load_flag_files does (trust, size limit, one descriptor): its bytes in
// `contents`, or false and `error`.
bool read_flag_file(const std::string& path, FileTrust trust, std::string& contents, Diagnostic& error);

// Merges sets loaded one by one, in order: a later set's flag replaces an earlier one of the same
// key. The merged digest is the one set's own, or a SHA-256 over the sets' digests in order, so
// two merges of the same documents have the same digest. A merge over the flag limit adds an
// error to `diagnostics`.
FlagSet merge_flag_sets(std::vector<FlagSet>&& sets, std::vector<Diagnostic>& diagnostics);

// The digest merge_flag_sets gives documents of these digests, in order.
std::array<std::uint8_t, 32> merged_digest(const std::vector<std::array<std::uint8_t, 32>>& digests);

}  // namespace flagd
