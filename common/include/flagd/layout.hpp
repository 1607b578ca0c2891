// The byte layout of a flagd segment and of the compiled flag image inside it.
//
// This header is the single definition shared by the writer (daemon/) and the readers
// (libreader/). Every structure is fixed-width, explicitly padded and checked by static_assert;
// every reference inside an image is an offset relative to the start of its slot, never a pointer,
// so the segment means the same thing at any address in any process.
//
// Segment (offsets from the start of the mapping):
//
//   0      +--------------------------------------------------------------+
//          | SegmentHeader      magic, layout version, own sizes, slot     |  written once, magic last
//   64     +--------------------------------------------------------------+
//          | PublishLine        active_slot: which slot readers start at;  |  one store per publish,
//          |                    changes: what change waiters sleep on      |  then the counter's
//   128    +--------------------------------------------------------------+
//          | SlotSequence[0]    seqlock counter of slot 0 (odd = writing)  |
//   192    +--------------------------------------------------------------+
//          | SlotSequence[1]    seqlock counter of slot 1                  |
//   256    +--------------------------------------------------------------+
//          | HeartbeatLine      the daemon's last beat, its period, pid    |  every period (1 s)
//   320    +--------------------------------------------------------------+
//          | DaemonStatus       pid, reload results, sources; own seqlock  |  never read on the hot path
//   4096   +--------------------------------------------------------------+
//          | slot 0             one compiled image (slot_bytes)            |
//          +--------------------------------------------------------------+
//          | slot 1             one compiled image (slot_bytes)            |
//          +--------------------------------------------------------------+
//
// Image (offsets from the start of its slot; everything 8-byte aligned):
//
//   0      ImageHeader      generation, publish time, source hash, table sizes
//   128    FlagRecord[flag_count]         indexed by stable flag index (kRecordsOffset)
//          NameSlot[name_slots]           open-addressing hash of flag keys -> index
//          VariantRecord[variant_count]   per flag, referenced from its FlagRecord; for a flag
//            of kind Mixed followed by ValueKind[variant_count], zero-padded to 8 bytes
//          MetadataBlock                  per flag, referenced from its FlagRecord
//          string bytes                   each 8-aligned, zero-padded to a multiple of 8
//
// A reader reads every word of a slot with relaxed atomic loads, then an acquire fence, then
// re-checks the slot's sequence counter (see shared_access.hpp). Until that check passes the words
// may be garbage, so every offset and length below is bounds-checked before it is followed.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace flagd::layout {

// Records are decoded from 64-bit words (word0_*) as well as written as structs.
static_assert(std::endian::native == std::endian::little, "the segment layout is little-endian");

inline constexpr std::uint64_t kSegmentMagic = 0x31474553'44474c46ULL;  // "FLGDSEG1" little-endian
// 2: compiled targeting rules; 3: RuleNode::flags; 4, 5: fast forms; 6: word 0 says which boolean
// flags have one, RuleRef gives its size as a power of two; 7: short tests, guard words after a
// fast form; 8: the publish word's superseded bit; 9: value kinds Other and Mixed, the variant kind
// table of a Mixed flag, metadata kind Json; 10: the heartbeat line, the publish line's changes
inline constexpr std::uint32_t kLayoutVersion = 10;
inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::uint64_t kSlotsOffset = 4096;
inline constexpr std::uint32_t kSlotCount = 2;

struct alignas(kCacheLine) SegmentHeader {
  std::uint64_t magic;           // kSegmentMagic; stored last when the segment is formatted
  std::uint32_t layout_version;  // kLayoutVersion of the writer that formatted it
  std::uint32_t header_bytes;    // sizeof(SegmentHeader), so a reader can tell a foreign layout
  std::uint64_t segment_bytes;   // total size of the mapping
  std::uint64_t slot_bytes;      // capacity of each image slot
  std::uint64_t slot_offset[kSlotCount];
  std::uint64_t segment_id;      // random at creation; distinguishes a recreated segment
  std::uint64_t created_unix_ns;
};
static_assert(sizeof(SegmentHeader) == kCacheLine);
static_assert(offsetof(SegmentHeader, layout_version) == 8);
static_assert(offsetof(SegmentHeader, slot_offset) == 32);

// The word readers start every read at. It packs what the hot path needs to reach a record, so a
// read costs one load here instead of three (slot, slot offset, flag count), decoded with masks:
//   bits 0..39   byte offset of the active slot from the segment start (slots are 128-aligned)
//   bit 6        within those, the active slot (0 or 1): `word & 64` is its counter's offset
//                from the first counter, since each counter has a 64-byte line of its own
//   bit 0        superseded: the daemon replaced this segment by a new one of the same name
//                (to grow it, or after it was removed and recreated); flag_count is then 0
//   bits 40..63  flag_count of the image in that slot
// It is written once per publication, after the slot's sequence counter is even again. A reader
// still validates what it derives from it against the mapping's size.
//
// A superseded word keeps naming the last image, so the general path still answers from it, but
// its flag_count of 0 sends every inline evaluation to the general path, which checks bit 0 and
// moves the reader to the new segment: the hot path pays nothing for the check.
//
// `changes` counts publications and the segment's replacement, each stored after `active`: a
// reader waiting for a change (Reader::wait_for_change) sleeps on it with a futex, which the
// writer wakes. It shares the line with `active` because it is written only when `active` is.
struct alignas(kCacheLine) PublishLine {
  std::uint64_t active;
  std::uint32_t changes;
  std::uint8_t padding[kCacheLine - 12];
};
static_assert(sizeof(PublishLine) == kCacheLine);
static_assert(offsetof(PublishLine, changes) == 8 && offsetof(PublishLine, changes) % 4 == 0, "a futex word");

inline constexpr std::uint64_t kSlotAlignment = 128;
inline constexpr std::uint64_t kPublishOffsetMask = 0xFF'FFFF'FF80ULL;
inline constexpr std::uint64_t kPublishSlotBit = 64;
inline constexpr std::uint64_t kMaxPublishedFlags = (std::uint64_t{1} << 24) - 1;
inline constexpr std::uint64_t kPublishSupersededBit = 1;

inline constexpr std::uint64_t pack_publish_word(std::uint64_t slot, std::uint64_t slot_offset,
                                                 std::uint64_t flag_count) noexcept {
  return (slot_offset & kPublishOffsetMask) | (slot != 0 ? kPublishSlotBit : 0) | flag_count << 40;
}
inline constexpr std::uint64_t publish_slot(std::uint64_t w) noexcept { return (w & kPublishSlotBit) != 0; }
inline constexpr std::uint64_t publish_offset(std::uint64_t w) noexcept { return w & kPublishOffsetMask; }
inline constexpr std::uint32_t publish_flag_count(std::uint64_t w) noexcept {
  return static_cast<std::uint32_t>(w >> 40);
}
inline constexpr bool publish_superseded(std::uint64_t w) noexcept { return (w & kPublishSupersededBit) != 0; }
// The word a replaced segment keeps: its last image still readable, nothing on the inline path.
inline constexpr std::uint64_t supersede_publish_word(std::uint64_t w) noexcept {
  return pack_publish_word(publish_slot(w), publish_offset(w), 0) | kPublishSupersededBit;
}
static_assert(publish_offset(supersede_publish_word(pack_publish_word(1, 4096 + 128, 7))) == 4096 + 128);
static_assert(publish_slot(supersede_publish_word(pack_publish_word(1, 4096 + 128, 7))) == 1);
static_assert(publish_flag_count(supersede_publish_word(pack_publish_word(1, 4096 + 128, 7))) == 0);
static_assert(publish_superseded(supersede_publish_word(pack_publish_word(0, 4096, 7))));
static_assert(!publish_superseded(pack_publish_word(1, 4096 + 128, 7)));
static_assert((kPublishSupersededBit & (kPublishOffsetMask | kPublishSlotBit)) == 0);

// Each counter alone on its cache line: the writer bumps the inactive slot's counter while readers
// spin on nothing but the active one.
struct alignas(kCacheLine) SlotSequence {
  std::uint64_t value;  // even: stable; odd: the writer is filling the slot
  std::uint8_t padding[kCacheLine - 8];
};
static_assert(sizeof(SlotSequence) == kCacheLine);

// The daemon's sign of life, stored every `period_ms` on a line of its own, so that beating never
// touches a line an evaluation reads. Readers judge the daemon by the beat's age, which a killed
// daemon cannot fake, unlike DaemonStatus::daemon_running, which it cannot clear.
struct alignas(kCacheLine) HeartbeatLine {
  std::uint64_t beat_unix_ns;  // wall clock of the last beat; 0: never
  std::uint32_t period_ms;     // how often it beats
  std::uint32_t daemon_pid;
  std::uint8_t padding[kCacheLine - 16];
};
static_assert(sizeof(HeartbeatLine) == kCacheLine);

inline constexpr std::size_t kSourcesTextBytes = 2048;
inline constexpr std::size_t kErrorTextBytes = 1280;
inline constexpr std::size_t kWarningTextBytes = 256;

// Written by the daemon whenever something happens; read by `flagctl status`. Guarded by its own
// sequence counter and kept off the cache lines the evaluation path touches.
struct alignas(kCacheLine) DaemonStatus {
  std::uint64_t sequence;
  std::uint32_t daemon_pid;        // pid of the last daemon that served the segment
  std::uint32_t daemon_running;    // 1 while serving, 0 after a clean exit
  std::uint64_t daemon_started_unix_ns;
  std::uint64_t published_generation;
  std::uint64_t published_unix_ns;
  std::uint64_t published_flag_count;
  std::uint64_t reloads_ok;
  std::uint64_t reloads_failed;
  std::uint64_t last_reload_unix_ns;
  std::uint32_t last_reload_ok;    // 1 when the last load attempt was published
  std::uint32_t expired_flags;     // flags of the published image past their metadata "expires"
  char sources[kSourcesTextBytes];     // one line per source: flagd/source_status.hpp
  char last_error[kErrorTextBytes];    // message of the last rejected load, "" if none
  // Of the published load: its warnings (flags that break flagd's schema among them), the first.
  std::uint32_t load_warnings;
  std::uint32_t reserved;
  char first_warning[kWarningTextBytes];
  std::uint8_t padding[4096 - 320 - 80 - kSourcesTextBytes - kErrorTextBytes - 8 - kWarningTextBytes];
};
static_assert(sizeof(DaemonStatus) == kSlotsOffset - 320);
static_assert(offsetof(DaemonStatus, sources) == 80);
static_assert(offsetof(DaemonStatus, load_warnings) == 80 + kSourcesTextBytes + kErrorTextBytes);

struct SegmentPrefix {
  SegmentHeader header;
  PublishLine publish;
  SlotSequence sequence[kSlotCount];
  HeartbeatLine heartbeat;
  DaemonStatus status;
};
static_assert(offsetof(SegmentPrefix, publish) == 64);
static_assert(offsetof(SegmentPrefix, sequence) == 128);
static_assert(sizeof(SlotSequence) == kPublishSlotBit, "word & kPublishSlotBit locates the counter");
static_assert(offsetof(SegmentPrefix, heartbeat) == 256);
static_assert(offsetof(SegmentPrefix, status) == 320);
static_assert(sizeof(SegmentPrefix) == kSlotsOffset);

// ---------------------------------------------------------------------------------------------
// The compiled image inside one slot.

struct ImageHeader {
  std::uint64_t generation;         // strictly increasing over the segment's life
  std::uint64_t published_unix_ns;
  std::uint8_t source_sha256[32];   // SHA-256 over the source files, in load order
  std::uint32_t image_bytes;        // bytes used in the slot, <= slot_bytes
  std::uint32_t flag_count;         // records in the table = stable indices assigned so far
  std::uint32_t present_count;      // records whose flag exists in this image
  std::uint32_t name_slots_offset;
  std::uint32_t name_slot_count;    // a power of two
  std::uint32_t set_metadata_offset;  // MetadataBlock of the set, 0 if none
  std::uint32_t rules_offset;         // RuleRef[flag_count] (rule_layout.hpp)
  // uint64[flag_count]: a hash of each flag's definition (0: absent), so that tools can tell
  // which flags a publication changed. 0 in images of writers older than the field.
  std::uint32_t fingerprints_offset;
  std::uint8_t padding[128 - 80];
};
static_assert(sizeof(ImageHeader) == 128);
static_assert(offsetof(ImageHeader, fingerprints_offset) == 76);
static_assert(offsetof(ImageHeader, image_bytes) == 48);
static_assert(offsetof(ImageHeader, flag_count) == 52);
static_assert(offsetof(ImageHeader, rules_offset) == 72);

inline constexpr std::uint32_t kRecordsOffset = sizeof(ImageHeader);

enum class FlagState : std::uint8_t { Absent = 0, Enabled = 1, Disabled = 2 };
// Other: an array or null, which flagd loads as a variant value but no typed request accepts
// (TYPE_MISMATCH); its payload is its JSON text, as an object's. Mixed: only in a FlagRecord, for a
// flag whose variants differ in kind (flagd loads that too): each variant's kind is in the table
// after its VariantRecords (variant_kinds_offset).
enum class ValueKind : std::uint8_t { Boolean = 0, String = 1, Number = 2, Object = 3, Other = 4, Mixed = 5 };
inline constexpr std::uint16_t kNoDefaultVariant = 0xFFFF;

// Payload of a value (a variant's or the default's): boolean 0/1, number as IEEE-754 double bits,
// string and object (compact JSON text) as a StringRef.
inline constexpr std::uint64_t round_up8(std::uint64_t n) noexcept { return (n + 7) & ~std::uint64_t{7}; }

struct StringRef {
  std::uint32_t offset;
  std::uint32_t length;
};
static_assert(sizeof(StringRef) == 8);

// One per stable flag index. Word 0 alone answers a static boolean evaluation (static_bool).
struct alignas(32) FlagRecord {
  // word 0
  FlagState state;
  ValueKind kind;
  std::uint8_t has_targeting;  // 1: the flag has a rule (RuleRef at its index)
  std::uint8_t static_bool;    // StaticBool, or TargetedBoolNull, or 0
  std::uint16_t variant_count;
  std::uint16_t default_variant;  // index into the variants, or kNoDefaultVariant
  // word 1
  std::uint64_t default_payload;  // payload of the default variant, 0 if none
  // word 2
  StringRef key;
  // word 3
  std::uint32_t variants_offset;  // VariantRecord[variant_count]
  std::uint32_t metadata_offset;  // MetadataBlock, 0 if the flag has none
};
static_assert(sizeof(FlagRecord) == 32);
static_assert(offsetof(FlagRecord, static_bool) == 3);
static_assert(offsetof(FlagRecord, default_payload) == 8);
static_assert(offsetof(FlagRecord, key) == 16);
static_assert(offsetof(FlagRecord, variants_offset) == 24);

struct VariantRecord {
  StringRef key;
  std::uint64_t payload;
};
static_assert(sizeof(VariantRecord) == 16);

// Where a Mixed flag's ValueKind[variant_count] starts, and the bytes it takes with its padding.
inline constexpr std::uint64_t variant_kinds_offset(std::uint64_t variants_offset, std::uint16_t count) noexcept {
  return variants_offset + std::uint64_t{count} * sizeof(VariantRecord);
}
inline constexpr std::uint64_t variant_kinds_bytes(std::uint16_t count) noexcept {
  return round_up8(count);
}

// Hash slot for lookups by key: index + 1 (0 = empty) and the key's 32-bit hash.
struct NameSlot {
  std::uint32_t index_plus_one;
  std::uint32_t hash;
};
static_assert(sizeof(NameSlot) == 8);

// Json: an object or array, as compact JSON text (flagd passes such metadata values on).
enum class MetadataKind : std::uint8_t { Boolean = 0, String = 1, Number = 2, Json = 3 };

struct MetadataEntry {
  StringRef key;
  MetadataKind kind;
  std::uint8_t reserved[7];
  std::uint64_t payload;  // as a value payload of the same kind
};
static_assert(sizeof(MetadataEntry) == 24);

struct MetadataBlock {
  std::uint32_t count;  // MetadataEntry[count] follow
  std::uint32_t reserved;
};
static_assert(sizeof(MetadataBlock) == 8);

// For an enabled boolean flag without targeting and with a default variant, the answer does not
// depend on anything but the record: the builder stores it in word 0, and the hot path needs no
// other word of the record. Bit 0: the answer is here; bit 1: the answer.
enum StaticBool : std::uint8_t { kNotStaticBool = 0, kStaticFalse = 1, kStaticTrue = 3 };
// For an enabled boolean flag whose rule has a fast form (fast_form.hpp), bits 2..4 of the same
// byte instead give the answer when the rule yields null: the default variant's false or true, or
// the caller's fallback if the flag has no default variant. Nonzero exactly for such flags, so the
// hot path knows from word 0 alone to run the form, and needs no other word of the record.
enum TargetedBoolNull : std::uint8_t {
  kTargetedNullFalse = 1 << 2,
  kTargetedNullTrue = 3 << 2,
  kTargetedNullFallback = 5 << 2,
};

// Word-level view of FlagRecord word 0, so the hot path decodes it from one 64-bit load.
inline constexpr FlagState word0_state(std::uint64_t w) noexcept {
  return static_cast<FlagState>(w & 0xFF);
}
inline constexpr ValueKind word0_kind(std::uint64_t w) noexcept {
  return static_cast<ValueKind>((w >> 8) & 0xFF);
}
inline constexpr bool word0_targeting(std::uint64_t w) noexcept { return ((w >> 16) & 0xFF) != 0; }
inline constexpr std::uint16_t word0_variant_count(std::uint64_t w) noexcept {
  return static_cast<std::uint16_t>(w >> 32);
}
inline constexpr std::uint16_t word0_default_variant(std::uint64_t w) noexcept {
  return static_cast<std::uint16_t>(w >> 48);
}

inline constexpr std::uint64_t word0_static_bool(std::uint64_t w) noexcept { return (w >> 24) & 3; }
// TargetedBoolNull >> 2: 1 false, 3 true, 5 the fallback; 0 if the flag is no such flag.
inline constexpr std::uint64_t word0_targeted_null(std::uint64_t w) noexcept { return (w >> 26) & 7; }

inline constexpr std::uint64_t pack_string_ref(StringRef r) noexcept {
  return std::uint64_t{r.offset} | std::uint64_t{r.length} << 32;
}
inline constexpr StringRef unpack_string_ref(std::uint64_t payload) noexcept {
  return StringRef{static_cast<std::uint32_t>(payload), static_cast<std::uint32_t>(payload >> 32)};
}

}  // namespace flagd::layout
