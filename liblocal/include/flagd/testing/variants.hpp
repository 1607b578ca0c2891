// Testing both paths of a flag: its variants, and an override that lasts one scope. The Catch2
// and GoogleTest helpers (catch2.hpp, gtest.hpp) are built on these.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flagd/local_flags.hpp"
#include "flagd/reader.hpp"

namespace flagd::testing {

// The names of `key`'s variants in `reader`'s current image, in file order; empty if it has none.
inline std::vector<std::string> variants_of(const Reader& reader, std::string_view key) {
  for (FlagSummary& flag : reader.list())
    if (flag.key == key) return std::move(flag.variants);
  return {};
}

// The same, from flag files (for test registration, before any reader exists). An unloadable
// file gives no variants, and the reason on stderr.
std::vector<std::string> variants_in_files(const std::vector<std::string>& paths, std::string_view key);

// Makes `reader` answer `variant` for `key` until the scope ends; declare it after the reader's
// owner, so that it ends first.
class OverrideScope {
 public:
  OverrideScope(Reader& reader, std::string_view key, std::string_view variant) : reader_(&reader), key_(key) {
    reader_->set_override(key_, variant);
  }
  OverrideScope(OverrideScope&& other) noexcept : reader_(std::exchange(other.reader_, nullptr)), key_(std::move(other.key_)) {}
  OverrideScope& operator=(OverrideScope&&) = delete;
  OverrideScope(const OverrideScope&) = delete;
  OverrideScope& operator=(const OverrideScope&) = delete;
  ~OverrideScope() {
    if (reader_ != nullptr) reader_->clear_override(key_);
  }

 private:
  Reader* reader_;
  std::string key_;
};

}  // namespace flagd::testing
