#include "metrics.hpp"

#include <cstdio>

#include "replace_file.hpp"

namespace flagd {

namespace {

// A label value, escaped as the exposition format requires.
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void metric(std::string& out, const char* name, const char* type, const char* help, const std::string& labels,
            const std::string& value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  out += std::string(name) + "{" + labels + "} " + value + "\n";
}

std::string decimal(double value, int digits) {
  char text[40];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

// Each family once, with one sample per source.
void source_metrics(std::string& out, const std::string& seg, const std::vector<SourceMetrics>& sources) {
  if (sources.empty()) return;
  const auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const SourceMetrics& s : sources)
      out += std::string(name) + "{" + seg + ",uri=\"" + label(s.uri) + "\"} " + value(s) + "\n";
  };
  out += "# HELP flagd_source_info A flag source: its kind and what the image holds from it "
         "(current, stale, cached, waiting).\n# TYPE flagd_source_info gauge\n";
  for (const SourceMetrics& s : sources)
    out += "flagd_source_info{" + seg + ",uri=\"" + label(s.uri) + "\",kind=\"" + s.kind + "\",state=\"" + s.state +
           "\"} 1\n";
  family("flagd_source_up", "gauge", "1 when the source's last attempt succeeded.",
         [](const SourceMetrics& s) { return std::string(s.up ? "1" : "0"); });
  family("flagd_source_stale", "gauge", "1 when the image does not hold the source's latest document (state stale, cached or waiting).",
         [](const SourceMetrics& s) { return std::string(s.state == "current" ? "0" : "1"); });
  family("flagd_source_last_success_timestamp_seconds", "gauge", "When the source last answered (Unix time).",
         [](const SourceMetrics& s) { return decimal(s.last_success_unix_seconds, 3); });
  family("flagd_source_last_attempt_timestamp_seconds", "gauge", "When the source was last tried (Unix time).",
         [](const SourceMetrics& s) { return decimal(s.last_attempt_unix_seconds, 3); });
  family("flagd_source_bytes", "gauge", "Size of the source's last document.",
         [](const SourceMetrics& s) { return std::to_string(s.bytes); });
  family("flagd_source_fetch_latency_seconds", "gauge", "Duration of the source's last successful fetch.",
         [](const SourceMetrics& s) { return decimal(s.fetch_latency_seconds, 6); });
  family("flagd_source_documents_total", "counter", "Documents the source delivered.",
         [](const SourceMetrics& s) { return std::to_string(s.documents); });
  family("flagd_source_unchanged_total", "counter", "Answers that the document had not changed (HTTP 304).",
         [](const SourceMetrics& s) { return std::to_string(s.unchanged); });
  family("flagd_source_failures_total", "counter", "Attempts of the source that failed.",
         [](const SourceMetrics& s) { return std::to_string(s.failures); });
  family("flagd_source_refused_total", "counter", "Documents of the source that were not valid.",
         [](const SourceMetrics& s) { return std::to_string(s.refused); });
}

}  // namespace

std::string metrics_text(const DaemonMetrics& m) {
  const std::string seg = "segment=\"" + label(m.segment) + "\"";
  std::string out;
  out += "# HELP flagd_reloads_total Loads of the flag files (the start-up load included), by result.\n"
         "# TYPE flagd_reloads_total counter\n";
  out += "flagd_reloads_total{" + seg + ",result=\"published\"} " + std::to_string(m.reloads_published) + "\n";
  out += "flagd_reloads_total{" + seg + ",result=\"rejected\"} " + std::to_string(m.reloads_rejected) + "\n";
  out += "flagd_reloads_total{" + seg + ",result=\"unchanged\"} " + std::to_string(m.reloads_unchanged) + "\n";
  metric(out, "flagd_generation", "gauge", "Generation of the image readers see.", seg, std::to_string(m.generation));
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", m.last_success_unix_seconds);
  metric(out, "flagd_last_reload_success_timestamp_seconds", "gauge",
         "When the flags were last published (Unix time).", seg, seconds);
  metric(out, "flagd_flags", "gauge", "Flags in the published image.", seg, std::to_string(m.flags));
  metric(out, "flagd_expired_flags", "gauge", "Flags of the published image past their metadata expires.", seg,
         std::to_string(m.expired_flags));
  metric(out, "flagd_load_warnings", "gauge",
         "Warnings of the published load: flags that break flagd's schema, loaded as flagd loads them.", seg,
         std::to_string(m.load_warnings));
  metric(out, "flagd_segment_bytes", "gauge", "Size of the shared-memory segment.", seg, std::to_string(m.segment_bytes));
  metric(out, "flagd_image_bytes", "gauge", "Size of the published image.", seg, std::to_string(m.image_bytes));
  std::snprintf(seconds, sizeof seconds, "%.3f", m.heartbeat_unix_seconds);
  metric(out, "flagd_heartbeat_timestamp_seconds", "gauge",
         "When the daemon last beat (Unix time): a file that stops moving is a daemon gone.", seg, seconds);
  metric(out, "flagd_image_info", "gauge",
         "The published flags: their SHA-256, and the flagSetId and version values of their metadata.",
         seg + ",sha256=\"" + label(m.image_sha256) + "\",flag_set_id=\"" + label(m.flag_set_ids) +
             "\",version=\"" + label(m.flag_set_versions) + "\"",
         "1");
  source_metrics(out, seg, m.sources);
  metric(out, "flagd_build_info", "gauge", "The daemon's version.", "version=\"" + label(m.version) + "\"", "1");
  return out;
}

namespace {

}  // namespace

bool write_metrics_file(const std::string& path, const DaemonMetrics& m, std::string& error, std::string& warning) {
  static constexpr ReplacedFile kMetricsFile{"metrics", "the metrics file", "--metrics-file", 0644};
  return replace_file(path, metrics_text(m), kMetricsFile, error, warning);
}

bool write_metrics_file(const std::string& path, const DaemonMetrics& m, std::string& error) {
  std::string warning;
  if (!write_metrics_file(path, m, error, warning)) return false;
  if (warning.empty()) return true;
  error = warning + " (the metrics were written)";
  return false;
}

}  // namespace flagd
