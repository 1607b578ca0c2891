// flagctl: the operator's and CI's command line for flagd.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval_command.hpp"
#include "status_command.hpp"
#include "expired_command.hpp"
#include "watch_command.hpp"
#include "flag_loader.hpp"
#include "flagd/reader.hpp"
#include "json_value.hpp"
#include "flagd/wall_clock.hpp"
#include "image_builder.hpp"
#include "flagd/printable.hpp"
#include "flagd/source_status.hpp"
#include "segment_lock.hpp"
#include "publisher.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: flagctl [--segment NAME] [--json] COMMAND [ARGS]

Commands:
  validate FILE...                 check flag files; prints OK, or every error (exit 1)
  expired FILE... [--now DATE] [--within DAYS]
                                   flags past their metadata "expires" (ISO-8601 date or
                                   date-time), with their owner; --within also lists those
                                   expiring in DAYS days; exit 1 if any has expired (a CI check)
  status [--json]                  the segment's generation, sources, last reload, and whether
                                   the daemon is alive (its heartbeat's age); exit 4 if it is not
  list [--json]                    the flags of the published image
  watch [--count N] [--interval MS] [--wait SECONDS]
                                   print each publication, the flags it changed (~), added (+)
                                   and removed (-), and a line per flag with what changed (state,
                                   default variant, variants, metadata; rule or values by
                                   fingerprint); polls the generation every MS (10) ms; waits
                                   SECONDS (0) for a missing segment; stops after N
                                   publications, or on SIGINT/SIGTERM (watch --help: more)
  get FLAG [--type TYPE] [--context JSON]
                                   evaluate FLAG through the reader library, as an application
                                   would: as TYPE (boolean, string, integer, float, object) or
                                   else as the type of its variants; exit 1 if the answer is an
                                   error (FLAG_NOT_FOUND, TYPE_MISMATCH, ...), 2 for a --context
                                   that is not a JSON object
  eval --flags FILE [--flags FILE ...]
                                   evaluate without a daemon: reads JSON lines on stdin,
                                   {"flag": KEY, "type": "boolean|string|integer|float|object",
                                    "context": {...}, "default": VALUE}
                                   and writes one line per request,
                                   {"value", "variant", "reason", "errorCode", "flagMetadata"}

Options (before or after the command):
  --segment NAME   the segment to read (default: $FLAGD_SEGMENT, else flagd)
  --json           status and list as one JSON object
  --help, --version

Environment:
  FLAGD_SEGMENT        the segment to read when --segment is not given
  FLAGD_SEGMENT_OWNER  the user (name or uid) who must own the segment (default: flagd, or the
                       user running flagctl; root always)

Exit codes: 0 success; 1 invalid files, missing segment, failed command, (get) an error answer,
or (expired) a flag past its date; 2 bad command line; 3 (expired) files that do not load;
4 (status) no daemon alive.
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "flagctl: %s\n(see flagctl --help)\n", message.c_str());
  return 2;
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

std::string fingerprint_hex(std::uint64_t fingerprint) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(fingerprint));
  return text;
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

int list(const std::string& segment, bool json) {
  auto reader = attach_or_report(segment);
  if (!reader) return 1;
  const flagd::FlagListing listing = reader->listing();
  if (json) {
    // {"generation":N,"flags":[{"key","kind","state","defaultVariant","variants","fingerprint"}]}
    std::string out = "{\"generation\":" + std::to_string(listing.generation) + ",\"flags\":[";
    for (const auto& flag : listing.flags) {
      if (out.back() != '[') out += ',';
      out += "{\"key\":";
      flagd::append_json_string(out, flag.key);
      out += ",\"kind\":";
      flagd::append_json_string(out, kind_name(flag.kind));
      out += flag.state == flagd::layout::FlagState::Enabled ? ",\"state\":\"ENABLED\"" : ",\"state\":\"DISABLED\"";
      out += ",\"defaultVariant\":";
      if (flag.default_variant) flagd::append_json_string(out, *flag.default_variant);
      else out += "null";
      out += ",\"variants\":[";
      for (const auto& v : flag.variants) {
        if (out.back() != '[') out += ',';
        flagd::append_json_string(out, v);
      }
      out += "],\"fingerprint\":\"" + fingerprint_hex(flag.fingerprint) + "\"}";
    }
    out += "]}";
    std::printf("%s\n", out.c_str());
    return 0;
  }
  std::printf("# generation %llu\n", static_cast<unsigned long long>(listing.generation));
  for (const auto& flag : listing.flags) {
    std::string variants;
    for (const auto& v : flag.variants) variants += (variants.empty() ? "" : ",") + flagd::printable(v);
    std::printf("%s\t%s\t%s\tdefault=%s\tvariants=%s\n", flagd::printable(flag.key).c_str(), kind_name(flag.kind),
                flag.state == flagd::layout::FlagState::Enabled ? "ENABLED" : "DISABLED",
                flag.default_variant ? flagd::printable(*flag.default_variant).c_str() : "(none)", variants.c_str());
  }
  return 0;
}

// Prints the answer line; exit 0 when the flag answered, 1 when the evaluation failed
// (FLAG_NOT_FOUND, TYPE_MISMATCH, ...: the line says which), 2 for a bad --type or --context.
int get(const std::string& segment, const std::vector<std::string>& args) {
  std::string flag, context, type;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--context" && i + 1 < args.size()) {
      context = args[++i];
    } else if (args[i] == "--type" && i + 1 < args.size()) {
      type = args[++i];
    } else if (flag.empty() && args[i].rfind("--", 0) != 0) {
      flag = args[i];
    } else {
      return usage_error("get takes FLAG [--type TYPE] [--context JSON], not '" + args[i] + "'");
    }
  }
  if (flag.empty()) return usage_error("get needs a FLAG");
  auto reader = attach_or_report(segment);
  if (!reader) return 1;
  flagd::cli::RequestEvaluator evaluator(*reader);
  const flagd::cli::GetAnswer answer = evaluator.get(flag, type, context);
  if (!answer.usage_error.empty()) return usage_error(answer.usage_error);
  std::printf("%s\n", answer.line.c_str());
  return answer.error == flagd::ErrorCode::None ? 0 : 1;
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

// Options every command takes, before or after it: what they set, the rest of the words.
struct CommonOptions {
  std::string segment;
  bool json = false;
  bool help = false;
  bool version = false;
  std::string error;
  std::vector<std::string> words;  // the command and its own arguments, in order
};

CommonOptions common_options(const std::vector<std::string>& args) {
  CommonOptions o;
  // The environment's segment, then the command line's.
  const char* from_environment = std::getenv("FLAGD_SEGMENT");
  o.segment = from_environment && *from_environment ? from_environment : std::string(flagd::kDefaultSegmentName);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    // After the command, --help is the command's (watch has its own); before it, flagctl's.
    if ((a == "--help" || a == "-h") && o.words.empty()) {
      o.help = true;
    } else if (a == "--version" && o.words.empty()) {
      o.version = true;
    } else if (a == "--segment") {
      if (i + 1 >= args.size()) o.error = "--segment needs a NAME";
      else o.segment = args[++i];
    } else if (a.rfind("--segment=", 0) == 0) {
      o.segment = a.substr(10);
    } else if (a == "--json") {
      o.json = true;
    } else if (o.words.empty() && a.rfind("--", 0) == 0) {
      o.error = "unknown option '" + a + "'";
    } else {
      o.words.push_back(a);
    }
    if (!o.error.empty()) break;
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const CommonOptions o = common_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!o.error.empty()) return usage_error(o.error);
  if (o.help) {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  if (o.version) {
    std::printf("flagctl %s (segment layout %u)\n", FLAGD_VERSION, flagd::layout::kLayoutVersion);
    return 0;
  }
  if (o.words.empty()) return usage_error("a COMMAND is required");
  if (const std::string problem = flagd::segment_name_problem(o.segment); !problem.empty())
    return usage_error(problem);
  const std::string& command = o.words.front();
  const std::vector<std::string> rest(o.words.begin() + 1, o.words.end());
  const bool asks_help = std::any_of(rest.begin(), rest.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
  if (asks_help && command != "watch") {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  const auto json_not_taken = [&] { return usage_error(command + " has no --json form"); };
  if (command == "validate") return o.json ? json_not_taken() : validate(rest);
  if (command == "status")
    return rest.empty() ? flagd::cli::status_command(o.segment, o.json) : usage_error("status takes no arguments");
  if (command == "list") return rest.empty() ? list(o.segment, o.json) : usage_error("list takes no arguments");
  if (command == "get") return o.json ? json_not_taken() : get(o.segment, rest);  // its line is JSON already
  if (command == "eval") return o.json ? json_not_taken() : eval(rest);
  if (command == "expired") return o.json ? json_not_taken() : flagd::cli::expired_command(rest);
  if (command == "watch") return o.json ? json_not_taken() : flagd::cli::watch_command(o.segment, rest);
  if (command == "help") {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  return usage_error("unknown command '" + command + "'");
}
