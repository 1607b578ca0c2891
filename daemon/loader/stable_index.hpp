// Stable flag indices: once a key has an index in a segment it keeps it for the segment's life,
// through reloads that add, remove or reorder flags and through daemon restarts (the index is
// rebuilt from the published image). Readers' handles are these indices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <deque>
#include <vector>

#include "string_view_table.hpp"

namespace flagd {

class StableIndex {
 public:
  StableIndex() = default;
  // Moves keep the keys where they are; a copy would leave its table viewing the original's.
  StableIndex(StableIndex&&) noexcept = default;
  StableIndex& operator=(StableIndex&&) noexcept = default;
  StableIndex(const StableIndex&) = delete;
  StableIndex& operator=(const StableIndex&) = delete;

  // The index of `key`, assigning the next free one to a key never seen before.
  std::uint32_t assign(std::string_view key);
  bool contains(std::string_view key) const noexcept { return by_key_.find(key) != nullptr; }
  const std::deque<std::string>& keys() const noexcept { return keys_; }  // by index
  std::uint32_t key_hash_of(std::uint32_t index) const noexcept { return hashes_[index]; }  // flagd::key_hash
  std::size_t size() const noexcept { return keys_.size(); }
  // Forgets the keys given an index at or after `count`, as if they had never been assigned: a
  // publication that is refused takes back the indices it gave.
  void truncate(std::size_t count);

  // Rebuilds the indices recorded in a published image (read from a segment or a copy of one).
  // False if the image is malformed.
  static bool from_image(const std::byte* image, std::uint64_t bytes, StableIndex& out);

 private:
  std::deque<std::string> keys_;  // a deque: growing it moves no key, so by_key_'s views stay valid
  std::vector<std::uint32_t> hashes_;
  StringViewTable<std::uint32_t> by_key_;
};

}  // namespace flagd
