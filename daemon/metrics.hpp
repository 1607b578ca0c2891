// Metrics for Prometheus, as a node-exporter textfile (--metrics-file): written after every load
// attempt and on a period (--metrics-interval), to a temporary file renamed over the old one, so
// the collector never reads half, and a stale file shows in its heartbeat timestamp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flagd {

// One source's health, labelled by its URI (never with credentials).
struct SourceMetrics {
  std::string uri;
  std::string kind;   // file, http, etcd, grpc
  std::string state;  // current, stale, cached, waiting (SourceState)
  bool up = false;    // its last attempt succeeded
  double last_success_unix_seconds = 0;
  double last_attempt_unix_seconds = 0;
  std::uint64_t bytes = 0;
  double fetch_latency_seconds = 0;
  std::uint64_t documents = 0, unchanged = 0, failures = 0, refused = 0;
};

struct DaemonMetrics {
  std::string segment;
  std::string version;
  std::uint64_t reloads_published = 0;  // loads published (the start-up load included)
  std::uint64_t reloads_rejected = 0;
  std::uint64_t reloads_unchanged = 0;  // loads whose merged documents were those already published
  std::uint64_t generation = 0;
  double last_success_unix_seconds = 0;
  std::uint64_t flags = 0;
  std::uint64_t expired_flags = 0;
  std::uint64_t load_warnings = 0;
  std::uint64_t segment_bytes = 0;
  std::uint64_t image_bytes = 0;
  double heartbeat_unix_seconds = 0;  // the daemon's last heartbeat
  // The published flags: their SHA-256 (hex) and the flagSetId and version values of their
  // metadata, each list comma-separated.
  std::string image_sha256, flag_set_ids, flag_set_versions;
  std::vector<SourceMetrics> sources;
};

// The text exposition format of `m`.
std::string metrics_text(const DaemonMetrics& m);

// Writes `m` to `path`: into a new file of a random name in path's directory, created there
// exclusively and never through a symbolic link, then renamed over `path`. False and `error` if
// it could not (nothing is left behind then). `warning` is set the first time this process writes
// `path` when users other than root and this one can write the directory, empty otherwise.
bool write_metrics_file(const std::string& path, const DaemonMetrics& m, std::string& error, std::string& warning);

// The same for a caller with one channel for both: a warning comes back as false and `error`,
// though the metrics were written (the message says so).
bool write_metrics_file(const std::string& path, const DaemonMetrics& m, std::string& error);

}  // namespace flagd
