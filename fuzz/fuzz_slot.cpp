// libFuzzer target: the bytes of an image slot as a torn read could show them to a reader. The
// segment holds a valid image of flags of every kind (with targeting rules and fast forms); the
// input either overwrites part of it (first byte even: the next two bytes give the offset) or
// replaces the whole slot (first byte odd). Every flag is then evaluated every way: no crash, no
// hang, no read outside the segment (AddressSanitizer: the segment is a heap block of its exact
// size), and error answers carry the caller's default.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "exercise_reader.hpp"
#include "flagd/layout.hpp"
#include "memory_flags.hpp"

namespace {

struct Fixture {
  flagd::test::MemoryFlags flags{flagd::test::kEveryKindFlags, 1u << 16};
  std::byte* slot = nullptr;
  std::vector<std::byte> original;
  std::uint64_t slot_bytes = 0;
  Fixture() {
    flagd::layout::SegmentPrefix prefix;
    std::memcpy(&prefix, flags.segment().data(), sizeof prefix);
    slot = flags.segment().data() + flagd::layout::publish_offset(prefix.publish.active);
    slot_bytes = prefix.header.slot_bytes;
    original.assign(slot, slot + slot_bytes);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  if (size == 0) return 0;
  std::memcpy(fixture.slot, fixture.original.data(), fixture.slot_bytes);
  if ((data[0] & 1) == 0 && size >= 3) {
    const std::size_t at = (std::size_t{data[1]} | std::size_t{data[2]} << 8) % fixture.slot_bytes;
    const std::size_t n = std::min(size - 3, fixture.slot_bytes - at);
    std::memcpy(fixture.slot + at, data + 3, n);
  } else {
    std::memset(fixture.slot, 0, fixture.slot_bytes);
    std::memcpy(fixture.slot, data + 1, std::min<std::size_t>(size - 1, fixture.slot_bytes));
  }
  if (!flagd::test::exercise_reader(fixture.flags.reader(), flagd::test::kEveryKindKeys))
    __builtin_trap();
  return 0;
}
