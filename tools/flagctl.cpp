// flagctl: the operator's and CI's command line for flagd.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval_command.hpp"
#include "expired_command.hpp"
#include "watch_command.hpp"
#include "flag_loader.hpp"
#include "flagd/reader.hpp"
#include "flagd/wall_clock.hpp"
#include "image_builder.hpp"
#include "flagd/printable.hpp"
#include "flagd/source_status.hpp"
#include "segment_lock.hpp"
#include "publisher.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: flagctl [--segment NAME] COMMAND [ARGS]

Commands:
  validate FILE...                 check flag files; prints OK, or every error (exit 1)
  expired FILE... [--now DATE] [--within DAYS]
                                   flags past their metadata "expires" (ISO-8601 date or
                                   date-time), with their owner; --within also lists those
                                   expiring in DAYS days; exit 1 if any has expired (a CI check)
  status                           the segment's generation, sources, last reload, daemon liveness
  list                             the flags of the published image
  watch [--count N] [--interval MS]
                                   print each publication and the flags it changed (~), added
                                   (+) and removed (-); polls the generation every MS (10) ms;
                                   stops after N publications, or on SIGINT/SIGTERM
  get FLAG [--context JSON]        evaluate FLAG through the reader library, as an application would
  eval --flags FILE [--flags FILE ...]
                                   evaluate without a daemon: reads JSON lines on stdin,
                                   {"flag": KEY, "type": "boolean|string|integer|float|object",
                                    "context": {...}, "default": VALUE}
                                   and writes one line per request,
                                   {"value", "variant", "reason", "errorCode", "flagMetadata"}

Options:
  --segment NAME   the segment to read (default: flagd)

Environment:
  FLAGD_SEGMENT_OWNER  the user (name or uid) who must own the segment (default: flagd, or the
                       user running flagctl; root always)
  --help, --version

Exit codes: 0 success; 1 invalid files, missing segment, failed command, or (expired) a flag
past its date; 2 bad command line; 3 (expired) files that do not load.
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "flagctl: %s\n(see flagctl --help)\n", message.c_str());
  return 2;
}

std::string format_time(std::uint64_t unix_ns) {
  if (unix_ns == 0) return "never";
  const auto seconds = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03uZ", static_cast<unsigned>((unix_ns / 1'000'000) % 1000));
  return std::string(text) + millis;
}

std::optional<flagd::Reader> attach_or_report(const std::string& segment) {
  auto reader = flagd::Reader::attach(segment);
  if (!reader) {
    std::fprintf(stderr, "flagctl: %s\n", reader.error().message.c_str());
    return std::nullopt;
  }
  return std::move(reader).value();
}

int validate(const std::vector<std::string>& files) {
  if (files.empty()) return usage_error("validate needs at least one FILE");
  // Strict: what flagd would load but breaks its schema (or is surely a mistake) fails here, so
  // that CI catches it before the daemon loads it with a warning.
  const flagd::LoadResult result = flagd::load_flag_files(files);
  for (const auto& d : result.diagnostics)
    std::fprintf(stderr, "%s\n", flagd::printable(flagd::format(d, flagd::Strictness::Strict)).c_str());
  if (!result.ok(flagd::Strictness::Strict)) return 1;
  std::printf("OK: %zu flags in %zu file%s\n", result.flags.flags.size(), files.size(),
              files.size() == 1 ? "" : "s");
  return 0;
}

int status(const std::string& segment) {
  auto reader = attach_or_report(segment);
  if (!reader) return 1;
  const flagd::SegmentStatus s = reader->status();
  // attach checked who owns the file; the daemon is judged by that user's evidence alone.
  const std::optional<pid_t> holder = flagd::SegmentLock::serving_daemon(segment, s.owner_uid, s.daemon_pid, s.daemon_running);
  std::printf("segment:       %s (layout %u, %llu bytes, two slots of %llu bytes)\n", segment.c_str(),
              s.layout_version, static_cast<unsigned long long>(s.segment_bytes),
              static_cast<unsigned long long>(s.slot_bytes));
  std::printf("generation:    %llu, published %s\n", static_cast<unsigned long long>(s.image_generation),
              format_time(s.image_published_unix_ns).c_str());
  std::printf("image:         %u flags, %llu bytes, sha256 %s\n", s.image_flag_count,
              static_cast<unsigned long long>(s.image_bytes), s.image_sha256.c_str());
  std::printf("sources:\n");
  for (const flagd::SourceStatus& source : flagd::decode_source_status(s.sources)) {
    std::printf("  %s: %s", flagd::printable(source.uri).c_str(), std::string(flagd::source_state_name(source.state)).c_str());
    if (!source.version.empty()) std::printf(", version %s", flagd::printable(source.version).c_str());
    std::printf(", %llu bytes", static_cast<unsigned long long>(source.bytes));
    if (source.fetch_latency_us != 0)
      std::printf(", fetched in %.1f ms", static_cast<double>(source.fetch_latency_us) / 1000.0);
    std::printf("\n    sha256 %s\n    last success %s, last attempt %s\n", source.sha256.empty() ? "-" : source.sha256.c_str(),
                format_time(source.last_success_unix_ns).c_str(), format_time(source.last_attempt_unix_ns).c_str());
    if (!source.error.empty()) std::printf("    error: %s\n", flagd::printable(source.error).c_str());
  }
  if (holder) {
    std::printf("daemon:        running, pid %d, since %s\n", static_cast<int>(*holder),
                format_time(s.daemon_started_unix_ns).c_str());
  } else {
    std::printf("daemon:        not running (last pid %u%s)\n", s.daemon_pid,
                s.daemon_running ? ", which did not stop cleanly" : ", stopped cleanly");
  }
  std::printf("reloads:       %llu published, %llu rejected\n",
              static_cast<unsigned long long>(s.reloads_ok), static_cast<unsigned long long>(s.reloads_failed));
  std::printf("last reload:   %s at %s\n", s.last_reload_ok ? "published" : "REJECTED",
              format_time(s.last_reload_unix_ns).c_str());
  std::printf("expired flags: %u%s\n", s.expired_flags,
              s.expired_flags != 0 ? " (still served; flagctl expired FILE... lists them)" : "");
  std::printf("load warnings: %u\n", s.load_warnings);
  if (s.load_warnings != 0)
    std::printf("  first:       %s%s\n", flagd::printable(s.first_warning).c_str(),
                s.load_warnings > 1 ? " (flagctl validate FILE... lists them all)" : "");
  if (!s.last_error.empty()) {
    // One diagnostic a line, each escaped within its line.
    std::printf("last error:\n");
    for (std::size_t at = 0; at < s.last_error.size();) {
      const std::size_t end = std::min(s.last_error.find('\n', at), s.last_error.size());
      std::printf("%s\n", flagd::printable(std::string_view(s.last_error).substr(at, end - at)).c_str());
      at = end + 1;
    }
  }
  if (s.superseded)
    std::printf("superseded:    this segment was replaced and the new one could not be followed\n");
  return 0;
}

const char* kind_name(flagd::layout::ValueKind kind) {
  switch (kind) {
    case flagd::layout::ValueKind::Boolean: return "boolean";
    case flagd::layout::ValueKind::String: return "string";
    case flagd::layout::ValueKind::Number: return "number";
    case flagd::layout::ValueKind::Object: return "object";
    case flagd::layout::ValueKind::Other: return "other";
    case flagd::layout::ValueKind::Mixed: return "mixed";
  }
  return "?";
}

int list(const std::string& segment) {
  auto reader = attach_or_report(segment);
  if (!reader) return 1;
  std::printf("# generation %llu\n", static_cast<unsigned long long>(reader->generation()));
  for (const auto& flag : reader->list()) {
    std::string variants;
    for (const auto& v : flag.variants) variants += (variants.empty() ? "" : ",") + flagd::printable(v);
    std::printf("%s\t%s\t%s\tdefault=%s\tvariants=%s\n", flagd::printable(flag.key).c_str(), kind_name(flag.kind),
                flag.state == flagd::layout::FlagState::Enabled ? "ENABLED" : "DISABLED",
                flag.default_variant ? flagd::printable(*flag.default_variant).c_str() : "(none)", variants.c_str());
  }
  return 0;
}

int get(const std::string& segment, const std::vector<std::string>& args) {
  std::string flag, context;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--context" && i + 1 < args.size()) {
      context = args[++i];
    } else if (flag.empty() && args[i].rfind("--", 0) != 0) {
      flag = args[i];
    } else {
      return usage_error("get takes FLAG [--context JSON], not '" + args[i] + "'");
    }
  }
  if (flag.empty()) return usage_error("get needs a FLAG");
  auto reader = attach_or_report(segment);
  if (!reader) return 1;
  flagd::cli::RequestEvaluator evaluator(*reader);
  std::printf("%s\n", evaluator.get(flag, context).c_str());
  return 0;
}

int eval(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--flags" && i + 1 < args.size()) {
      files.push_back(args[++i]);
    } else if (args[i].rfind("--flags=", 0) == 0) {
      files.push_back(args[i].substr(8));
    } else {
      return usage_error("eval takes --flags FILE [--flags FILE ...], not '" + args[i] + "'");
    }
  }
  if (files.empty()) return usage_error("eval needs at least one --flags FILE");
  flagd::LoadResult loaded = flagd::load_flag_files(files);
  for (const auto& d : loaded.diagnostics)
    std::fprintf(stderr, "%s\n", flagd::printable(flagd::format(d, flagd::Strictness::Lenient)).c_str());
  if (!loaded.ok()) return 1;

  // The same compile and evaluation code as the daemon and its readers, in private memory.
  flagd::StableIndex sizing;
  const std::size_t image_bytes = flagd::build_image(loaded.flags, sizing, {}).size();
  auto segment = std::make_shared<flagd::MemorySegment>(image_bytes);
  std::string error;
  auto publisher = flagd::Publisher::resume(segment->data(), error);
  if (!publisher || !publisher->publish(loaded.flags, flagd::unix_now_ns()).published) {
    std::fprintf(stderr, "flagctl: cannot compile the flags into an image\n");
    return 1;
  }
  auto reader = flagd::Reader::over_memory(segment, segment->data(), segment->size());
  if (!reader) {
    std::fprintf(stderr, "flagctl: %s\n", reader.error().message.c_str());
    return 1;
  }
  flagd::cli::RequestEvaluator evaluator(*reader);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string answer = evaluator.answer(line);
    std::fwrite(answer.data(), 1, answer.size(), stdout);
    std::fputc('\n', stdout);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string segment(flagd::kDefaultSegmentName);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::size_t i = 0;
  for (; i < args.size() && args[i].rfind("--", 0) == 0; ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kUsage.data(), stdout);
      return 0;
    }
    if (args[i] == "--version") {
      std::printf("flagctl %s (segment layout %u)\n", FLAGD_VERSION, flagd::layout::kLayoutVersion);
      return 0;
    }
    if (args[i] == "--segment" && i + 1 < args.size()) {
      segment = args[++i];
    } else if (args[i].rfind("--segment=", 0) == 0) {
      segment = args[i].substr(10);
    } else {
      return usage_error("unknown option '" + args[i] + "'");
    }
  }
  if (i >= args.size()) return usage_error("a COMMAND is required");
  if (const std::string problem = flagd::segment_name_problem(segment); !problem.empty())
    return usage_error(problem);
  const std::string command = args[i];
  const std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  if (command == "validate") return validate(rest);
  if (command == "status") return rest.empty() ? status(segment) : usage_error("status takes no arguments");
  if (command == "list") return rest.empty() ? list(segment) : usage_error("list takes no arguments");
  if (command == "get") return get(segment, rest);
  if (command == "eval") return eval(rest);
  if (command == "expired") return flagd::cli::expired_command(rest);
  if (command == "watch") return flagd::cli::watch_command(segment, rest);
  if (command == "help") {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  return usage_error("unknown command '" + command + "'");
}
