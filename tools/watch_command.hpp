// `flagctl watch`: prints each publication of a segment and which flags it changed.
#pragma once

#include <string>
#include <vector>

namespace flagd::cli {

// Exit status: 0 after --count publications (or on SIGINT/SIGTERM), 1 if the segment is
// unreadable, 2 for a bad command line.
int watch_command(const std::string& segment, const std::vector<std::string>& args);

}  // namespace flagd::cli
