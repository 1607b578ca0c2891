// Reading an image inside a seqlock section. Everything here assumes the bytes may be torn: each
// offset and length is checked against the slot before it is followed, each loop is bounded, and
// nothing is kept until the section's sequence check has passed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "flagd/key_hash.hpp"
#include "flagd/layout.hpp"
#include "flagd/limits.hpp"
#include "flagd/rule_layout.hpp"
#include "flagd/reader.hpp"
#include "flagd/shared_access.hpp"

namespace flagd::detail {

enum class SectionResult : std::uint8_t { Ok, Malformed, Busy };

// Bytes of one slot, as a bounds-checked view.
struct SlotView {
  const std::byte* image;
  std::uint64_t bytes;

  bool contains(std::uint64_t offset, std::uint64_t length) const noexcept {
    return offset <= bytes && length <= bytes - offset;
  }
  template <class Word>
  Word load(std::uint64_t offset) const noexcept {
    return shared::load<Word>(image + offset);
  }
  // In the slot and 8-aligned: where words may be loaded (a misaligned atomic load is undefined).
  bool holds_words(std::uint64_t offset, std::uint64_t length) const noexcept {
    return offset % 8 == 0 && contains(offset, length);
  }
};

// Runs `body(SlotView)` inside a seqlock read of the active slot, again while the writer rewrote
// the slot under it. The body returns false for data that makes no sense; if the section then
// validates, the image itself is malformed. The body must have no effect outside its own outputs,
// which it overwrites on every attempt.
template <class Body>
[[gnu::always_inline]] inline SectionResult read_section(const Mapping& m, Body&& body) noexcept {
  const std::byte* publish = m.base + offsetof(layout::SegmentPrefix, publish);
  for (int attempt = 0; attempt < kMaxReadAttempts; ++attempt) {
    const std::uint64_t word = shared::load_acquire<std::uint64_t>(publish);
    const std::uint64_t offset = layout::publish_offset(word);
    if (offset < layout::kSlotsOffset || offset > m.segment_bytes || m.slot_bytes > m.segment_bytes - offset)
      return SectionResult::Malformed;  // only a broken writer stores such a word
    const std::byte* sequence =
        m.base + offsetof(layout::SegmentPrefix, sequence) + (word & layout::kPublishSlotBit);
    const std::uint64_t before = shared::load_acquire<std::uint64_t>(sequence);
    if (before & 1) continue;
    const bool sane = body(SlotView{m.base + offset, m.slot_bytes});
    shared::acquire_fence();
    if (shared::load<std::uint64_t>(sequence) != before) continue;
    return sane ? SectionResult::Ok : SectionResult::Malformed;
  }
  return SectionResult::Busy;
}

// Copies a string of the image into `out`; false if it lies outside the slot or over the limit.
// With `grow` null it may allocate (for the allocating views). On evaluation paths `grow` is set:
// a string longer than out's capacity is not copied and its length is left in *grow, so that the
// caller reserves after the section validated that length, and reads again. A torn length
// therefore never makes an evaluation allocate.
bool copy_string(const SlotView& slot, layout::StringRef ref, std::string& out,
                 std::size_t* grow = nullptr) noexcept;

// What one allocating view (a listing, a flag's metadata) may copy out of a slot, whatever its
// words claim. Offsets and lengths alone do not bound it: a forged image can point every one of
// 65,535 variant records, or of 256 metadata entries, at the same 1 MiB string. A real image's
// strings are spelt out in the flag file wherever they are used, even when the image stores them
// once, so a view of a real image copies at most the file limit; the slot's own size is added
// for images of writers that merge several sources.
class CopyBudget {
 public:
  explicit CopyBudget(const SlotView& slot) noexcept : bytes_(slot.bytes + limits::kMaxFileBytes) {}
  // Takes `n` bytes, or false if fewer are left.
  bool take(std::uint64_t n) noexcept {
    if (n > bytes_) return false;
    bytes_ -= n;
    return true;
  }

 private:
  std::uint64_t bytes_;
};

// copy_string for the allocating views: false, before anything is allocated, if the string would
// overdraw `budget`.
bool copy_string(const SlotView& slot, layout::StringRef ref, std::string& out, CopyBudget& budget) noexcept;

// True if the image string `ref` holds exactly `key`. Inline: rules compare strings in their
// innermost loops.
inline bool string_equals(const SlotView& slot, layout::StringRef ref, std::string_view key) noexcept {
  if (ref.length != key.size()) return false;
  if (!slot.holds_words(ref.offset, layout::round_up8(ref.length))) return false;
  std::size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    const std::uint64_t w = slot.load<std::uint64_t>(ref.offset + i);
    if (std::memcmp(&w, key.data() + i, 8) != 0) return false;
  }
  if (i < key.size()) {
    // Image strings are zero-padded to whole words, so the last word compares whole.
    const std::uint64_t w = slot.load<std::uint64_t>(ref.offset + i);
    if (w != tail_word(key.data() + i, key.size() - i)) return false;
  }
  return true;
}

// The index of the variant of flag `record` (whose word 0 is `word0`) named `name`, into `found`;
// kNoDefaultVariant if none is. False if the record's variants lie outside the slot (torn).
inline bool variant_named(const SlotView& slot, const std::byte* record, std::uint64_t word0, std::string_view name,
                          std::uint16_t& found) noexcept {
  found = layout::kNoDefaultVariant;
  const std::uint64_t variants = shared::load<std::uint32_t>(record + offsetof(layout::FlagRecord, variants_offset));
  const std::uint16_t count = layout::word0_variant_count(word0);
  for (std::uint16_t v = 0; v < count; ++v) {  // at most 65,535: bounded on torn data too
    const std::uint64_t at = variants + std::uint64_t{v} * sizeof(layout::VariantRecord);
    if (!slot.holds_words(at, sizeof(layout::VariantRecord))) return false;
    if (string_equals(slot, layout::unpack_string_ref(slot.load<std::uint64_t>(at)), name)) {
      found = v;
      return true;
    }
  }
  return true;
}

// The kind of variant `v` of a flag whose record says `flag_kind`: the flag's own, or for a Mixed
// flag the variant's entry in the kind table after its `count` VariantRecords at `variants`
// (loaded as the whole word that holds it). False if that table lies outside the slot (torn).
inline bool variant_kind(const SlotView& slot, layout::ValueKind flag_kind, std::uint64_t variants,
                         std::uint16_t count, std::uint16_t v, layout::ValueKind& kind) noexcept {
  kind = flag_kind;
  if (flag_kind != layout::ValueKind::Mixed) return true;
  const std::uint64_t word_at = layout::variant_kinds_offset(variants, count) + (v & ~std::uint64_t{7});
  if (v >= count || !slot.holds_words(word_at, 8)) return false;
  kind = static_cast<layout::ValueKind>((slot.load<std::uint64_t>(word_at) >> ((v & 7) * 8)) & 0xFF);
  return true;
}

// A key to look up, hashed once (outside any read section).
struct KeyProbe {
  explicit KeyProbe(std::string_view k) noexcept : key(k), hash(key_hash(k)) {}
  std::string_view key;
  std::uint32_t hash;
};

// The stable index of the key in the image and its record, or kUnresolved and nullptr. False if
// the table is malformed.
bool find_key(const SlotView& slot, const KeyProbe& probe, std::uint32_t& index,
              const std::byte*& record) noexcept;

// The stable index of `key` in the image `m` publishes now; kUnresolved if it has none (or the
// image is malformed, or the writer never lets go).
inline std::uint32_t key_index(const Mapping& m, std::string_view key) noexcept {
  const KeyProbe probe(key);
  std::uint32_t index = kUnresolved;
  const std::byte* record;
  const auto result = read_section(m, [&](const SlotView& slot) { return find_key(slot, probe, index, record); });
  return result == SectionResult::Ok ? index : kUnresolved;
}

// Where flag `index`'s RuleRef lies in the image; not checked (readers check it holds words).
inline std::uint64_t rule_ref_at(const SlotView& slot, std::uint32_t index) noexcept {
  return slot.load<std::uint32_t>(offsetof(layout::ImageHeader, rules_offset)) +
         std::uint64_t{index} * sizeof(layout::RuleRef);
}

// The node half of the RuleRef at `at` (nodes_offset, node_count: its first word, read in one
// load, as the writer laid the struct out), for the interpreter; the fast half is
// open_fast_form's.
inline layout::RuleRef rule_nodes(const SlotView& slot, std::uint64_t at) noexcept {
  static_assert(offsetof(layout::RuleRef, nodes_offset) == 0 && offsetof(layout::RuleRef, node_count) == 4);
  const std::uint64_t word = slot.load<std::uint64_t>(at);
  return layout::RuleRef{static_cast<std::uint32_t>(word), static_cast<std::uint32_t>(word >> 32), 0, 0};
}

// The record of `index`, bounds-checked; nullptr if the image has no such record.
inline const std::byte* record_at(const SlotView& slot, std::uint32_t index) noexcept {
  const auto count = slot.load<std::uint32_t>(offsetof(layout::ImageHeader, flag_count));
  if (index >= count) return nullptr;
  const std::uint64_t offset = layout::kRecordsOffset + std::uint64_t{index} * sizeof(layout::FlagRecord);
  if (!slot.contains(offset, sizeof(layout::FlagRecord))) return nullptr;
  return slot.image + offset;
}

}  // namespace flagd::detail
