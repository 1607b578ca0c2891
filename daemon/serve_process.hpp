// flagd-serve as the daemon's child: started when the daemon is asked to serve (--sync-port,
// --ofrep-port...), restarted after a crash with a growing delay, stopped with the daemon. It is
// a process of its own, mapping the segment read-only, so that no client of it, however many or
// slow, and no fault in it can delay or corrupt a publication (docs/architecture.md).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace flagd {

class ServeProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // `binary`: flagd-serve; `arguments`: its command line after the program's name.
  ServeProcess(std::string binary, std::vector<std::string> arguments);
  ~ServeProcess();  // stops it
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Starts it; false and `error` if it could not be started (it is tried again at restart_due()).
  bool start(std::string& error);
  // After a SIGCHLD: reaps it if it has ended, and says how it ended; nullopt if it still runs.
  std::optional<std::string> reap();
  bool running() const noexcept { return pid_ > 0; }
  // When to start it again after it ended: 1 s after the first failure, doubling to 60 s; a run
  // of a minute or more resets the delay.
  Clock::time_point restart_due() const noexcept { return restart_due_; }
  pid_t pid() const noexcept { return pid_; }
  // SIGTERM, then SIGKILL if it has not ended within 5 s.
  void stop();

  // flagd-serve beside this process's own executable.
  static std::string binary_beside_this_one();

 private:
  void ended(Clock::time_point now);

  std::string binary_;
  std::vector<std::string> arguments_;
  pid_t pid_ = -1;
  Clock::time_point started_{};
  Clock::time_point restart_due_{};
  std::chrono::seconds delay_{0};
};

}  // namespace flagd
