// Compiles flag sets and publishes them into one segment, continuing the segment's history: its
// stable key indices and its generation sequence are read back from the segment itself, so every
// writer of a segment (a daemon, a restarted daemon, a tool) keeps readers' handles meaning the
// same flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flag_model.hpp"
#include "segment_writer.hpp"
#include "stable_index.hpp"

namespace flagd {

struct PublishOutcome {
  bool published = false;
  std::uint64_t generation = 0;  // of the image readers see after the call
  std::uint64_t image_bytes = 0;
  std::string error;             // why nothing was published
};

class Publisher {
 public:
  // Resumes the history of the formatted segment at `base`; nullopt and `error` if its image
  // cannot be read back.
  static std::optional<Publisher> resume(std::byte* base, std::string& error);

  PublishOutcome publish(const FlagSet& flags, std::uint64_t published_unix_ns);

  std::uint64_t generation() const noexcept { return generation_; }
  std::size_t known_keys() const noexcept { return index_.size(); }
  SegmentWriter& writer() noexcept { return writer_; }

 private:
  explicit Publisher(std::byte* base) : writer_(base) {}
  SegmentWriter writer_;
  StableIndex index_;
  std::uint64_t generation_ = 0;
  std::vector<std::byte> image_;  // the last image built; its memory serves the next
};

}  // namespace flagd
