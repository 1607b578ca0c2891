// The last good document of each remote source, kept on disk (--cache-dir), so that a daemon
// started while its servers are unreachable publishes what it last had instead of nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "flagd/flag_format.hpp"
#include "source_config.hpp"

namespace flagd {

struct CachedCopy {
  std::string text;
  FlagFormat format = FlagFormat::Json;
};

class SourceCache {
 public:
  // `directory` "" keeps nothing. Files are named after the segment and a hash of what selects
  // the source's document (URI, selector, provider id, where its credentials come from), so
  // daemons of several segments, and sources of one URI, can share a directory.
  SourceCache(std::string directory, std::string segment);

  bool enabled() const noexcept { return !directory_.empty(); }
  // The copy's file, whose extension (.json, .yaml) says the notation of the document in it.
  std::string path_for(const SourceConfig& source, FlagFormat format = FlagFormat::Json) const;

  // The cached document, read as a flag file is (owned by this user or root, not writable by
  // others, under the size limit); nullopt if there is none, or with `error` if it is refused.
  std::optional<CachedCopy> load(const SourceConfig& source, std::string& error) const;
  // Writes `text` (mode 0600) by rename, after creating the directory (0700) if needed, and
  // removes a copy of the other notation; false and `error` if it could not write it (the
  // previous copy then stays) or remove the other (load() then takes the newer of the two).
  bool store(const SourceConfig& source, std::string_view text, FlagFormat format, std::string& error) const;

 private:
  std::string directory_, segment_;
};

// $CACHE_DIRECTORY (systemd's CacheDirectory=), else /var/cache/flagd for root, else
// $XDG_CACHE_HOME/flagd or ~/.cache/flagd.
std::string default_cache_directory();

}  // namespace flagd
