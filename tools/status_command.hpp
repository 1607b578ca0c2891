// `flagctl status`: what the segment holds and how its daemon is, as text or as JSON.
#pragma once

#include <cstdint>
#include <string>

namespace flagd::cli {

// Exit status: 0 with the daemon alive (its heartbeat recent), 1 if the segment is unreadable,
// 4 if it is readable but no daemon has beaten recently (readers keep the last image).
int status_command(const std::string& segment, bool json);

// "2026-12-02T19:37:07.123Z"; "never" for 0.
std::string format_time(std::uint64_t unix_ns);

}  // namespace flagd::cli
