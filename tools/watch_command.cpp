#include "watch_command.hpp"

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <thread>

#include "flagd/printable.hpp"
#include "flagd/reader.hpp"

namespace flagd::cli {

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void request_stop(int) { stop_requested = 1; }

int usage(const std::string& message) {
  std::fprintf(stderr, "flagctl: %s\n(see flagctl --help)\n", message.c_str());
  return 2;
}

bool whole_number(const std::string& text, long long& value) {
  const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
  return problem == std::errc() && end == text.data() + text.size() && value > 0;
}

using Fingerprints = std::map<std::string, std::uint64_t>;

// The published flags and their generation, read from one image.
Fingerprints snapshot(const Reader& reader, std::uint64_t& generation) {
  Fingerprints flags;
  reader.read_together([&] {
    generation = reader.generation();
    flags.clear();
    for (const FlagSummary& f : reader.list()) flags.emplace(f.key, f.fingerprint);
  });
  return flags;
}

// " ~a ~b": the keys of one kind of change.
std::string keys(const std::vector<std::string>& names, char mark) {
  std::string s;
  for (const auto& n : names) s += std::string(" ") + mark + printable(n);
  return s;
}

}  // namespace

int watch_command(const std::string& segment, const std::vector<std::string>& args) {
  long long count = 0, interval_ms = 10;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--count" && i + 1 < args.size()) {
      if (!whole_number(args[++i], count)) return usage("--count takes a whole number above 0");
    } else if (args[i] == "--interval" && i + 1 < args.size()) {
      if (!whole_number(args[++i], interval_ms)) return usage("--interval takes a whole number of ms above 0");
    } else {
      return usage("watch takes [--count N] [--interval MS], not '" + args[i] + "'");
    }
  }
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);

  Reader reader = Reader::detached(segment);
  bool waiting_said = false;
  while (auto problem = reader.try_attach()) {
    if (problem->kind != AttachErrorKind::Missing) {
      std::fprintf(stderr, "flagctl: %s\n", problem->message.c_str());
      return 1;
    }
    if (!waiting_said) std::printf("waiting for segment '%s'\n", segment.c_str());
    std::fflush(stdout);
    waiting_said = true;
    if (stop_requested) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }

  std::uint64_t generation = 0;
  Fingerprints before = snapshot(reader, generation);
  std::printf("generation %llu: %zu flags\n", static_cast<unsigned long long>(generation), before.size());
  std::fflush(stdout);
  // Polling the generation is one read of shared memory: the change is seen within an interval.
  for (long long seen = 0; !stop_requested && (count == 0 || seen < count);) {
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    if (reader.generation() == generation) continue;
    std::uint64_t now = 0;
    const Fingerprints after = snapshot(reader, now);
    std::vector<std::string> changed, added, removed;
    for (const auto& [key, print] : after) {
      const auto it = before.find(key);
      if (it == before.end()) added.push_back(key);
      else if (it->second != print || print == 0) changed.push_back(key);  // 0: an image without hashes
    }
    for (const auto& [key, print] : before)
      if (after.count(key) == 0) removed.push_back(key);
    std::printf("generation %llu (%llu publication%s): %zu changed%s, %zu added%s, %zu removed%s\n",
                static_cast<unsigned long long>(now), static_cast<unsigned long long>(now - generation),
                now - generation == 1 ? "" : "s since the last line", changed.size(), keys(changed, '~').c_str(),
                added.size(), keys(added, '+').c_str(), removed.size(), keys(removed, '-').c_str());
    std::fflush(stdout);
    before = after;
    generation = now;
    ++seen;
  }
  return 0;
}

}  // namespace flagd::cli
