// flagd: publishes feature flags from flagd-format JSON files into shared memory.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: flagd --flags FILE [--flags FILE ...] [--segment NAME] [--image-capacity MIB]

Loads flag definitions (OpenFeature flagd JSON format), publishes them into the shared-memory
segment NAME (default "flagd", /dev/shm/NAME), and serves it until SIGTERM or SIGINT. Applications
read it through the flagd reader library; `flagctl` inspects it.

  --flags FILE          a flag file; repeat for several (a later file's flag replaces an earlier one)
  --segment NAME        segment name: letters, digits, '.', '_', '-' (default: flagd)
  --image-capacity MIB  bytes of each of the segment's two image slots, in MiB, when the segment is
                        created (default: 16); an existing segment keeps its size
  --help                this text
  --version             the version

Signals: SIGHUP re-reads every file and publishes a new generation if all are valid; otherwise
the published flags stay and the error is logged and shown by `flagctl status`.
SIGTERM / SIGINT stop the daemon; the segment and its last image stay for running readers.

Exit codes: 0 stopped by a signal; 1 could not start (files invalid at start-up, segment held
by another daemon, segment unusable); 2 bad command line.
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "flagd: %s\n(see flagd --help)\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  flagd::DaemonOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string value;
    const auto take = [&](std::string_view name) {
      if (arg == name) {
        if (i + 1 >= argc) return false;
        value = argv[++i];
        return true;
      }
      if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
        value = std::string(arg.substr(name.size() + 1));
        return true;
      }
      return false;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage.data(), stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("flagd %s\n", FLAGD_VERSION);
      return 0;
    } else if (take("--flags")) {
      options.flag_files.push_back(value);
    } else if (take("--segment")) {
      options.segment = value;
    } else if (take("--image-capacity")) {
      char* end = nullptr;
      const unsigned long long mib = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || mib == 0 || mib > 4000)
        return usage_error("--image-capacity takes a whole number of MiB from 1 to 4000");
      options.image_capacity = mib << 20;
    } else {
      return usage_error("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (options.flag_files.empty()) return usage_error("at least one --flags FILE is required");
  return flagd::run_daemon(options);
}
