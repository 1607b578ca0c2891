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
#include "flagd/layout.hpp"
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

  // compile() then commit(). A publication that is refused leaves the stable indices exactly as
  // they were: keys of a rejected set neither take indices nor count toward the key limit.
  PublishOutcome publish(const FlagSet& flags, std::uint64_t published_unix_ns);

  // The two halves of publish(), for a daemon that compiles on a thread of its own. compile()
  // touches the stable index and the image buffer, never the segment: while it runs, another
  // thread may use writer(), generation() and published(), and nothing else of this Publisher.
  // False and `error` (nothing changed) if the set would pass the lifetime key limit.
  bool compile(const FlagSet& flags, std::uint64_t published_unix_ns, std::string& error);
  // Publishes what compile() built; if it does not fit a slot, publishes nothing and gives back
  // the indices compile() assigned.
  PublishOutcome commit();
  // Drops what compile() built and gives back the indices it assigned.
  void discard();

  std::uint64_t generation() const noexcept { return generation_; }
  std::size_t known_keys() const noexcept { return index_.size(); }
  // The header of the image readers see (all zero before the first publication).
  const layout::ImageHeader& published() const noexcept { return published_; }
  SegmentWriter& writer() noexcept { return writer_; }

 private:
  explicit Publisher(std::byte* base) : writer_(base) {}
  SegmentWriter writer_;
  StableIndex index_;
  std::uint64_t generation_ = 0;
  layout::ImageHeader published_{};
  std::vector<std::byte> image_;        // the last image built; its memory serves the next
  std::optional<std::size_t> compiled_;  // after compile(): the keys the index held before it
};

}  // namespace flagd
