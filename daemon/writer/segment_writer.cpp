#include "segment_writer.hpp"

#include <cstring>
#include <new>

#include "flagd/change_signal.hpp"
#include "flagd/shared_access.hpp"

namespace flagd {

using layout::ImageHeader;
using layout::SegmentHeader;
using layout::SegmentPrefix;

namespace {

std::byte* sequence_of(std::byte* base, std::uint64_t slot) {
  return base + offsetof(SegmentPrefix, sequence) + slot * layout::kCacheLine;
}

// Opens a write section on a seqlock word: makes it odd (from even, or from an odd value a
// crashed writer left) and orders that store before the data stores that follow.
std::uint64_t begin_write(std::byte* sequence) {
  const auto current = shared::load<std::uint64_t>(sequence);
  const std::uint64_t odd = (current & 1) ? current + 2 : current + 1;
  shared::store<std::uint64_t>(sequence, odd);
  shared::release_fence();
  return odd;
}

void end_write(std::byte* sequence, std::uint64_t odd) {
  shared::store_release<std::uint64_t>(sequence, odd + 1);
}

}  // namespace

void SegmentWriter::format(std::byte* base, std::uint64_t bytes, std::uint64_t slot_bytes,
                           std::uint64_t segment_id, std::uint64_t created_unix_ns) {
  slot_bytes = slot_capacity(slot_bytes);
  SegmentPrefix prefix{};
  prefix.header.layout_version = layout::kLayoutVersion;
  prefix.header.header_bytes = sizeof(SegmentHeader);
  prefix.header.segment_bytes = bytes;
  prefix.header.slot_bytes = slot_bytes;
  for (std::uint32_t i = 0; i < layout::kSlotCount; ++i)
    prefix.header.slot_offset[i] = layout::kSlotsOffset + i * slot_bytes;
  prefix.header.segment_id = segment_id;
  prefix.header.created_unix_ns = created_unix_ns;
  prefix.publish.active = layout::pack_publish_word(0, prefix.header.slot_offset[0], 0);
  ImageHeader empty{};
  empty.image_bytes = sizeof empty;
  for (std::uint32_t i = 0; i < layout::kSlotCount; ++i)
    shared::copy_in(base + prefix.header.slot_offset[i], &empty, sizeof empty);
  shared::copy_in(base, &prefix, sizeof prefix);
  shared::store_release<std::uint64_t>(base + offsetof(SegmentHeader, magic), layout::kSegmentMagic);
}

std::uint64_t SegmentWriter::slot_bytes() const noexcept {
  return shared::load<std::uint64_t>(base_ + offsetof(SegmentHeader, slot_bytes));
}

bool SegmentWriter::publish(std::span<const std::byte> image) noexcept {
  if (image.size() > slot_bytes() || image.size() % 8 != 0 || image.size() < sizeof(ImageHeader))
    return false;
  std::byte* active = base_ + offsetof(SegmentPrefix, publish);
  const std::uint64_t target = layout::publish_slot(shared::load<std::uint64_t>(active)) ^ 1;
  ImageHeader header;
  std::memcpy(&header, image.data(), sizeof header);
  if (header.flag_count > layout::kMaxPublishedFlags) return false;
  const auto slot_offset =
      shared::load<std::uint64_t>(base_ + offsetof(SegmentHeader, slot_offset) + 8 * target);
  std::byte* sequence = sequence_of(base_, target);
  const std::uint64_t odd = begin_write(sequence);
  shared::copy_in(base_ + slot_offset, image.data(), image.size());
  end_write(sequence, odd);
  shared::store_release<std::uint64_t>(active, layout::pack_publish_word(target, slot_offset, header.flag_count));
  change_signal::bump_and_wake(base_);
  return true;
}

void SegmentWriter::supersede() noexcept {
  std::byte* active = base_ + offsetof(SegmentPrefix, publish);
  shared::store_release<std::uint64_t>(active, layout::supersede_publish_word(shared::load<std::uint64_t>(active)));
  change_signal::bump_and_wake(base_);  // waiters move to the new segment
}

void SegmentWriter::beat(std::uint64_t unix_ns, std::uint32_t period_ms, std::uint32_t pid) noexcept {
  std::byte* line = base_ + offsetof(SegmentPrefix, heartbeat);
  shared::store<std::uint32_t>(line + offsetof(layout::HeartbeatLine, period_ms), period_ms);
  shared::store<std::uint32_t>(line + offsetof(layout::HeartbeatLine, daemon_pid), pid);
  shared::store_release<std::uint64_t>(line + offsetof(layout::HeartbeatLine, beat_unix_ns), unix_ns);
}

std::uint64_t SegmentWriter::newest_generation() const noexcept {
  std::uint64_t newest = 0;
  for (std::uint64_t slot = 0; slot < layout::kSlotCount; ++slot) {
    if (shared::load<std::uint64_t>(sequence_of(base_, slot)) & 1) continue;  // half-written
    const auto offset =
        shared::load<std::uint64_t>(base_ + offsetof(SegmentHeader, slot_offset) + 8 * slot);
    newest = std::max(newest, shared::load<std::uint64_t>(base_ + offset + offsetof(ImageHeader, generation)));
  }
  return newest;
}

std::vector<std::byte> SegmentWriter::active_image() const {
  const std::uint64_t slot = layout::publish_slot(shared::load<std::uint64_t>(base_ + offsetof(SegmentPrefix, publish)));
  const auto offset = shared::load<std::uint64_t>(base_ + offsetof(SegmentHeader, slot_offset) + 8 * slot);
  const auto bytes = shared::load<std::uint32_t>(base_ + offset + offsetof(ImageHeader, image_bytes));
  std::vector<std::byte> copy(std::min<std::uint64_t>(layout::round_up8(bytes), slot_bytes()));
  shared::copy_out(copy.data(), base_ + offset, copy.size() & ~std::size_t{7});
  return copy;
}

void SegmentWriter::update_status(const std::function<void(layout::DaemonStatus&)>& edit) {
  std::byte* block = base_ + offsetof(SegmentPrefix, status);
  auto status = std::make_unique<layout::DaemonStatus>();
  shared::copy_out(status.get(), block, sizeof(layout::DaemonStatus));
  edit(*status);
  const std::uint64_t odd = begin_write(block);
  status->sequence = odd;
  shared::copy_in(block, status.get(), sizeof(layout::DaemonStatus));
  end_write(block, odd);
}

MemorySegment::MemorySegment(std::uint64_t slot_bytes)
    : size_(SegmentWriter::segment_bytes_for(slot_bytes)),
      bytes_(static_cast<std::byte*>(::operator new(size_, std::align_val_t{4096}))) {
  std::memset(bytes_.get(), 0, size_);
  SegmentWriter::format(bytes_.get(), size_, slot_bytes, 0, 0);
}

void MemorySegment::Free::operator()(std::byte* p) const noexcept {
  ::operator delete(p, std::align_val_t{4096});
}

}  // namespace flagd
