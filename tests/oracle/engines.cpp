#include "engines.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace flagd::oracle {

namespace {

// No single evaluation run takes this long; past it the command is taken to hang.
constexpr auto kHang = std::chrono::seconds(60);

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

pid_t start(const std::vector<std::string>& args, const std::string& in, const std::string& out,
            const std::string& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  return pid;
}

// Waits for both; a command still running after kHang is killed (and reported as such).
void wait_all(std::vector<std::pair<pid_t, int*>> children) {
  const auto deadline = std::chrono::steady_clock::now() + kHang;
  auto pause = std::chrono::microseconds(50);
  std::size_t left = children.size();
  while (left > 0) {
    for (auto& [pid, code] : children) {
      if (pid <= 0) continue;
      int status = 0;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        pid = -1;
        --left;
      } else if (r < 0) {
        *code = -1;
        pid = -1;
        --left;
      } else if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
      }
    }
    if (left == 0) break;
    std::this_thread::sleep_for(pause);
    if (pause < std::chrono::milliseconds(2)) pause *= 2;
  }
}

// Reads the answers, and stderr with the work directory taken out of the paths it names.
void read_answers(Run& run, const std::string& out, const std::string& err, const std::string& dir) {
  std::istringstream lines(read_file(out));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (auto j = parse_json(line)) run.answers.push_back(std::move(*j));
    else ++run.unreadable;
  }
  run.stderr_text = read_file(err);
  for (auto at = run.stderr_text.find(dir); at != std::string::npos; at = run.stderr_text.find(dir, at))
    run.stderr_text.erase(at, dir.size());
}

}  // namespace

Runs run_both(const Case& c, const Engines& engines, bool go_messages) {
  const std::string dir = engines.work_dir + "/";
  write_file(dir + "flags.json", file_text(c));
  write_file(dir + "requests.jsonl", requests_text(c));
  Runs runs;
  const pid_t a = start({engines.flagctl, "eval", "--flags", dir + "flags.json"}, dir + "requests.jsonl",
                        dir + "flagctl.out", dir + "flagctl.err");
  pid_t b = -1;
  try {
    std::vector<std::string> go_args = {engines.go_oracle, "--flags", dir + "flags.json"};
    if (go_messages) go_args.emplace_back("--messages");
    b = start(go_args, dir + "requests.jsonl", dir + "go.out", dir + "go.err");
  } catch (...) {
    ::kill(a, SIGKILL);
    ::waitpid(a, nullptr, 0);
    throw;
  }
  wait_all({{a, &runs.flagctl.exit_code}, {b, &runs.go.exit_code}});
  read_answers(runs.flagctl, dir + "flagctl.out", dir + "flagctl.err", dir);
  read_answers(runs.go, dir + "go.out", dir + "go.err", dir);
  return runs;
}

}  // namespace flagd::oracle
