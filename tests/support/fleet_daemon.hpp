// The daemon binary with remote sources, for end-to-end tests: started with the short intervals
// that keep a test quick (--poll-interval 1, --startup-wait 500), its metrics and cache in a
// directory of the test's, and read back as operators read it: the segment through flagd::Reader
// (this process is not the daemon's), the per-source status lines, the metrics file, the log.
#pragma once

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "child_process.hpp"
#include "flagd/reader.hpp"
#include "flagd/source_status.hpp"
#include "named_segment.hpp"

namespace flagd::test {

// A flag document with one string flag per (key, value): the flag's single variant is the value.
inline std::string string_flags(const std::vector<std::pair<std::string, std::string>>& flags) {
  std::string text = R"({"flags": {)";
  for (std::size_t i = 0; i < flags.size(); ++i) {
    if (i != 0) text += ", ";
    text += "\"" + flags[i].first + R"(": {"state": "ENABLED", "variants": {"v": ")" + flags[i].second +
            R"("}, "defaultVariant": "v"})";
  }
  return text + "}}\n";
}

// What a daemon's files are called in the directory a test gives it.
struct FleetPaths {
  std::string directory;
  std::string metrics() const { return directory + "/flagd.prom"; }
  std::string cache() const { return directory + "/cache"; }
};

class FleetDaemon {
 public:
  // Starts flagd on `segment` with `sources` (e.g. {"--uri", URL}) and `extra` options; its log is
  // `log_name` in the directory.
  FleetDaemon(std::string segment, FleetPaths paths, const std::vector<std::string>& sources,
              const std::vector<std::string>& extra = {}, const std::string& log_name = "daemon.log")
      : segment_(std::move(segment)), paths_(std::move(paths)) {
    std::vector<std::string> args = {FLAGD_BINARY};
    args.insert(args.end(), sources.begin(), sources.end());
    args.insert(args.end(), {"--segment", segment_, "--metrics-file", paths_.metrics(), "--cache-dir", paths_.cache(),
                             "--poll-interval", "1", "--startup-wait", "500"});
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = Process::spawn(args, paths_.directory + "/" + log_name);
  }

  pid_t pid() const noexcept { return process_.pid; }
  bool started() const noexcept { return process_.pid > 0; }
  std::string log() const { return read_file(process_.log); }
  std::string metrics() const { return read_file(paths_.metrics()); }
  const std::string& segment() const noexcept { return segment_; }

  // A reader of the segment once the daemon made it (an image may not be published yet).
  Reader& reader() {
    if (!reader_) {
      eventually([&] {
        auto attached = Reader::attach(segment_);
        if (!attached) return false;
        reader_.emplace(std::move(attached).value());
        return true;
      });
      if (!reader_) throw std::runtime_error("the daemon made no segment '" + segment_ + "'; its log:\n" + log());
    }
    return *reader_;
  }
  bool published() { return reader().generation() >= 1; }
  std::uint64_t generation() { return reader().generation(); }
  // The string value of `key` as an application sees it, "" if it has none.
  std::string value(std::string_view key) {
    Reader& r = reader();
    return r.get_string(r.resolve(key), "");
  }

  // The status line of the source at `index` (in the order given), as the daemon last wrote it.
  std::optional<SourceStatus> source(std::size_t index) {
    std::vector<SourceStatus> all = decode_source_status(reader().status().sources);
    if (index >= all.size()) return std::nullopt;
    return all[index];
  }
  // Waits (bounded) until the source at `index` is in `state`.
  bool source_becomes(std::size_t index, SourceState state) {
    return eventually([&] {
      const std::optional<SourceStatus> s = source(index);
      return s && s->state == state;
    });
  }

  // SIGTERM and the exit code.
  int stop() {
    if (process_.pid <= 0) return -1;
    ::kill(process_.pid, SIGTERM);
    return process_.wait();
  }

 private:
  std::string segment_;
  FleetPaths paths_;
  Process process_;
  std::optional<Reader> reader_;
};

// The value of the sample of `name` whose labels contain `labels` (e.g. `result="unchanged"`),
// in a metrics text; nullopt if there is none.
inline std::optional<double> metric_value(const std::string& text, const std::string& name, const std::string& labels) {
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (line.substr(0, name.size() + 1) != name + "{") continue;
    const std::size_t close = line.find("} ");
    if (close == std::string_view::npos || line.substr(0, close).find(labels) == std::string_view::npos) continue;
    return std::strtod(std::string(line.substr(close + 2)).c_str(), nullptr);
  }
  return std::nullopt;
}

// flagctl status for `segment`, stdout and stderr together.
inline std::string flagctl_status(const std::string& segment) {
  return run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment + " status 2>&1");
}

}  // namespace flagd::test
