// Names of shared-memory segments: what is allowed, and the files that go with a name.
#pragma once

#include <string>
#include <string_view>

namespace flagd {

inline constexpr std::string_view kDefaultSegmentName = "flagd";
inline constexpr std::size_t kMaxSegmentNameBytes = 200;

// Empty when `name` is a valid segment name (1..200 of letters, digits, '.', '_', '-', not
// starting with '.'); otherwise a sentence saying why it is not.
std::string segment_name_problem(std::string_view name);

// The file of segment `name`: /dev/shm/NAME, which the sticky, world-writable /dev/shm lets only
// its owner (or root) remove or rename.
std::string segment_path(std::string_view name);

// The lock file a daemon holds while it serves `name`: /dev/shm/.NAME.lock, beside the segment
// and never a segment itself.
std::string segment_lock_path(std::string_view name);

// A second name the daemon keeps for the segment it serves, /dev/shm/.NAME.segment, so that a
// daemon started after /dev/shm/NAME was removed finds the old segment, hands its image over
// and marks it superseded for the readers still mapping it.
std::string segment_link_path(std::string_view name);

}  // namespace flagd
