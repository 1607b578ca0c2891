// Reader::list() and Reader::metadata() over a forged image: what they allocate is capped by the
// slot's size (image_read.hpp, CopyBudget), whatever counts and references the image's words claim.
// Allocations are counted by replacing the global operator new (or through the sanitizers' hook);
// without a sanitizer, an allocation past kRefuseAfter fails, so that a reader without the cap
// fails this test instead of exhausting the machine.
#include <catch2/catch.hpp>

#include <cstring>

#include "allocation_counter.hpp"
#include "flagd/layout.hpp"
#include "flagd/limits.hpp"
#include "memory_flags.hpp"

namespace {

using flagd::layout::FlagRecord;
using flagd::layout::ImageHeader;
using flagd::layout::StringRef;

constexpr std::uint64_t kRefuseAfter = 512ull << 20;

constexpr std::uint64_t kSlotBytes = 4u << 20;
constexpr std::uint32_t kLongString = 1u << 20;  // at kLongString: kMaxStringBytes of 'x'
static_assert(kLongString == flagd::limits::kMaxStringBytes);
constexpr std::uint32_t kVariantsAt = 2u << 20;
constexpr std::uint32_t kMetadataAt = 3u << 20;

// A real image of one flag, then forged in place: one long string in the slot's free space, and
// every reference the test aims at it.
class ForgedImage {
 public:
  ForgedImage()
      : flags_(R"({"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false},
                   "defaultVariant": "off", "metadata": {"team": "payments"}}}})",
               kSlotBytes) {
    std::byte* base = flags_.segment().data();
    std::uint64_t publish;
    std::memcpy(&publish, base + offsetof(flagd::layout::SegmentPrefix, publish), 8);
    slot_ = base + flagd::layout::publish_offset(publish);
    std::memset(slot_ + kLongString, 'x', kLongString);
  }

  std::byte* slot() { return slot_; }
  std::byte* record() { return slot_ + flagd::layout::kRecordsOffset; }
  flagd::Reader& reader() { return flags_.reader(); }

  template <class T>
  void put(std::byte* at, T value) {
    std::memcpy(at, &value, sizeof value);
  }
  static std::uint64_t long_string() { return flagd::layout::pack_string_ref(StringRef{kLongString, kLongString}); }

 private:
  flagd::test::MemoryFlags flags_;
  std::byte* slot_;
};

// The bytes `f` allocates; past kRefuseAfter of them, allocations fail.
template <class F>
std::uint64_t allocated_by(F&& f) {
  const std::uint64_t before = flagd::test::allocations().bytes;
  flagd::test::limit_allocated_bytes(before + kRefuseAfter);
  f();
  flagd::test::limit_allocated_bytes(~std::uint64_t{0});
  return flagd::test::allocations().bytes - before;
}

// What the cap allows one view, with room for the containers around the strings.
constexpr std::uint64_t kCap = kSlotBytes + flagd::limits::kMaxFileBytes + (8u << 20);

}  // namespace

TEST_CASE("list() of a forged image allocates no more than the slot and the file limit allow") {
  ForgedImage image;
  {
    const auto listed = image.reader().list();  // the image as it was published
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].key == "f");
    CHECK(listed[0].variants.size() == 2);
  }
  // 65,535 variant records, each naming the same 1 MiB string: 64 GiB of copies.
  for (std::uint32_t v = 0; v < 65535; ++v) {
    std::byte* at = image.slot() + kVariantsAt + std::uint64_t{v} * sizeof(flagd::layout::VariantRecord);
    image.put(at, ForgedImage::long_string());
    image.put(at + 8, std::uint64_t{0});
  }
  image.put(image.record() + 4, std::uint16_t{65535});  // variant_count
  image.put(image.record() + offsetof(FlagRecord, variants_offset), kVariantsAt);
  std::vector<flagd::FlagSummary> listed;
  const std::uint64_t bytes = allocated_by([&] { listed = image.reader().list(); });
  CHECK(listed.empty());  // malformed: nothing rather than part of it
  CHECK(bytes <= kCap);

  // A count of billions of records, which the slot cannot hold.
  image.put(image.record() + 4, std::uint16_t{2});
  image.put(image.slot() + offsetof(ImageHeader, flag_count), std::uint32_t{4'000'000'000u});
  CHECK(allocated_by([&] { listed = image.reader().list(); }) <= kCap);
  CHECK(listed.empty());
}

TEST_CASE("metadata() of a forged image allocates no more than the slot and the file limit allow") {
  ForgedImage image;
  const flagd::Handle f = image.reader().resolve("f");
  std::vector<flagd::MetadataValue> metadata;
  REQUIRE(image.reader().metadata(f, metadata));
  REQUIRE(metadata.size() == 1);
  CHECK(metadata[0].key == "team");

  // 256 entries (the most a block may have), each key and value the same 1 MiB string.
  std::byte* block = image.slot() + kMetadataAt;
  image.put(block, std::uint32_t{flagd::limits::kMaxMetadataEntries});
  for (std::uint32_t i = 0; i < flagd::limits::kMaxMetadataEntries; ++i) {
    std::byte* at = block + sizeof(flagd::layout::MetadataBlock) + i * sizeof(flagd::layout::MetadataEntry);
    image.put(at, ForgedImage::long_string());
    image.put(at + 8, flagd::layout::MetadataKind::String);
    image.put(at + 16, ForgedImage::long_string());
  }
  image.put(image.record() + offsetof(FlagRecord, metadata_offset), kMetadataAt);
  bool found = true;
  const std::uint64_t bytes = allocated_by([&] { found = image.reader().metadata(f, metadata); });
  CHECK_FALSE(found);
  CHECK(metadata.empty());
  CHECK(bytes <= kCap);
}
