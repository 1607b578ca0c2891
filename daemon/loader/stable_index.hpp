// Stable flag indices: once a key has an index in a segment it keeps it for the segment's life,
// through reloads that add, remove or reorder flags and through daemon restarts (the index is
// rebuilt from the published image). Readers' handles are these indices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace flagd {

class StableIndex {
 public:
  // The index of `key`, assigning the next free one to a key never seen before.
  std::uint32_t assign(std::string_view key);
  bool contains(std::string_view key) const { return by_key_.count(std::string(key)) != 0; }
  const std::vector<std::string>& keys() const noexcept { return keys_; }  // by index
  std::size_t size() const noexcept { return keys_.size(); }

  // Rebuilds the indices recorded in a published image (read from a segment or a copy of one).
  // False if the image is malformed.
  static bool from_image(const std::byte* image, std::uint64_t bytes, StableIndex& out);

 private:
  std::unordered_map<std::string, std::uint32_t> by_key_;
  std::vector<std::string> keys_;
};

}  // namespace flagd
