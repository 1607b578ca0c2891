#include "log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

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
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string line = std::string(stamp) + "." + (millis < 100 ? (millis < 10 ? "00" : "0") : "") +
                     std::to_string(millis) + "Z flagd[" + std::to_string(::getpid()) + "]: " +
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
