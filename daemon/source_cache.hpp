// The last good document of each remote source, kept on disk (--cache-dir), so that a daemon
// started while its servers are unreachable publishes what it last had instead of nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "source_config.hpp"

namespace flagd {

class SourceCache {
 public:
  // `directory` "" keeps nothing. Files are named after the segment and a hash of what selects
  // the source's document (URI, selector, provider id, where its credentials come from), so
  // daemons of several segments, and sources of one URI, can share a directory.
  SourceCache(std::string directory, std::string segment);

  bool enabled() const noexcept { return !directory_.empty(); }
  std::string path_for(const SourceConfig& source) const;

  // The cached document, read as a flag file is (owned by this user or root, not writable by
  // others, under the size limit); nullopt if there is none, or with `error` if it is refused.
  std::optional<std::string> load(const SourceConfig& source, std::string& error) const;
  // Writes `text` (mode 0600) by rename, after creating the directory (0700) if needed; false and
  // `error` if it could not (the previous copy then stays).
  bool store(const SourceConfig& source, std::string_view text, std::string& error) const;

 private:
  std::string directory_, segment_;
};

// $CACHE_DIRECTORY (systemd's CacheDirectory=), else /var/cache/flagd for root, else
// $XDG_CACHE_HOME/flagd or ~/.cache/flagd.
std::string default_cache_directory();

}  // namespace flagd
