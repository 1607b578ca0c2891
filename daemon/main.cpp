// flagd: publishes feature flags from flagd-format JSON files into shared memory.
#include <grp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "daemon.hpp"
#include "flagd/command_line.hpp"
#include "serve_options.hpp"
#include "source_cache.hpp"
#include "source_uri.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: flagd [start] (--flags FILE | --uri URI | --sources JSON)... [--segment NAME]
             [--image-capacity MIB] [--group NAME | --readable-by-all] [--allow-any-file-owner] [--strict]
             [--watch [--watch-debounce MS] [--watch-max-wait MS]] [--metrics-file PATH]
             [--poll-interval SECONDS] [--ca-file PATH] [--auth-header-file PATH | --auth-header-env VAR]
             [--cache-dir DIR] [--startup-wait MS] [--audit-log FILE]

Loads flag definitions (OpenFeature flagd JSON format) from files and remote sources, publishes
their merge into the shared-memory segment NAME (default "flagd", /dev/shm/NAME), and serves it
until SIGTERM or SIGINT. Applications read it through the flagd reader library; `flagctl`
inspects it. flagd's own command line (`flagd start --uri ... --sources ...`) is accepted too.

Sources, merged in the order given (a later source's flag replaces an earlier one's):
  --flags FILE          a flag file
  --uri URI, -f URI     FILE or file:FILE; http://... or https://... (polled, with ETag and
                        If-Modified-Since, so an unchanged document costs a 304); etcd://HOST:PORT/KEY
                        (the key's value, pushed by etcd's watch; etcds:// for TLS);
                        grpc://HOST:PORT (a flagd or flagd-proxy sync stream, flagd.sync.v1;
                        grpcs:// for TLS)
  --sources JSON, -s JSON
                        flagd's JSON array of sources: [{"uri": ..., "provider": "file|http|grpc|etcd",
                        "selector", "providerID", "tls", "certPath", "interval", "maxMsgSize",
                        "authHeaderFile", "authHeaderEnv"}]; the inline secrets flagd takes
                        (bearerToken, authHeader) are refused: the command line is public
Each source keeps its last good document: one that fails or serves an invalid document leaves
its last good flags in the merge, and status and metrics say it is stale. A merge identical to
the published one publishes nothing.
  --poll-interval SECONDS
                        how often HTTP sources are polled (default: 5, as flagd), each host with
                        its own jitter
  --ca-file PATH        the CA bundle that https, etcds and grpcs servers are verified with
                        (default: the system's); TLS is always verified
  --auth-header-file PATH
                        the Authorization header's value for http(s) --uri sources ("Bearer ..."),
                        read from PATH at each request
  --auth-header-env VAR the same, from the environment variable VAR
  --cache-dir DIR       where each remote source's last good document is kept, so a daemon
                        started while its servers are unreachable publishes them (default:
                        $CACHE_DIRECTORY, else /var/cache/flagd for root, else ~/.cache/flagd)
  --startup-wait MS     how long the first publication waits for remote sources to answer
                        before it uses their cached copies (default: 5000)

Segment and files:
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
  --strict              refuse a flag file with a flag that breaks flagd's schema (a missing
                        state, variants of mixed types, an unknown operator...); by default such
                        a flag loads with a warning and answers as flagd answers it
  --watch               reload when a flag file changes, as well as on SIGHUP: edits in place,
                        editors that replace the file by rename, and Kubernetes ConfigMap updates
                        (the "..data" symlink swap); the files' directories are watched (inotify)
  --watch-debounce MS   how long the files must stay unchanged before the reload (default: 100)
  --watch-max-wait MS   the longest a reload waits after the first change of a burst, however
                        often the files keep changing (default: 1000; never less than the debounce)
  --metrics-file PATH   write metrics for Prometheus (node-exporter textfile format) to PATH
                        after every load attempt and every --metrics-interval, by rename:
                        reloads by result, generation, time of the last published load, flags,
                        expired flags, segment and image bytes, the heartbeat's time, the
                        image's SHA-256, flagSetId and version, build info
  --metrics-interval SECONDS
                        how often the metrics file is rewritten between loads (default: 15)
  --heartbeat-interval MS
                        how often the daemon beats in the segment, which `flagctl status` and
                        readers' status() judge it alive by (default: 1000)
  --audit-log FILE      append one JSON line per publication to FILE: its generation, time,
                        sources and their SHA-256, and what it changed in each flag (state,
                        default variant, variants, rule, metadata); the first publication lists
                        every flag, with "start": true. Created with the segment's mode and
                        group; opened again when FILE is renamed or removed (logrotate). The log
                        says the changes too, a line per flag (at most 20 per publication)
  --help                this text
  --version             the version

Signals: SIGHUP re-reads every file and publishes a new generation if the merge changed; a file
that is not valid keeps its last good flags, and the error is logged and shown by `flagctl status`. A SIGHUP during
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

// Options of flagd's own daemon that this one does not have; named as such, not as typos.
constexpr std::string_view kFlagdOnly[] = {"--port", "-p", "--management-port", "-m", "--cors-origin", "-C",
                                           "--metrics-exporter", "--otel-collector-uri", "--socket-path", "-d",
                                           "--log-format", "-z", "--debug", "-x", "--stream-deadline",
                                           "--disable-sync-metadata", "--sync-enable-sni"};

// A source as given, parsed once every option that supplies defaults has been read.
struct GivenSource {
  enum class Kind { File, Uri, Sources } kind;
  std::string value;
};

bool parse_whole(const std::string& value, long low, long high, long& out) {
  char* end = nullptr;
  out = std::strtol(value.c_str(), &end, 10);
  return !value.empty() && *end == '\0' && out >= low && out <= high;
}

}  // namespace

int main(int argc, char** argv) {
  flagd::DaemonOptions options;
  options.cache_dir = flagd::default_cache_directory();
  flagd::SourceConfig defaults;
  std::vector<GivenSource> given;
  int first = 1;
  if (argc > 1 && std::string_view(argv[1]) == "start") first = 2;  // flagd's subcommand
  for (int i = first; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string value;
    // A missing value is reported as an incomplete argument, below.
    const auto take = [&](std::string_view name) {
      return flagd::take_option(argc, argv, i, name, value) == flagd::OptionMatch::Taken;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage.data(), stdout);
      std::printf("\n%s", flagd::serve::kServeUsage);
      return 0;
    } else if (arg == "--version") {
      std::printf("flagd %s\n", FLAGD_VERSION);
      return 0;
    } else if (take("--flags")) {
      given.push_back({GivenSource::Kind::File, value});
    } else if (take("--uri") || take("-f")) {
      given.push_back({GivenSource::Kind::Uri, value});
    } else if (take("--sources") || take("-s")) {
      given.push_back({GivenSource::Kind::Sources, value});
    } else if (take("--poll-interval")) {
      long seconds = 0;
      if (!parse_whole(value, 1, 86400, seconds))
        return usage_error("--poll-interval takes a whole number of seconds from 1 to 86400");
      defaults.poll_interval = std::chrono::seconds(seconds);
    } else if (take("--ca-file")) {
      if (value.empty()) return usage_error("--ca-file needs a PATH");
      defaults.ca_file = value;
    } else if (take("--auth-header-file")) {
      if (value.empty()) return usage_error("--auth-header-file needs a PATH");
      defaults.authorization.file = value;
    } else if (take("--auth-header-env")) {
      if (value.empty()) return usage_error("--auth-header-env needs a variable name");
      defaults.authorization.env = value;
    } else if (take("--cache-dir")) {
      options.cache_dir = value;
    } else if (take("--startup-wait")) {
      long ms = 0;
      if (!parse_whole(value, 0, 600000, ms)) return usage_error("--startup-wait takes a whole number of ms from 0 to 600000");
      options.startup_wait_ms = static_cast<int>(ms);
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
    } else if (take("--audit-log")) {
      if (value.empty()) return usage_error("--audit-log needs a FILE");
      options.audit_log = value;
    } else if (take("--metrics-interval")) {
      long seconds = 0;
      if (!parse_whole(value, 1, 86400, seconds))
        return usage_error("--metrics-interval takes a whole number of seconds from 1 to 86400");
      options.metrics_interval_s = static_cast<int>(seconds);
    } else if (take("--heartbeat-interval")) {
      long ms = 0;
      if (!parse_whole(value, 10, 60000, ms))
        return usage_error("--heartbeat-interval takes a whole number of ms from 10 to 60000");
      options.heartbeat_ms = static_cast<int>(ms);
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
    } else if (arg == "--strict") {
      options.strictness = flagd::Strictness::Strict;
    } else if (std::string error; flagd::serve::parse_serve_option(argc, argv, i, options.serve, error)) {
      if (!error.empty()) return usage_error(error);
    } else {
      const std::string_view name = arg.substr(0, arg.find('='));
      for (std::string_view flagd_only : kFlagdOnly)
        if (name == flagd_only)
          return usage_error("flagd's " + std::string(name) + " is not supported by this daemon");
      return usage_error("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (!defaults.authorization.file.empty() && !defaults.authorization.env.empty())
    return usage_error("--auth-header-file and --auth-header-env exclude each other");
  for (const GivenSource& source : given) {
    std::string error;
    if (source.kind == GivenSource::Kind::File) {
      flagd::SourceConfig file;
      file.kind = flagd::SourceKind::File;
      file.uri = file.path = source.value;
      options.sources.push_back(std::move(file));
    } else if (source.kind == GivenSource::Kind::Uri) {
      std::optional<flagd::SourceConfig> config = flagd::parse_source_uri(source.value, defaults, error);
      if (!config) return usage_error(error);
      options.sources.push_back(std::move(*config));
    } else {
      std::optional<std::vector<flagd::SourceConfig>> list = flagd::parse_sources_json(source.value, defaults, error);
      if (!list) return usage_error(error);
      for (auto& config : *list) options.sources.push_back(std::move(config));
    }
  }
  for (flagd::SourceConfig& config : options.sources)
    if (config.kind != flagd::SourceKind::Http) config.authorization = {};  // the header is HTTP's alone
  if (options.sources.empty()) return usage_error("at least one source is required: --flags FILE, --uri URI or --sources JSON");
  if (options.access.group && options.access.readable_by_all)
    return usage_error("--group and --readable-by-all exclude each other");
  options.serve.segment = options.segment;
  if (options.serve.sync_document.empty()) options.serve.sync_document = flagd::serve::default_sync_document(options.segment);
  if (const std::string problem = flagd::serve::serve_options_problem(options.serve); !problem.empty())
    return usage_error(problem);
  return flagd::run_daemon(options);
}
