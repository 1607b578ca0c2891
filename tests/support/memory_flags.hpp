// Test support: flags compiled from JSON text and published into a private in-memory segment,
// read through a real Reader. The same code paths as the daemon, without a process or /dev/shm.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "flag_loader.hpp"
#include "flagd/reader.hpp"
#include "publisher.hpp"

namespace flagd::test {

class MemoryFlags {
 public:
  explicit MemoryFlags(std::string_view json, std::uint64_t slot_bytes = 1u << 20)
      : segment_(std::make_shared<MemorySegment>(slot_bytes)) {
    std::string error;
    auto resumed = Publisher::resume(segment_->data(), error);
    if (!resumed) throw std::runtime_error(error);
    publisher_ = std::make_unique<Publisher>(std::move(*resumed));
    publish(json);
    auto attached = Reader::over_memory(segment_, segment_->data(), segment_->size());
    if (!attached) throw std::runtime_error(attached.error().message);
    reader_ = std::make_unique<Reader>(std::move(attached).value());
  }

  // Loads `json` and publishes it as the next generation; throws with the diagnostics if invalid.
  void publish(std::string_view json) {
    LoadResult loaded = load_flag_text(json, "test.json");
    if (!loaded.ok()) {
      std::string all;
      for (const auto& d : loaded.diagnostics) all += format(d, Strictness::Lenient) + "\n";
      throw std::runtime_error(all);
    }
    const PublishOutcome outcome = publisher_->publish(loaded.flags, 0);
    if (!outcome.published) throw std::runtime_error(outcome.error);
  }

  Reader& reader() { return *reader_; }
  MemorySegment& segment() { return *segment_; }
  std::uint64_t generation() const { return publisher_->generation(); }

 private:
  std::shared_ptr<MemorySegment> segment_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<Reader> reader_;
};

}  // namespace flagd::test
