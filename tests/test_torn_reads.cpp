// Whatever bytes a slot holds (a torn read shows a reader arbitrary bytes until its sequence
// check fails), evaluation must not crash, loop or read outside the slot. Here the garbage is
// stable, so the sequence check passes and the reader must notice the image is malformed itself.
// Run under AddressSanitizer in CI, where a read outside the mapping is fatal.
#include <catch2/catch.hpp>

#include <random>

#include "flagd/limits.hpp"
#include "flagd/rule_layout.hpp"
#include "exercise_reader.hpp"
#include "memory_flags.hpp"

using flagd::Evaluation;
using flagd::Reason;

namespace {


std::byte* active_slot(flagd::MemorySegment& segment) {
  flagd::layout::SegmentPrefix prefix;
  std::memcpy(&prefix, segment.data(), sizeof prefix);
  return segment.data() + flagd::layout::publish_offset(prefix.publish.active);
}

// Evaluates every flag every way; an error answer must carry the caller's default.
void evaluate_everything(flagd::Reader& r) {
  REQUIRE(flagd::test::exercise_reader(r, flagd::test::kEveryKindKeys));
}

}  // namespace

TEST_CASE("random bytes flipped in a published image never crash a reader") {
  flagd::test::MemoryFlags flags(flagd::test::kEveryKindFlags, 8192);
  std::byte* slot = active_slot(flags.segment());
  flagd::layout::ImageHeader header;
  std::memcpy(&header, slot, sizeof header);
  const std::vector<std::byte> original(slot, slot + header.image_bytes);

  std::mt19937_64 random(12345);
  int malformed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::memcpy(slot, original.data(), original.size());
    const int flips = 1 + static_cast<int>(random() % 8);
    for (int f = 0; f < flips; ++f) {
      const std::size_t at = random() % original.size();
      slot[at] = static_cast<std::byte>(random());
    }
    evaluate_everything(flags.reader());
    Evaluation<std::string> s;
    flags.reader().evaluate(flags.reader().resolve("s"), std::string_view("fallback"), s);
    malformed += s.reason == Reason::Error && s.error == flagd::ErrorCode::General;
  }
  CHECK(malformed > 0);  // some corruption was caught as such, not only survived
}

TEST_CASE("a slot of pure noise never crashes a reader") {
  flagd::test::MemoryFlags flags(flagd::test::kEveryKindFlags, 8192);
  std::byte* slot = active_slot(flags.segment());
  std::mt19937_64 random(777);
  for (int round = 0; round < 500; ++round) {
    for (std::size_t i = 0; i < 4096; ++i) slot[i] = static_cast<std::byte>(random());
    // Keep the counts small sometimes, so that lookups get past the first checks.
    if (round % 2 == 0) {
      const std::uint32_t count = static_cast<std::uint32_t>(random() % 8);
      std::memcpy(slot + offsetof(flagd::layout::ImageHeader, flag_count), &count, 4);
      const std::uint32_t slots = 8, table = 128 + 32 * count;
      std::memcpy(slot + offsetof(flagd::layout::ImageHeader, name_slot_count), &slots, 4);
      std::memcpy(slot + offsetof(flagd::layout::ImageHeader, name_slots_offset), &table, 4);
    }
    evaluate_everything(flags.reader());
  }
  SUCCEED("no crash, no out-of-bounds read under AddressSanitizer");
  CHECK(flags.reader().get_bool("b", true) == flags.reader().get_bool("b", true));
}

TEST_CASE("a string constant whose variant index is torn is read as text, not as a variant") {
  // Found by fuzz_slot: a `b` word of 0x10000 has a variant index of 0 in its low 16 bits. The
  // rule is one the fast form leaves to the interpreter (cat), where the index matters.
  flagd::test::MemoryFlags flags(R"({"flags": {"v": {"state": "ENABLED", "variants": {"on": "on", "off": "off"},
    "defaultVariant": "off", "targeting": {"if": [{"==": [{"cat": [{"var": "x"}]}, "y"]}, "on", "off"]}}}})");
  std::byte* slot = active_slot(flags.segment());
  flagd::layout::ImageHeader header;
  std::memcpy(&header, slot, sizeof header);
  flagd::layout::RuleRef ref;
  std::memcpy(&ref, slot + header.rules_offset, sizeof ref);  // flag "v" has index 0
  int torn = 0;
  for (std::uint32_t i = 0; i < ref.node_count; ++i) {
    flagd::layout::RuleNode node;
    std::byte* at = slot + ref.nodes_offset + i * sizeof node;
    std::memcpy(&node, at, sizeof node);
    if (node.op != flagd::layout::RuleOp::String || node.b == 0) continue;
    node.b = 0x10000;
    std::memcpy(at, &node, sizeof node);
    ++torn;
  }
  REQUIRE(torn == 2);  // "on" and "off"
  flagd::Context context;
  context.set("x", "y");
  Evaluation<std::string> e;
  flags.reader().evaluate(flags.reader().resolve("v"), context, std::string_view("fallback"), e);
  CHECK(e.reason == Reason::TargetingMatch);  // named by its text instead
  CHECK(e.value == "on");
}
