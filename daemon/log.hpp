// The daemon's log: one line per event on stderr, "TIME flagd[PID]: LEVEL: message"; under
// systemd's journal, "<PRIORITY>LEVEL: message".
#pragma once

#include <string_view>

namespace flagd::log {

void info(std::string_view message);
void warning(std::string_view message);
void error(std::string_view message);

}  // namespace flagd::log
