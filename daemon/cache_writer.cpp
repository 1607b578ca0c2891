#include "cache_writer.hpp"

#include <algorithm>

namespace flagd {

CacheWriter::CacheWriter(const SourceCache& cache, std::vector<SourceConfig> sources,
                         void (*log_failure)(const std::string&))
    : cache_(cache), sources_(std::move(sources)), log_failure_(log_failure), waiting_(sources_.size()) {
  const bool remote = std::any_of(sources_.begin(), sources_.end(), [](const SourceConfig& s) { return s.kind != SourceKind::File; });
  if (cache_.enabled() && remote) thread_ = std::thread([this] { run(); });
}

CacheWriter::~CacheWriter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void CacheWriter::store(std::size_t index, std::shared_ptr<const std::string> text, FlagFormat format) {
  if (!thread_.joinable() || index >= waiting_.size()) return;
  {
    std::lock_guard lock(mutex_);
    waiting_[index] = Copy{std::move(text), format};
  }
  wake_.notify_one();
}

void CacheWriter::run() {
  for (;;) {
    std::size_t index = 0;
    Copy copy;
    {
      std::unique_lock lock(mutex_);
      const auto next = [&] {
        return std::find_if(waiting_.begin(), waiting_.end(), [](const Copy& c) { return c.text != nullptr; });
      };
      wake_.wait(lock, [&] { return stop_ || next() != waiting_.end(); });
      const auto found = next();
      if (found == waiting_.end()) return;  // stopping, and nothing left to write
      index = static_cast<std::size_t>(found - waiting_.begin());
      copy = std::move(*found);
      *found = Copy{};
    }
    std::string error;
    try {
      if (!cache_.store(sources_[index], *copy.text, copy.format, error)) log_failure_(error);
    } catch (const std::exception& e) {  // out of memory: the previous copy stays
      log_failure_(std::string("cannot write a cached copy: ") + e.what());
    }
  }
}

}  // namespace flagd
