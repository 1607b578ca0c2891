#include "publisher.hpp"

#include <cstring>

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
  std::memcpy(&publisher.published_, image.data(), sizeof publisher.published_);  // from_image checked the size
  publisher.generation_ = publisher.writer_.newest_generation();
  return publisher;
}

PublishOutcome Publisher::publish(const FlagSet& flags, std::uint64_t published_unix_ns) {
  std::string error;
  if (!compile(flags, published_unix_ns, error)) {
    PublishOutcome outcome;
    outcome.generation = generation_;
    outcome.error = std::move(error);
    return outcome;
  }
  return commit();
}

bool Publisher::compile(const FlagSet& flags, std::uint64_t published_unix_ns, std::string& error) {
  discard();
  // Keys keep their index for the segment's life, removed ones included: the limit is on all
  // keys ever published, checked before any new key is given an index.
  std::size_t new_keys = 0;
  for (const auto& flag : flags.flags) new_keys += index_.contains(flag.key) ? 0 : 1;
  if (index_.size() + new_keys > limits::kMaxFlags) {
    error = "the segment has given indices to " + std::to_string(index_.size()) +
            " flag keys over its life and " + std::to_string(new_keys) +
            " new ones would pass the limit of " + std::to_string(limits::kMaxFlags) +
            "; recreate the segment to start its indices afresh";
    return false;
  }
  compiled_ = index_.size();
  try {
    build_image(flags, index_, ImageStamp{generation_ + 1, published_unix_ns}, image_);
  } catch (...) {
    discard();  // out of memory half-way: the keys it had indexed must not stay
    throw;
  }
  return true;
}

PublishOutcome Publisher::commit() {
  PublishOutcome outcome;
  outcome.generation = generation_;
  if (!compiled_) {
    outcome.error = "nothing was compiled to publish";
    return outcome;
  }
  outcome.image_bytes = image_.size();
  if (!writer_.publish(image_)) {
    outcome.error = "the compiled image needs " + std::to_string(image_.size()) +
                    " bytes but the segment holds " + std::to_string(writer_.slot_bytes()) +
                    " per image (a new segment with a larger --image-capacity would fit it)";
    discard();
    return outcome;
  }
  compiled_.reset();
  std::memcpy(&published_, image_.data(), sizeof published_);
  outcome.published = true;
  outcome.generation = ++generation_;
  return outcome;
}

void Publisher::discard() {
  if (compiled_) index_.truncate(*compiled_);
  compiled_.reset();
}

}  // namespace flagd
