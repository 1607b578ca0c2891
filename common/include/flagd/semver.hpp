// Semantic versions as flagd's sem_ver operator reads them: SemVer 2.0, a leading v/V allowed,
// "1" and "1.2" meaning 1.0.0 and 1.2.0 (only without pre-release or build), no leading zeros, no
// fourth part. Build metadata is ignored in comparisons. Nothing allocates.
#pragma once

#include <cstdint>
#include <string_view>

namespace flagd {

struct SemVer {
  std::uint64_t major = 0, minor = 0, patch = 0;
  std::string_view prerelease;  // empty: a release
};

bool parse_semver(std::string_view text, SemVer& out) noexcept;
// <0, 0, >0 by SemVer precedence.
int compare_semver(const SemVer& a, const SemVer& b) noexcept;

}  // namespace flagd
