// The daemon's log: one line per event on stderr, "TIME flagd[PID]: LEVEL: message"; under
// systemd's journal, "<PRIORITY>LEVEL: message".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "flagd/printable.hpp"

namespace flagd {

namespace log {

// Each message is one record: printable() escapes what it holds, newlines included.
void info(std::string_view message);
void warning(std::string_view message);
void error(std::string_view message);

}  // namespace log
}  // namespace flagd
