#include "publisher.hpp"

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
  const std::vector<std::byte> image =
      build_image(flags, index_, ImageStamp{generation_ + 1, published_unix_ns});
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
