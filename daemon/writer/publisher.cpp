#include "publisher.hpp"

#include "flagd/limits.hpp"
#include "image_builder.hpp"

namespace flagd {

std::optional<Publisher> Publisher::resume(std::byte* base, std::string& error) {
  Publisher publisher(base);
  const std::vector<std::byte> image = publisher.writer_.active_image();
  if (!StableIndex::from_image(image.data(), image.size(), publisher.index_)) {
    error = "the published image is malformed: its flag keys cannot be read back";
    return std::nullopt;
  }
  publisher.generation_ = publisher.writer_.newest_generation();
  return publisher;
}

PublishOutcome Publisher::publish(const FlagSet& flags, std::uint64_t published_unix_ns) {
  PublishOutcome outcome;
  // Keys keep their index for the segment's life, removed ones included: the limit is on all
  // keys ever published, checked before any new key is given an index.
  std::size_t new_keys = 0;
  for (const auto& flag : flags.flags) new_keys += index_.contains(flag.key) ? 0 : 1;
  if (index_.size() + new_keys > limits::kMaxFlags) {
    outcome.generation = generation_;
    outcome.error = "the segment has given indices to " + std::to_string(index_.size()) +
                    " flag keys over its life and " + std::to_string(new_keys) +
                    " new ones would pass the limit of " + std::to_string(limits::kMaxFlags) +
                    "; recreate the segment to start its indices afresh";
    return outcome;
  }
  std::vector<std::byte>& image = image_;
  build_image(flags, index_, ImageStamp{generation_ + 1, published_unix_ns}, image);
  outcome.image_bytes = image.size();
  if (!writer_.publish(image)) {
    outcome.generation = generation_;
    outcome.error = "the compiled image needs " + std::to_string(image.size()) +
                    " bytes but the segment holds " + std::to_string(writer_.slot_bytes()) +
                    " per image (a new segment with a larger --image-capacity would fit it)";
    return outcome;
  }
  outcome.published = true;
  outcome.generation = ++generation_;
  return outcome;
}

}  // namespace flagd
