// `flagctl watch`: prints each publication of a segment, which flags it changed, added and
// removed, and what changed in each (flag_changes.hpp, as the daemon's log says it).
#pragma once

#include <string>
#include <vector>

namespace flagd::cli {

// Exit status: 0 after --count publications (or on SIGINT/SIGTERM) and for --help, 1 if the
// segment does not exist (within --wait) or is unreadable, 2 for a bad command line.
int watch_command(const std::string& segment, const std::vector<std::string>& args);

}  // namespace flagd::cli
