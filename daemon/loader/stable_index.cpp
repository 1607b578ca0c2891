#include "stable_index.hpp"

#include <cstring>

#include "flagd/key_hash.hpp"
#include "flagd/layout.hpp"
#include "flagd/limits.hpp"

namespace flagd {

std::uint32_t StableIndex::assign(std::string_view key) {
  if (const std::uint32_t* i = by_key_.find(key)) return *i;
  const auto i = static_cast<std::uint32_t>(keys_.size());
  const std::string& kept = keys_.emplace_back(key);
  hashes_.push_back(key_hash(kept));
  by_key_.insert(kept, i);
  return i;
}

void StableIndex::truncate(std::size_t count) {
  if (count >= keys_.size()) return;
  keys_.resize(count);  // shrinking a deque moves none of the keys that stay
  hashes_.resize(count);
  // The table cannot drop entries (open addressing); a refused publication is rare enough to
  // rebuild it.
  by_key_.clear(count);
  for (std::size_t i = 0; i < count; ++i) by_key_.insert(keys_[i], static_cast<std::uint32_t>(i));
}

bool StableIndex::from_image(const std::byte* image, std::uint64_t bytes, StableIndex& out) {
  out = StableIndex{};
  if (bytes < sizeof(layout::ImageHeader)) return false;
  layout::ImageHeader header;
  std::memcpy(&header, image, sizeof header);
  if (header.flag_count > limits::kMaxFlags ||
      layout::kRecordsOffset + std::uint64_t{header.flag_count} * sizeof(layout::FlagRecord) > bytes)
    return false;
  for (std::uint32_t i = 0; i < header.flag_count; ++i) {
    layout::FlagRecord record;
    std::memcpy(&record, image + layout::kRecordsOffset + i * sizeof record, sizeof record);
    if (std::uint64_t{record.key.offset} + record.key.length > bytes) return false;
    const std::string_view key(reinterpret_cast<const char*>(image) + record.key.offset, record.key.length);
    if (out.assign(key) != i) return false;  // a key twice: not an image this writer made
  }
  return true;
}

}  // namespace flagd
