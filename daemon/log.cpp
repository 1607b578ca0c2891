#include "log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "flagd/printable.hpp"
#include "flagd/wall_clock.hpp"

namespace flagd::log {

namespace {

// Under systemd, stderr is the journal's stream (JOURNAL_STREAM names its device and inode):
// lines then carry their priority as "<N>" (sd-daemon(3)) and no time or pid, which the journal
// records itself.
bool to_journal() {
  static const bool journal = [] {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
    struct stat info{};
    return ::fstat(STDERR_FILENO, &info) == 0 && info.st_dev == device && info.st_ino == inode;
  }();
  return journal;
}

void write(int priority, std::string_view level, std::string_view message) {
  if (to_journal()) {
    const std::string line = "<" + std::to_string(priority) + ">" + std::string(level) + ": " + printable(message) + '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
    return;
  }
  std::string line = rfc3339_utc(unix_now_ns()) + " flagd[" + std::to_string(::getpid()) + "]: " +
                     std::string(level) + ": ";
  // One event, one line: an embedded newline, escaped, cannot split it or forge another.
  line += printable(message);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}
}  // namespace

// Priorities of syslog(3): LOG_ERR 3, LOG_WARNING 4, LOG_INFO 6.
void info(std::string_view message) { write(6, "info", message); }
void warning(std::string_view message) { write(4, "warning", message); }
void error(std::string_view message) { write(3, "error", message); }

}  // namespace flagd::log
