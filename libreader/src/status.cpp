// The reader's slow, allocating views: metadata, listings and the daemon's status.
#include <bit>
#include <cstdio>

#include "flagd/limits.hpp"
#include "flagd/reader.hpp"
#include "image_read.hpp"

namespace flagd {

using detail::SectionResult;
using detail::SlotView;
using layout::FlagRecord;
using layout::ImageHeader;

namespace {

bool read_metadata_block(const SlotView& slot, std::uint64_t block, std::vector<MetadataValue>& out,
                         detail::CopyBudget& budget) {
  if (block == 0) return true;
  if (!slot.holds_words(block, sizeof(layout::MetadataBlock))) return false;
  const std::uint32_t count = slot.load<std::uint32_t>(block);
  if (count > limits::kMaxMetadataEntries) return false;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint64_t at = block + sizeof(layout::MetadataBlock) + i * sizeof(layout::MetadataEntry);
    if (!slot.holds_words(at, sizeof(layout::MetadataEntry))) return false;
    MetadataValue value;
    if (!detail::copy_string(slot, layout::unpack_string_ref(slot.load<std::uint64_t>(at)), value.key, budget))
      return false;
    const auto kind = static_cast<layout::MetadataKind>(slot.load<std::uint8_t>(at + 8));
    const std::uint64_t payload = slot.load<std::uint64_t>(at + 16);
    switch (kind) {
      case layout::MetadataKind::Boolean: value.value = payload != 0; break;
      case layout::MetadataKind::Number: value.value = std::bit_cast<double>(payload); break;
      case layout::MetadataKind::String: {
        std::string text;
        if (!detail::copy_string(slot, layout::unpack_string_ref(payload), text, budget)) return false;
        value.value = std::move(text);
        break;
      }
      case layout::MetadataKind::Json: {
        MetadataJson json;
        if (!detail::copy_string(slot, layout::unpack_string_ref(payload), json.text, budget)) return false;
        value.value = std::move(json);
        break;
      }
      default: return false;
    }
    // A flag's entry replaces the set's entry of the same key.
    bool replaced = false;
    for (auto& existing : out)
      if (existing.key == value.key) {
        existing = value;
        replaced = true;
      }
    if (!replaced) out.push_back(std::move(value));
  }
  return true;
}

std::string hex(const std::uint8_t* bytes, std::size_t n) {
  std::string s;
  char buf[3];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", bytes[i]);
    s += buf;
  }
  return s;
}

std::string text_field(const char* field, std::size_t capacity) {
  std::size_t n = 0;
  while (n < capacity && field[n] != '\0') ++n;
  return std::string(field, n);
}

}  // namespace

bool Reader::metadata(Handle flag, std::vector<MetadataValue>& out) const {
  const std::uint32_t index = index_of(flag);
  bool found = false;
  const auto result = detail::read_section(mapping(), [&](const SlotView& slot) {
    out.clear();
    found = false;
    const std::byte* record = detail::record_at(slot, index);
    if (record == nullptr) return true;
    if (layout::word0_state(shared::load<std::uint64_t>(record)) == layout::FlagState::Absent)
      return true;
    found = true;
    const std::uint32_t set_block = slot.load<std::uint32_t>(offsetof(ImageHeader, set_metadata_offset));
    const std::uint32_t flag_block =
        shared::load<std::uint32_t>(record + offsetof(FlagRecord, metadata_offset));
    detail::CopyBudget budget(slot);
    return read_metadata_block(slot, set_block, out, budget) && read_metadata_block(slot, flag_block, out, budget);
  });
  if (result != SectionResult::Ok) out.clear();
  return result == SectionResult::Ok && found;
}

std::optional<layout::ValueKind> Reader::kind(std::string_view key) const { return kind_at(lookup(key)); }

std::optional<layout::ValueKind> Reader::kind(Handle flag) const { return kind_at(index_of(flag)); }

std::optional<layout::ValueKind> Reader::kind_at(std::uint32_t index) const {
  std::optional<layout::ValueKind> kind;
  const auto result = detail::read_section(mapping(), [&](const SlotView& slot) {
    kind.reset();
    const std::byte* record = detail::record_at(slot, index);
    if (record == nullptr) return true;
    const std::uint64_t word0 = shared::load<std::uint64_t>(record);
    if (layout::word0_state(word0) != layout::FlagState::Absent) kind = layout::word0_kind(word0);
    return true;
  });
  return result == SectionResult::Ok ? kind : std::nullopt;
}

std::vector<FlagSummary> Reader::list() const { return listing().flags; }

FlagListing Reader::listing() const {
  FlagListing listing;
  std::vector<FlagSummary>& flags = listing.flags;
  const auto result = detail::read_section(mapping(), [&](const SlotView& slot) {
    flags.clear();
    listing.generation = slot.load<std::uint64_t>(offsetof(ImageHeader, generation));
    const std::uint32_t count = slot.load<std::uint32_t>(offsetof(ImageHeader, flag_count));
    const std::uint64_t fingerprints = slot.load<std::uint32_t>(offsetof(ImageHeader, fingerprints_offset));
    if (fingerprints != 0 && !slot.holds_words(fingerprints, std::uint64_t{count} * 8)) return false;
    // Every record lies in the slot, so the count is checked before it sizes anything.
    if (count > limits::kMaxFlags || !slot.contains(layout::kRecordsOffset, std::uint64_t{count} * sizeof(FlagRecord)))
      return false;
    flags.reserve(count);
    detail::CopyBudget budget(slot);
    // A real image gives each flag variant records of its own: together they fit in the slot.
    std::uint64_t variant_records = slot.bytes / sizeof(layout::VariantRecord);
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::byte* record = detail::record_at(slot, i);
      if (record == nullptr) return false;
      const std::uint64_t word0 = shared::load<std::uint64_t>(record);
      if (layout::word0_state(word0) == layout::FlagState::Absent) continue;
      FlagSummary flag;
      flag.state = layout::word0_state(word0);
      flag.kind = layout::word0_kind(word0);
      if (!detail::copy_string(
              slot, layout::unpack_string_ref(shared::load<std::uint64_t>(record + 16)), flag.key, budget))
        return false;
      const std::uint64_t variants = shared::load<std::uint32_t>(record + offsetof(FlagRecord, variants_offset));
      const std::uint16_t variant_count = layout::word0_variant_count(word0);
      if (variant_count > variant_records ||
          !slot.holds_words(variants, std::uint64_t{variant_count} * sizeof(layout::VariantRecord)))
        return false;
      variant_records -= variant_count;
      flag.variants.reserve(variant_count);
      for (std::uint16_t v = 0; v < variant_count; ++v) {
        const std::uint64_t at = variants + v * sizeof(layout::VariantRecord);
        std::string name;
        if (!detail::copy_string(slot, layout::unpack_string_ref(slot.load<std::uint64_t>(at)), name, budget))
          return false;
        if (v == layout::word0_default_variant(word0)) flag.default_variant = name;
        flag.variants.push_back(std::move(name));
      }
      if (fingerprints != 0) flag.fingerprint = slot.load<std::uint64_t>(fingerprints + std::uint64_t{i} * 8);
      flags.push_back(std::move(flag));
    }
    return true;
  });
  if (result != SectionResult::Ok) listing = {};  // never a listing mixed from two images
  return listing;
}

SegmentStatus Reader::status() const {
  const detail::Mapping& m = mapping();
  SegmentStatus s;
  const std::byte* base = m.base;
  s.layout_version = shared::load<std::uint32_t>(base + offsetof(layout::SegmentHeader, layout_version));
  s.segment_bytes = m.segment_bytes;
  s.slot_bytes = m.slot_bytes;
  s.segment_id = shared::load<std::uint64_t>(base + offsetof(layout::SegmentHeader, segment_id));
  s.created_unix_ns = shared::load<std::uint64_t>(base + offsetof(layout::SegmentHeader, created_unix_ns));
  // mapping() moved to the replacement if it could; a superseded word now means it could not.
  s.owner_uid = m.owner;
  s.superseded = detail::superseded(m);

  const auto image = detail::read_section(m, [&](const SlotView& slot) {
    ImageHeader header;
    shared::copy_out(&header, slot.image, sizeof header);
    s.image_generation = header.generation;
    s.image_bytes = header.image_bytes;
    s.image_published_unix_ns = header.published_unix_ns;
    s.image_flag_count = header.present_count;
    s.image_sha256 = hex(header.source_sha256, sizeof header.source_sha256);
    return true;
  });
  if (image != SectionResult::Ok) {  // leave the image fields unknown rather than mixed
    s.image_generation = s.image_bytes = s.image_published_unix_ns = 0;
    s.image_flag_count = 0;
    s.image_sha256.clear();
  }

  const std::byte* beat = base + offsetof(layout::SegmentPrefix, heartbeat);
  s.heartbeat_unix_ns = shared::load_acquire<std::uint64_t>(beat + offsetof(layout::HeartbeatLine, beat_unix_ns));
  s.heartbeat_period_ms = shared::load<std::uint32_t>(beat + offsetof(layout::HeartbeatLine, period_ms));
  s.heartbeat_pid = shared::load<std::uint32_t>(beat + offsetof(layout::HeartbeatLine, daemon_pid));

  // The daemon's status block has a seqlock of its own.
  const std::byte* block = base + offsetof(layout::SegmentPrefix, status);
  for (int attempt = 0; attempt < detail::kMaxReadAttempts; ++attempt) {
    const auto before = shared::load_acquire<std::uint64_t>(block);
    if (before & 1) continue;
    auto copy = std::make_unique<layout::DaemonStatus>();
    shared::copy_out(copy.get(), block, sizeof(layout::DaemonStatus));
    shared::acquire_fence();
    if (shared::load<std::uint64_t>(block) != before) continue;
    s.daemon_pid = copy->daemon_pid;
    s.daemon_running = copy->daemon_running != 0;
    s.daemon_started_unix_ns = copy->daemon_started_unix_ns;
    s.reloads_ok = copy->reloads_ok;
    s.reloads_failed = copy->reloads_failed;
    s.last_reload_unix_ns = copy->last_reload_unix_ns;
    s.last_reload_ok = copy->last_reload_ok != 0;
    s.expired_flags = copy->expired_flags;
    s.sources = text_field(copy->sources, sizeof copy->sources);
    s.last_error = text_field(copy->last_error, sizeof copy->last_error);
    s.load_warnings = copy->load_warnings;
    s.first_warning = text_field(copy->first_warning, sizeof copy->first_warning);
    break;
  }
  return s;
}

}  // namespace flagd
