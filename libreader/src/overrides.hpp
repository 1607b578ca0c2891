// The overrides a reader answers with before its image (Reader::set_override, FLAGD_OVERRIDE_*).
// A table is immutable once published; a change publishes a new one.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flagd::detail {

struct Overrides {
  std::vector<std::pair<std::string, std::string>> by_key;   // set_override: key, value
  std::vector<std::pair<std::string, std::string>> by_name;  // the environment: NAME, value

  bool empty() const noexcept { return by_key.empty() && by_name.empty(); }
};

// The environment's FLAGD_OVERRIDE_<NAME>=value pairs.
std::vector<std::pair<std::string, std::string>> environment_overrides();

// True if `key` spells `name` (override_variable's rule: letters upper-cased, all but letters and
// digits as '_').
bool key_spells(std::string_view key, std::string_view name) noexcept;

}  // namespace flagd::detail
