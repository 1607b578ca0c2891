#include "watch_command.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>

#include "flag_changes.hpp"
#include "flagd/printable.hpp"
#include "flagd/reader.hpp"
#include "json_value.hpp"

namespace flagd::cli {

namespace {

constexpr std::string_view kWatchUsage = R"(usage: flagctl [--segment NAME] watch [--count N] [--interval MS] [--wait SECONDS]

Prints each publication of the segment: a line with its generation and the flags it changed (~),
added (+) and removed (-), then a line per flag with what changed in it:

  generation 8 (1 publication): 2 changed ~checkout ~search, 1 added +dark-mode, 0 removed
    flag 'checkout' changed: state ENABLED -> DISABLED; default variant 'a' -> 'b'
    flag 'search' changed: rule or values changed (fingerprint 5e0c2d1f8a9b3c47 -> 91aa04c3e5f60b12)
    flag 'dark-mode' added: ENABLED, default variant 'off'

It reads only the segment, as any reader may: states, default variants, variant names, types and
metadata are in it; rule texts and variant values are not, and a change to them shows as "rule or
values changed" with the flag's fingerprints (those `flagctl list --json` shows), and a
publication that changed what watch sees of a flag may have changed its rule or values too. The
daemon's log and its --audit-log file say what changed in those.

  --count N        stop after N publications (default: run until SIGINT or SIGTERM)
  --interval MS    how often the generation is read (default: 10; one read of shared memory)
  --wait SECONDS   how long to wait for a segment that does not exist yet (default: 0, fail at once)
  --help           this text

Exit codes: 0 after N publications, or on SIGINT/SIGTERM; 1 no segment (within --wait), or one
that cannot be read; 2 bad command line.
)";

volatile std::sig_atomic_t stop_requested = 0;
void request_stop(int) { stop_requested = 1; }

int usage(const std::string& message) {
  std::fprintf(stderr, "flagctl: %s\n(see flagctl watch --help)\n", message.c_str());
  return 2;
}

bool whole_number(const std::string& text, long long low, long long high, long long& value) {
  const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
  return problem == std::errc() && end == text.data() + text.size() && value >= low && value <= high;
}

std::string metadata_json(const MetadataValue& item) {
  std::string out;
  if (const bool* b = std::get_if<bool>(&item.value)) out = *b ? "true" : "false";
  else if (const std::string* s = std::get_if<std::string>(&item.value)) append_json_string(out, *s);
  else if (const double* d = std::get_if<double>(&item.value)) append_json_number(out, *d);
  else out = std::get<MetadataJson>(item.value).text;
  return out;
}

// Handles by key, each resolved once: a reader keeps every handle it resolves for its life.
using Handles = std::unordered_map<std::string, Handle>;

Handle handle_of(Reader& reader, Handles& handles, const std::string& key) {
  const auto found = handles.find(key);
  return found != handles.end() ? found->second : handles.emplace(key, reader.resolve(key)).first->second;
}

// What a reader knows of a flag: all but its rule's text and its variants' values.
FlagFacts facts_of(Reader& reader, Handles& handles, const FlagSummary& summary) {
  FlagFacts f;
  f.key = summary.key;
  f.enabled = summary.state != layout::FlagState::Disabled;
  f.kind = summary.kind;
  f.default_variant = summary.default_variant;
  for (const std::string& name : summary.variants) f.variants.emplace_back(name, std::nullopt);
  std::sort(f.variants.begin(), f.variants.end());
  std::vector<MetadataValue> metadata;
  if (reader.metadata(handle_of(reader, handles, summary.key), metadata))
    for (const MetadataValue& item : metadata) f.metadata.emplace_back(item.key, metadata_json(item));
  std::sort(f.metadata.begin(), f.metadata.end());
  f.fingerprint = summary.fingerprint;
  return f;
}

// The published flags and their generation, read from one image.
std::vector<FlagFacts> snapshot(Reader& reader, Handles& handles, std::uint64_t& generation) {
  std::vector<FlagFacts> flags;
  reader.read_together([&] {
    generation = reader.generation();
    flags.clear();
    for (const FlagSummary& f : reader.list()) flags.push_back(facts_of(reader, handles, f));
  });
  sort_facts(flags);
  return flags;
}

// " ~a ~b": the keys of one kind of change.
std::string keys(const std::vector<FlagDiff>& diffs, FlagDiff::Kind kind, char mark, std::size_t& count) {
  std::string s;
  count = 0;
  for (const FlagDiff& d : diffs) {
    if (d.kind != kind) continue;
    s += std::string(" ") + mark + printable(d.key);
    ++count;
  }
  return s;
}

// Attaches, waiting up to `wait_s` seconds for a segment that does not exist yet; the reason if
// it could not.
std::optional<std::string> attach(Reader& reader, const std::string& segment, long long wait_s, long long interval_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  bool waiting_said = false;
  while (std::optional<AttachError> problem = reader.try_attach()) {
    if (problem->kind != AttachErrorKind::Missing) return problem->message;
    if (wait_s == 0) return problem->message + "; watch --wait SECONDS waits for it";
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return problem->message + "; waited " + std::to_string(wait_s) + " s for it";
    if (!waiting_said) std::printf("waiting up to %lld s for segment '%s'\n", wait_s, printable(segment).c_str());
    std::fflush(stdout);
    waiting_said = true;
    if (stop_requested) return std::nullopt;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(interval_ms), deadline - now));
  }
  return std::nullopt;
}

}  // namespace

int watch_command(const std::string& segment, const std::vector<std::string>& args) {
  long long count = 0, interval_ms = 10, wait_s = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--help" || a == "-h") {
      std::fputs(kWatchUsage.data(), stdout);
      return 0;
    } else if (a == "--count") {
      if (!has_value || !whole_number(args[++i], 1, 1LL << 62, count)) return usage("--count takes a whole number above 0");
    } else if (a == "--interval") {
      if (!has_value || !whole_number(args[++i], 1, 3'600'000, interval_ms))
        return usage("--interval takes a whole number of ms from 1 to 3600000");
    } else if (a == "--wait") {
      if (!has_value || !whole_number(args[++i], 0, 86'400, wait_s))
        return usage("--wait takes a whole number of seconds from 0 to 86400");
    } else {
      return usage("watch takes [--count N] [--interval MS] [--wait SECONDS], not '" + a + "'");
    }
  }
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);

  Reader reader = Reader::detached(segment);
  if (const std::optional<std::string> problem = attach(reader, segment, wait_s, interval_ms)) {
    std::fprintf(stderr, "flagctl: %s\n", problem->c_str());
    return 1;
  }
  if (stop_requested) return 0;

  Handles handles;
  std::uint64_t generation = 0;
  std::vector<FlagFacts> before = snapshot(reader, handles, generation);
  std::printf("generation %llu: %zu flags\n", static_cast<unsigned long long>(generation), before.size());
  std::fflush(stdout);
  // Polling the generation is one read of shared memory: the change is seen within an interval.
  for (long long seen = 0; !stop_requested && (count == 0 || seen < count);) {
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    if (reader.generation() == generation) continue;
    std::uint64_t now = 0;
    std::vector<FlagFacts> after = snapshot(reader, handles, now);
    const std::vector<FlagDiff> diffs = diff_flags(before, after);
    std::size_t changed = 0, added = 0, removed = 0;
    const std::string changed_keys = keys(diffs, FlagDiff::Kind::Changed, '~', changed);
    const std::string added_keys = keys(diffs, FlagDiff::Kind::Added, '+', added);
    const std::string removed_keys = keys(diffs, FlagDiff::Kind::Removed, '-', removed);
    std::printf("generation %llu (%llu publication%s): %zu changed%s, %zu added%s, %zu removed%s\n",
                static_cast<unsigned long long>(now), static_cast<unsigned long long>(now - generation),
                now - generation == 1 ? "" : "s since the last line", changed, changed_keys.c_str(), added,
                added_keys.c_str(), removed, removed_keys.c_str());
    // Changed flags first, then added, then removed: the order of the line above.
    for (const FlagDiff::Kind kind : {FlagDiff::Kind::Changed, FlagDiff::Kind::Added, FlagDiff::Kind::Removed})
      for (const FlagDiff& d : diffs)
        if (d.kind == kind) std::printf("  %s\n", printable(describe(d)).c_str());
    std::fflush(stdout);
    before = std::move(after);
    generation = now;
    ++seen;
  }
  return 0;
}

}  // namespace flagd::cli
