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
  SegmentAccess access;                       // who may read the segment
  bool allow_any_file_owner = false;          // load files whoever owns them and whoever may write them
  bool watch = false;                          // reload when a flag file changes, besides on SIGHUP
  int watch_debounce_ms = 100;                 // quiet time after the last change before reloading
  std::string metrics_file;                    // node-exporter textfile to write after each load; "" none
};

// Runs until SIGTERM or SIGINT. Returns the process exit code.
int run_daemon(const DaemonOptions& options);

}  // namespace flagd
