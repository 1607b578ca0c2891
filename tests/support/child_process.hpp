// Child processes for the tests that run the daemon and flagctl binaries or fork readers.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace flagd::test {

// Waits for a condition that depends on another process; the bound only keeps a broken build
// from hanging CI, it is not a timing assertion.
template <class Condition>
bool eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A child process, killed when its owner goes out of scope; moved, never copied.
struct Process {
  pid_t pid = -1;
  std::string log;

  Process() = default;
  Process(Process&& other) noexcept : pid(std::exchange(other.pid, -1)), log(std::move(other.log)) {}
  Process& operator=(Process&& other) noexcept {
    if (this != &other) {
      stop();
      pid = std::exchange(other.pid, -1);
      log = std::move(other.log);
    }
    return *this;
  }

  enum class Stdout { Discard, ToLog };
  // Starts args[0] with stderr to `log` (appended to, or replacing it) and stdout discarded or
  // sent to the log too.
  static Process spawn(const std::vector<std::string>& args, const std::string& log, bool append = false,
                       Stdout out = Stdout::Discard) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC),
                                     0644);
    if (out == Stdout::ToLog) {
      posix_spawn_file_actions_adddup2(&actions, 2, 1);
    } else {
      posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    Process p;
    p.log = log;
    if (posix_spawn(&p.pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) p.pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    return p;
  }
  // Waits for the process to end; its exit code, or 128 + signal.
  int wait() {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~Process() { stop(); }

 private:
  void stop() noexcept {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    pid = -1;
  }
};

inline std::string run_capture(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

}  // namespace flagd::test
