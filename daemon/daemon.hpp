// The daemon: loads its sources (flag files, HTTP servers, etcd keys, flagd sync servers),
// publishes their merge into its segment, reloads on SIGHUP, a file change or a new document, and
// keeps each source's last good document when a new one is refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diagnostic.hpp"
#include "serve_options.hpp"
#include "shared_segment.hpp"
#include "source_config.hpp"

namespace flagd {

struct DaemonOptions {
  std::vector<SourceConfig> sources;  // merged in order: a later source's flag replaces an earlier one
  std::string segment = "flagd";
  std::uint64_t image_capacity = 16u << 20;  // bytes per image slot, for a new segment
  bool grow_segment = false;                  // replace an existing segment whose slots are smaller
  SegmentAccess access;                       // who may read the segment
  bool allow_any_file_owner = false;          // load files whoever owns them and whoever may write them
  // Lenient: a flag that breaks flagd's schema loads, with a warning, as flagd loads it. Strict
  // (--strict): the file is refused.
  Strictness strictness = Strictness::Lenient;
  bool watch = false;                          // reload when a flag file changes, besides on SIGHUP
  int watch_debounce_ms = 100;                 // quiet time after the last change before reloading
  int watch_max_wait_ms = 1000;                // longest wait after a burst's first change (at least the debounce)
  std::string metrics_file;                    // node-exporter textfile to write after each load; "" none
  std::string cache_dir;                       // remote sources' last good documents; "" none
  std::string audit_log;                       // a JSON line per publication, appended to it; "" none
  int startup_wait_ms = 5000;                  // longest wait for the remote sources' first answers
  int heartbeat_ms = 1000;                     // how often the daemon beats in the segment
  int metrics_interval_s = 15;                 // how often the metrics file is rewritten, loads or not
  serve::ServeOptions serve;                   // sync and OFREP, by flagd-serve, when it serves()
};

// Runs until SIGTERM or SIGINT. Returns the process exit code; a signal that stops the daemon
// during a load ends the process itself (with _exit), since the load is abandoned, not awaited.
// With flag files that do not load at start-up it still serves the segment's last image, if it
// has one, and publishes the first load that succeeds; a segment with no image makes it exit 1.
int run_daemon(const DaemonOptions& options);

}  // namespace flagd
