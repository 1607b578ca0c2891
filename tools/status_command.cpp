#include "status_command.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string_view>

#include "flagd/printable.hpp"
#include "flagd/reader.hpp"
#include "flagd/source_status.hpp"
#include "flagd/wall_clock.hpp"
#include "json_value.hpp"
#include "segment_lock.hpp"

namespace flagd::cli {

namespace {

// What the segment says of its daemon, judged by what a dead daemon cannot fake: a process that
// holds the segment's lock (or, where the lock cannot be opened, the recorded pid that exists),
// and a recent heartbeat. The lock tells a daemon gone a moment ago from one alive; the heartbeat
// tells a daemon stuck from one working.
struct Liveness {
  std::optional<pid_t> holder;
  std::optional<std::uint64_t> age_ns;  // since its last heartbeat
  bool beating = false;                 // beat recently
  bool alive() const noexcept { return holder && beating; }
};

Liveness liveness_of(const std::string& segment, const SegmentStatus& s) {
  Liveness l;
  l.holder = SegmentLock::serving_daemon(segment, s.owner_uid, s.daemon_pid, s.daemon_running);
  const std::uint64_t now = unix_now_ns();
  l.age_ns = s.heartbeat_age_ns(now);
  l.beating = s.daemon_alive(now);
  return l;
}

std::string milliseconds(std::uint64_t ns) { return std::to_string(ns / 1'000'000) + " ms"; }

std::string daemon_line(const SegmentStatus& s, const Liveness& l) {
  const std::string beat = l.age_ns ? "last heartbeat " + milliseconds(*l.age_ns) + " ago" : "no heartbeat recorded";
  const std::string kept = "; readers keep generation " + std::to_string(s.image_generation);
  if (l.alive())
    return "alive, " + beat + " (every " + std::to_string(s.heartbeat_period_ms) + " ms), pid " +
           std::to_string(*l.holder) + ", since " + format_time(s.daemon_started_unix_ns);
  if (l.holder) return "NOT RESPONDING: pid " + std::to_string(*l.holder) + " holds the segment, " + beat + " (stuck?)" + kept;
  return "NOT RUNNING: " + beat + "; last pid " + std::to_string(s.daemon_pid) +
         (s.daemon_running ? ", which did not stop cleanly" : ", stopped cleanly") + kept;
}

void print_text(const std::string& segment, const SegmentStatus& s, const Liveness& l) {
  std::printf("segment:       %s (layout %u, %llu bytes, two slots of %llu bytes)\n", segment.c_str(),
              s.layout_version, static_cast<unsigned long long>(s.segment_bytes),
              static_cast<unsigned long long>(s.slot_bytes));
  std::printf("generation:    %llu, published %s\n", static_cast<unsigned long long>(s.image_generation),
              format_time(s.image_published_unix_ns).c_str());
  std::printf("image:         %u flags, %llu bytes, sha256 %s\n", s.image_flag_count,
              static_cast<unsigned long long>(s.image_bytes), s.image_sha256.c_str());
  std::printf("sources:\n");
  for (const SourceStatus& source : decode_source_status(s.sources)) {
    std::printf("  %s: %s", printable(source.uri).c_str(), std::string(source_state_name(source.state)).c_str());
    if (!source.version.empty()) std::printf(", version %s", printable(source.version).c_str());
    std::printf(", %llu bytes", static_cast<unsigned long long>(source.bytes));
    if (source.fetch_latency_us != 0)
      std::printf(", fetched in %.1f ms", static_cast<double>(source.fetch_latency_us) / 1000.0);
    std::printf("\n    sha256 %s\n    last success %s, last attempt %s\n", source.sha256.empty() ? "-" : source.sha256.c_str(),
                format_time(source.last_success_unix_ns).c_str(), format_time(source.last_attempt_unix_ns).c_str());
    if (!source.error.empty()) std::printf("    error: %s\n", printable(source.error).c_str());
  }
  std::printf("daemon:        %s\n", daemon_line(s, l).c_str());
  std::printf("reloads:       %llu published, %llu rejected\n", static_cast<unsigned long long>(s.reloads_ok),
              static_cast<unsigned long long>(s.reloads_failed));
  std::printf("last reload:   %s at %s\n", s.last_reload_ok ? "published" : "REJECTED",
              format_time(s.last_reload_unix_ns).c_str());
  std::printf("expired flags: %u%s\n", s.expired_flags,
              s.expired_flags != 0 ? " (still served; flagctl expired FILE... lists them)" : "");
  std::printf("load warnings: %u\n", s.load_warnings);
  if (s.load_warnings != 0)
    std::printf("  first:       %s%s\n", printable(s.first_warning).c_str(),
                s.load_warnings > 1 ? " (flagctl validate FILE... lists them all)" : "");
  if (!s.last_error.empty()) {
    // One diagnostic a line, each escaped within its line.
    std::printf("last error:\n");
    for (std::size_t at = 0; at < s.last_error.size();) {
      const std::size_t end = std::min(s.last_error.find('\n', at), s.last_error.size());
      std::printf("%s\n", printable(std::string_view(s.last_error).substr(at, end - at)).c_str());
      at = end + 1;
    }
  }
  if (s.superseded) std::printf("superseded:    this segment was replaced and the new one could not be followed\n");
}

// JSON members, written in order: `"name":value`.
class Members {
 public:
  explicit Members(std::string& out) : out_(out) { out_ += '{'; }
  ~Members() { out_ += '}'; }
  Members(const Members&) = delete;
  Members& operator=(const Members&) = delete;
  std::string& name(std::string_view key) {
    if (out_.back() != '{') out_ += ',';
    append_json_string(out_, key);
    out_ += ':';
    return out_;
  }
  void text(std::string_view key, std::string_view value) { append_json_string(name(key), value); }
  void number(std::string_view key, std::uint64_t value) { name(key) += std::to_string(value); }
  void flag(std::string_view key, bool value) { name(key) += value ? "true" : "false"; }
  // A time as RFC 3339 text and as nanoseconds; null when it never happened.
  void time(std::string_view key, std::uint64_t unix_ns) {
    if (unix_ns == 0) {
      name(key) += "null";
      return;
    }
    text(key, format_time(unix_ns));
    number(std::string(key) + "UnixNs", unix_ns);
  }

 private:
  std::string& out_;
};

std::string status_json(const std::string& segment, const SegmentStatus& s, const Liveness& l) {
  std::string out;
  {
    Members top(out);
    top.text("segment", segment);
    top.number("layoutVersion", s.layout_version);
    top.number("segmentBytes", s.segment_bytes);
    top.number("slotBytes", s.slot_bytes);
    top.number("generation", s.image_generation);
    top.time("published", s.image_published_unix_ns);
    top.number("flagCount", s.image_flag_count);
    top.number("imageBytes", s.image_bytes);
    top.text("imageSha256", s.image_sha256);
    std::string& daemon = top.name("daemon");
    {
      Members d(daemon);
      d.flag("alive", l.alive());
      if (l.age_ns) d.number("heartbeatAgeMs", *l.age_ns / 1'000'000);
      else d.name("heartbeatAgeMs") += "null";
      d.number("heartbeatPeriodMs", s.heartbeat_period_ms);
      d.number("pid", s.heartbeat_pid != 0 ? s.heartbeat_pid : s.daemon_pid);
      if (l.holder) d.number("lockHolderPid", static_cast<std::uint64_t>(*l.holder));
      else d.name("lockHolderPid") += "null";
      d.flag("stoppedCleanly", !s.daemon_running);
      d.time("started", s.daemon_started_unix_ns);
    }
    std::string& sources = top.name("sources");
    sources += '[';
    for (const SourceStatus& source : decode_source_status(s.sources)) {
      if (sources.back() != '[') sources += ',';
      Members m(sources);
      m.text("uri", source.uri);
      m.text("state", source_state_name(source.state));
      m.text("sha256", source.sha256);
      m.text("version", source.version);
      m.number("bytes", source.bytes);
      m.number("fetchLatencyUs", source.fetch_latency_us);
      m.time("lastSuccess", source.last_success_unix_ns);
      m.time("lastAttempt", source.last_attempt_unix_ns);
      m.text("error", source.error);
    }
    sources += ']';
    top.number("reloadsPublished", s.reloads_ok);
    top.number("reloadsRejected", s.reloads_failed);
    top.flag("lastReloadPublished", s.last_reload_ok);
    top.time("lastReload", s.last_reload_unix_ns);
    top.number("expiredFlags", s.expired_flags);
    top.number("loadWarnings", s.load_warnings);
    top.text("firstWarning", s.first_warning);
    top.text("lastError", s.last_error);
    top.flag("superseded", s.superseded);
  }
  return out;
}

}  // namespace

std::string format_time(std::uint64_t unix_ns) { return unix_ns == 0 ? "never" : rfc3339_utc(unix_ns); }

int status_command(const std::string& segment, bool json) {
  auto reader = Reader::attach(segment);
  if (!reader) {
    std::fprintf(stderr, "flagctl: %s\n", reader.error().message.c_str());
    return 1;
  }
  const SegmentStatus s = reader->status();
  const Liveness l = liveness_of(segment, s);
  if (json) {
    std::printf("%s\n", status_json(segment, s, l).c_str());
  } else {
    print_text(segment, s, l);
  }
  return l.alive() ? 0 : 4;
}

}  // namespace flagd::cli
