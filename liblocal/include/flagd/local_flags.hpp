// Flags compiled in this process from flag files or JSON text, and read through an ordinary
// flagd::Reader: for applications' unit tests and local runs, with no daemon and no shared
// memory, and the same loader, image and evaluation code as the daemon's.
//
//   auto local = flagd::LocalFlags::from_json(R"({"flags": {...}})");
//   if (!local) { std::cerr << local.error().message; ... }
//   flagd::Reader& flags = local->reader();           // every Reader call works, overrides too
//   local->reload_json(other_json);                   // the next generation; handles keep their flags
//
// Link flagd::local (it brings the loader and simdjson; an application's production build needs
// only flagd::reader).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flagd/reader.hpp"

namespace flagd {

struct LocalFlagsError {
  std::string message;  // every problem found, one per line: "file:line:column: error: path: why"
};

class LocalFlags {
 public:
  // Loads, validates and compiles the files (a later file's flag replaces an earlier one's), or
  // the JSON text (`name` stands for its file name in messages).
  static Result<LocalFlags, LocalFlagsError> from_files(const std::vector<std::string>& paths);
  static Result<LocalFlags, LocalFlagsError> from_json(std::string_view json, std::string_view name = "<memory>");

  // Replaces the flags with the next generation, as a daemon's reload does: handles keep meaning
  // their keys. On error nothing changes.
  std::optional<LocalFlagsError> reload_files(const std::vector<std::string>& paths);
  std::optional<LocalFlagsError> reload_json(std::string_view json, std::string_view name = "<memory>");

  Reader& reader() noexcept { return *reader_; }
  const Reader& reader() const noexcept { return *reader_; }
  // Warnings of the last successful load (e.g. a $ref to a missing evaluator), one per line.
  const std::string& warnings() const noexcept;

  LocalFlags(LocalFlags&&) noexcept;
  LocalFlags& operator=(LocalFlags&&) noexcept;
  ~LocalFlags();

 private:
  struct State;
  struct Loaded;  // a load's outcome (the loader's types stay out of this header)
  explicit LocalFlags(std::unique_ptr<State> state);
  static Result<LocalFlags, LocalFlagsError> create(const Loaded& loaded);
  std::unique_ptr<State> state_;
  std::unique_ptr<Reader> reader_;
};

}  // namespace flagd
