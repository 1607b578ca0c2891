// A SourceSink for tests of one remote source: keeps what the source delivered and lets the test
// wait for it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "remote_source.hpp"

namespace flagd::test {

class RecordingSink : public SourceSink {
 public:
  struct Document {
    std::string text, version;
    FlagFormat format = FlagFormat::Json;
  };

  void document(std::size_t, std::string text, std::string version, FlagFormat format) override {
    std::lock_guard lock(mutex_);
    documents_.push_back({std::move(text), std::move(version), format});
    changed_.notify_all();
  }
  void health(std::size_t, const SourceHealth& health) override {
    std::lock_guard lock(mutex_);
    health_ = health;
    ++health_reports_;
    changed_.notify_all();
  }

  // Waits (bounded, so a broken build cannot hang CI; not a timing assertion) until `condition`
  // holds over the sink's state; returns whether it did.
  template <class Condition>
  bool wait_for(Condition condition, std::chrono::seconds bound = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, bound, [&] { return condition(documents_, health_); });
  }
  bool wait_for_documents(std::size_t count) {
    return wait_for([&](const std::vector<Document>& d, const SourceHealth&) { return d.size() >= count; });
  }

  std::vector<Document> documents() const {
    std::lock_guard lock(mutex_);
    return documents_;
  }
  SourceHealth health() const {
    std::lock_guard lock(mutex_);
    return health_;
  }
  std::size_t health_reports() const {
    std::lock_guard lock(mutex_);
    return health_reports_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Document> documents_;
  SourceHealth health_;
  std::size_t health_reports_ = 0;
};

}  // namespace flagd::test
