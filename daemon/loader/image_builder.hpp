// Compiles a validated flag set into the image format of flagd/layout.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "flag_model.hpp"
#include "stable_index.hpp"

namespace flagd {

struct ImageStamp {
  std::uint64_t generation = 1;
  std::uint64_t published_unix_ns = 0;
};

// Assigns indices to new keys in `index`, then lays out the image: its size is a multiple of 8.
// Keys of `index` that the set no longer has get an Absent record, so their index stays theirs.
std::vector<std::byte> build_image(const FlagSet& flags, StableIndex& index, ImageStamp stamp);
// The same into `image`, whose capacity is reused: a daemon's reloads build in one buffer.
void build_image(const FlagSet& flags, StableIndex& index, ImageStamp stamp, std::vector<std::byte>& image);

}  // namespace flagd
