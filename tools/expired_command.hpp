// `flagctl expired FILE... [--now DATE] [--within DAYS]`: the CI check that stops flags piling
// up. Lists flags past their metadata "expires" (and, with --within, those expiring soon).
#pragma once

#include <string>
#include <vector>

namespace flagd::cli {

// Exit status: 0 nothing expired, 1 a flag has expired, 2 a bad command line, 3 a file that does
// not load.
int expired_command(const std::vector<std::string>& args);

}  // namespace flagd::cli
