// flagd: publishes feature flags from flagd-format JSON files into shared memory.
#include <grp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "daemon.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: flagd --flags FILE [--flags FILE ...] [--segment NAME] [--image-capacity MIB]
             [--group NAME | --readable-by-all] [--allow-any-file-owner] [--watch [--watch-debounce MS]
             [--watch-max-wait MS]] [--metrics-file PATH]

Loads flag definitions (OpenFeature flagd JSON format), publishes them into the shared-memory
segment NAME (default "flagd", /dev/shm/NAME), and serves it until SIGTERM or SIGINT. Applications
read it through the flagd reader library; `flagctl` inspects it.

  --flags FILE          a flag file; repeat for several (a later file's flag replaces an earlier one)
  --segment NAME        segment name: letters, digits, '.', '_', '-' (default: flagd)
  --image-capacity MIB  bytes of each of the segment's two image slots, in MiB (default: 16, for a
                        new segment); an existing segment with smaller slots is replaced by a new
                        one of this size, whose readers move to it by themselves
  --group NAME          the group whose members may read the segment (mode 0640; default: the
                        daemon's own group); the daemon's user must belong to it
  --readable-by-all     let every user read the segment (mode 0644)
  --allow-any-file-owner
                        load flag files owned by any user or writable by all; by default the
                        daemon refuses them, since whoever can edit them decides what readers see
  --watch               reload when a flag file changes, as well as on SIGHUP: edits in place,
                        editors that replace the file by rename, and Kubernetes ConfigMap updates
                        (the "..data" symlink swap); the files' directories are watched (inotify)
  --watch-debounce MS   how long the files must stay unchanged before the reload (default: 100)
  --watch-max-wait MS   the longest a reload waits after the first change of a burst, however
                        often the files keep changing (default: 1000; never less than the debounce)
  --metrics-file PATH   write metrics for Prometheus (node-exporter textfile format) to PATH
                        after every load attempt, by rename: reloads by result, generation,
                        time of the last published load, flags, expired flags, segment and image
                        bytes, build info
  --help                this text
  --version             the version

Signals: SIGHUP re-reads every file and publishes a new generation if all are valid; otherwise
the published flags stay and the error is logged and shown by `flagctl status`. A SIGHUP during
a load reloads again after it. SIGTERM / SIGINT stop the daemon at once, even during a load (which
is then not published); the segment and its last image stay for running readers.

Files that do not load at start-up: if the segment holds an image (an earlier daemon published
it), the daemon keeps serving it, reports the rejected files (log, `flagctl status`, metrics) and
publishes the first load that succeeds (SIGHUP, or a change with --watch). A new segment, or one
with no image, and files that do not load: exit 1.

Only the daemon's user can write the segment; readers map it read-only. The daemon needs no
privilege: run it as an unprivileged user of its own.

Exit codes: 0 stopped by a signal; 1 could not start (files invalid at start-up and no image to
serve, segment held by another daemon, segment unusable); 2 bad command line.
)";

// The id of the group named `name` (or given as a number), if there is one.
std::optional<gid_t> group_id(const std::string& name) {
  std::vector<char> buffer(16384);
  group entry{};
  group* found = nullptr;
  if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr)
    return found->gr_gid;
  char* end = nullptr;
  const unsigned long number = std::strtoul(name.c_str(), &end, 10);
  if (!name.empty() && *end == '\0' && number < 0xFFFFFFFFul) return static_cast<gid_t>(number);
  return std::nullopt;
}

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
      options.grow_segment = true;
    } else if (take("--group")) {
      const std::optional<gid_t> gid = group_id(value);
      if (!gid) return usage_error("--group: no group named '" + value + "'");
      options.access.group = gid;
    } else if (arg == "--readable-by-all") {
      options.access.readable_by_all = true;
    } else if (take("--metrics-file")) {
      if (value.empty()) return usage_error("--metrics-file needs a PATH");
      options.metrics_file = value;
    } else if (arg == "--watch") {
      options.watch = true;
    } else if (take("--watch-debounce")) {
      char* end = nullptr;
      const long ms = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || ms < 0 || ms > 60000)
        return usage_error("--watch-debounce takes a whole number of ms from 0 to 60000");
      options.watch_debounce_ms = static_cast<int>(ms);
    } else if (take("--watch-max-wait")) {
      char* end = nullptr;
      const long ms = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || ms < 0 || ms > 600000)
        return usage_error("--watch-max-wait takes a whole number of ms from 0 to 600000");
      options.watch_max_wait_ms = static_cast<int>(ms);
    } else if (arg == "--allow-any-file-owner") {
      options.allow_any_file_owner = true;
    } else {
      return usage_error("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (options.flag_files.empty()) return usage_error("at least one --flags FILE is required");
  if (options.access.group && options.access.readable_by_all)
    return usage_error("--group and --readable-by-all exclude each other");
  return flagd::run_daemon(options);
}
