// Writes remote sources' cached copies on a thread of its own, after their documents are
// published: the write and its fsync take milliseconds on a busy disk, which would otherwise sit
// between a source's change and the readers seeing it.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "source_cache.hpp"

namespace flagd {

class CacheWriter {
 public:
  // `log_failure` is called on the writer's thread with each failure (thread-safe logging). No
  // thread is started for a disabled cache or sources that are all files.
  CacheWriter(const SourceCache& cache, std::vector<SourceConfig> sources, void (*log_failure)(const std::string&));
  // Finishes the copies already asked for, then stops.
  ~CacheWriter();
  CacheWriter(const CacheWriter&) = delete;
  CacheWriter& operator=(const CacheWriter&) = delete;

  // Asks for source `index`'s copy to become `text`, in `format`; a later request for the same
  // source before the write starts replaces it.
  void store(std::size_t index, std::shared_ptr<const std::string> text, FlagFormat format);

 private:
  void run();

  const SourceCache& cache_;
  const std::vector<SourceConfig> sources_;
  void (*log_failure_)(const std::string&);
  std::mutex mutex_;
  std::condition_variable wake_;
  struct Copy {
    std::shared_ptr<const std::string> text;  // null: nothing to write
    FlagFormat format = FlagFormat::Json;
  };
  std::vector<Copy> waiting_;  // per source
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace flagd
