// The daemon: loads flag files, publishes them into its segment, reloads on SIGHUP, and keeps
// the last good image when a reload is rejected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shared_segment.hpp"

namespace flagd {

struct DaemonOptions {
  std::vector<std::string> flag_files;
  std::string segment = "flagd";
  std::uint64_t image_capacity = 16u << 20;  // bytes per image slot, for a new segment
  bool grow_segment = false;                  // replace an existing segment whose slots are smaller
  SegmentAccess access;                       // who may read the segment
  bool allow_any_file_owner = false;          // load files whoever owns them and whoever may write them
  bool watch = false;                          // reload when a flag file changes, besides on SIGHUP
  int watch_debounce_ms = 100;                 // quiet time after the last change before reloading
  int watch_max_wait_ms = 1000;                // longest wait after a burst's first change (at least the debounce)
  std::string metrics_file;                    // node-exporter textfile to write after each load; "" none
};

// Runs until SIGTERM or SIGINT. Returns the process exit code; a signal that stops the daemon
// during a load ends the process itself (with _exit), since the load is abandoned, not awaited.
// With flag files that do not load at start-up it still serves the segment's last image, if it
// has one, and publishes the first load that succeeds; a segment with no image makes it exit 1.
int run_daemon(const DaemonOptions& options);

}  // namespace flagd
