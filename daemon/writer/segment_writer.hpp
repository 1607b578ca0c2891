// The writing side of the segment protocol: formatting a segment and publishing images into it.
// One SegmentWriter per segment at a time (the daemon's lock file sees to that); it works on any
// memory, shared (the daemon) or private (MemorySegment: `flagctl eval`, tests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "flagd/layout.hpp"

namespace flagd {

class SegmentWriter {
 public:
  // Slots start at multiples of kSlotAlignment (the publish word needs their low bits free):
  // their capacity is rounded up to one.
  static std::uint64_t slot_capacity(std::uint64_t requested) noexcept {
    return (requested + layout::kSlotAlignment - 1) & ~std::uint64_t{layout::kSlotAlignment - 1};
  }
  static std::uint64_t segment_bytes_for(std::uint64_t slot_bytes) noexcept {
    return layout::kSlotsOffset + layout::kSlotCount * slot_capacity(slot_bytes);
  }

  // Lays out an empty segment (both slots holding an empty image of generation 0) in `bytes`
  // zeroed bytes at `base`. The magic number is stored last, so a reader never sees it before
  // the rest of the header.
  static void format(std::byte* base, std::uint64_t bytes, std::uint64_t slot_bytes,
                     std::uint64_t segment_id, std::uint64_t created_unix_ns);

  // Writes into a segment that format() laid out (now or by an earlier daemon).
  explicit SegmentWriter(std::byte* base) noexcept : base_(base) {}

  std::uint64_t slot_bytes() const noexcept;

  // Copies `image` into the slot readers are not using, then points readers at it. Returns false
  // (publishing nothing) if the image does not fit a slot.
  bool publish(std::span<const std::byte> image) noexcept;

  // Marks the segment as replaced by a new one of the same name: readers move to it at their
  // next evaluation off the inline path, and until they have, read the image readers see now.
  // Nothing is published into a superseded segment.
  void supersede() noexcept;

  // The daemon's heartbeat: alive at `unix_ns`, beating every `period_ms`, as process `pid`.
  void beat(std::uint64_t unix_ns, std::uint32_t period_ms, std::uint32_t pid) noexcept;

  // The generation of the newest complete image in either slot: a restarted daemon continues
  // after it, even if it crashed after filling a slot but before publishing it.
  std::uint64_t newest_generation() const noexcept;

  // A private copy of the image readers see now.
  std::vector<std::byte> active_image() const;

  // Edits the daemon status block under its sequence counter.
  void update_status(const std::function<void(layout::DaemonStatus&)>& edit);

 private:
  std::byte* base_;
};

// A formatted segment in private, 4096-aligned memory.
class MemorySegment {
 public:
  explicit MemorySegment(std::uint64_t slot_bytes);
  std::byte* data() noexcept { return bytes_.get(); }
  std::uint64_t size() const noexcept { return size_; }

 private:
  struct Free {
    void operator()(std::byte* p) const noexcept;
  };
  std::uint64_t size_;
  std::unique_ptr<std::byte, Free> bytes_;
};

}  // namespace flagd
