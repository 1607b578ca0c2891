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
  bool contains(std::string_view key) const { return by_key_.find(key) != by_key_.end(); }
  const std::vector<std::string>& keys() const noexcept { return keys_; }  // by index
  std::size_t size() const noexcept { return keys_.size(); }

  // Rebuilds the indices recorded in a published image (read from a segment or a copy of one).
  // False if the image is malformed.
  static bool from_image(const std::byte* image, std::uint64_t bytes, StableIndex& out);

 private:
  struct KeyHash {  // looks keys up by view, without making a string of each
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
  };
  std::unordered_map<std::string, std::uint32_t, KeyHash, std::equal_to<>> by_key_;
  std::vector<std::string> keys_;
};

}  // namespace flagd
