// Opening and mapping a segment's file for a reader, trusting only what the daemon could have
// written: the file at /dev/shm/NAME is opened without following a symlink and without blocking,
// and every check is made on that descriptor, so what is checked is what is mapped.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "flagd/reader.hpp"

namespace flagd::detail {

// The users whose segments a reader maps, resolved once when the reader is made (a user lookup
// may read files or ask a directory service; following a replacement must not).
std::vector<uid_t> trusted_owners(const AttachOptions& options);

// A read-only mapping of a segment file.
//
//   base                              base + file_bytes         base + extent
//   | the file, MAP_SHARED, PROT_READ | zero pages, PROT_READ   |
//
// The tail exists only when a reader moves from a larger segment to a smaller one: an evaluation
// that started on the old mapping may pair the old bound with the new base once, and must then
// read zeros rather than fault.
class SegmentFile {
 public:
  SegmentFile(const std::byte* base, std::uint64_t file_bytes, std::uint64_t extent, uid_t owner) noexcept
      : base_(base), file_bytes_(file_bytes), extent_(extent), owner_(owner) {}
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;
  ~SegmentFile();

  const std::byte* base() const noexcept { return base_; }
  std::uint64_t file_bytes() const noexcept { return file_bytes_; }
  std::uint64_t extent() const noexcept { return extent_; }
  uid_t owner() const noexcept { return owner_; }

 private:
  const std::byte* base_;
  std::uint64_t file_bytes_;
  std::uint64_t extent_;
  uid_t owner_;
};

// Maps segment `name` if it is a regular file owned by one of `owners` (or root), writable by
// nobody but its owner, and at least as large as a segment's header; with `min_extent` bytes
// readable at least. Otherwise an AttachError saying what and why.
Result<std::shared_ptr<SegmentFile>> open_segment_file(std::string_view name, const std::vector<uid_t>& owners,
                                                       std::uint64_t min_extent);

}  // namespace flagd::detail
