#include "serve_process.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace flagd {

ServeProcess::ServeProcess(std::string binary, std::vector<std::string> arguments)
    : binary_(std::move(binary)), arguments_(std::move(arguments)) {}

ServeProcess::~ServeProcess() { stop(); }

std::string ServeProcess::binary_beside_this_one() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "flagd-serve";
  const std::string self(path, static_cast<std::size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + "flagd-serve";
}

bool ServeProcess::start(std::string& error) {
  std::vector<std::string> args = {binary_};
  args.insert(args.end(), arguments_.begin(), arguments_.end());
  // It ends when the daemon does, however the daemon ends (PR_SET_PDEATHSIG, set by the child).
  args.emplace_back("--exit-with-parent");
  args.push_back(std::to_string(::getpid()));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The daemon blocks its signals to read them from a descriptor; the child starts with none
  // blocked and the default dispositions.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int failed = ::posix_spawn(&pid, binary_.c_str(), nullptr, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  if (failed != 0) {
    error = "cannot start " + binary_ + ": " + std::strerror(failed);
    started_ = Clock::now();  // a failed start is a run of no length: the delay grows
    ended(started_);
    return false;
  }
  pid_ = pid;
  started_ = Clock::now();
  return true;
}

void ServeProcess::ended(Clock::time_point now) {
  pid_ = -1;
  if (now - started_ >= std::chrono::minutes(1)) delay_ = std::chrono::seconds(0);
  delay_ = delay_.count() == 0 ? std::chrono::seconds(1) : std::min(delay_ * 2, std::chrono::seconds(60));
  restart_due_ = now + delay_;
}

std::optional<std::string> ServeProcess::reap() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done != pid_) return std::nullopt;
  ended(Clock::now());
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  return std::string("ended");
}

void ServeProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  // Longer than flagd-serve's own stop (its streams' shutdown takes up to 3 s).
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
}

}  // namespace flagd
