// "Did you mean ...?": the known name closest to a misspelt one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flagd {

// The name in `known` nearest to `name` by edit distance (letters compared without regard to
// case), if near enough to be a likely typo: at most one edit in four letters, at least one.
std::optional<std::string_view> closest_name(std::string_view name, const std::vector<std::string_view>& known);

// " (did you mean \"x\"?)" for the closest name, or nothing.
std::string did_you_mean(std::string_view name, const std::vector<std::string_view>& known);

}  // namespace flagd
