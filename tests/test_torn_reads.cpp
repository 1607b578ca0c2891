// Whatever bytes a slot holds (a torn read shows a reader arbitrary bytes until its sequence
// check fails), evaluation must not crash, loop or read outside the slot. Here the garbage is
// stable, so the sequence check passes and the reader must notice the image is malformed itself.
// Run under AddressSanitizer in CI, where a read outside the mapping is fatal.
#include <catch2/catch.hpp>

#include <random>

#include "flagd/limits.hpp"
#include "memory_flags.hpp"

using flagd::Evaluation;
using flagd::Reason;

namespace {

constexpr std::string_view kFlags = R"({"metadata": {"m": 1}, "flags": {
  "b": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
  "s": {"state": "ENABLED", "variants": {"x": "some text here", "y": "other"}, "defaultVariant": "y"},
  "n": {"state": "ENABLED", "variants": {"one": 1.5}, "defaultVariant": "one"},
  "o": {"state": "ENABLED", "variants": {"obj": {"k": [1, 2]}}, "defaultVariant": "obj"},
  "d": {"state": "DISABLED", "variants": {"on": true}},
  "t": {"state": "ENABLED", "variants": {"x": "x", "y": "y"}, "defaultVariant": "y",
        "targeting": {"if": [{"and": [{"in": [{"var": "c"}, ["DE", "FR"]]}, {"sem_ver": [{"var": "v"}, ">", "1.0.0"]},
                                      {"some": [{"var": "l"}, {"==": [{"var": ""}, 2]}]}]},
                             {"fractional": [["x", 50], ["y", 50]]}, {"cat": ["y", {"substr": ["zz", 5]}]}]}},
  "tb": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
         "targeting": {"if": [{"or": [{"starts_with": [{"var": "c"}, "F"]}, {"<": [{"var": "n"}, 3]}]},
                              {"fractional": [["on", 1], ["off", 1]]},
                              {"if": [{"!": {"==": [{"var": "c"}, "DE"]}}, "on", null]}]}}}})";

std::byte* active_slot(flagd::MemorySegment& segment) {
  flagd::layout::SegmentPrefix prefix;
  std::memcpy(&prefix, segment.data(), sizeof prefix);
  return segment.data() + flagd::layout::publish_offset(prefix.publish.active);
}

// Evaluates everything every way; an error answer must carry the caller's default.
void evaluate_everything(flagd::Reader& r) {
  const char* keys[] = {"b", "s", "n", "o", "d", "t", "tb", "zz"};
  flagd::Context context;
  const flagd::Context::Item list[] = {flagd::Context::Item::of(1.0), flagd::Context::Item::of(2.0)};
  context.set("c", "FR").set("v", "1.2.0").set_list("l", list).set("n", 2.0).set_targeting_key("k1");
  std::string text;
  for (const char* key : keys) {
    const auto h = r.resolve(key);
    Evaluation<bool> b;
    r.evaluate(h, true, b);
    if (b.reason == Reason::Error) REQUIRE(b.value == true);
    Evaluation<std::string> s;
    r.evaluate(h, std::string_view("fallback"), s);
    if (s.reason == Reason::Error) REQUIRE(s.value == "fallback");
    r.evaluate(h, context, std::string_view("fallback"), s);
    if (s.reason == Reason::Error) REQUIRE(s.value == "fallback");
    REQUIRE(s.value.size() <= flagd::limits::kMaxStringBytes);
    Evaluation<double> d;
    r.evaluate(h, 4.0, d);
    Evaluation<std::int64_t> i;
    r.evaluate(h, std::int64_t{4}, i);
    r.evaluate_object(h, "{}", s);
    (void)r.get_bool(h, false);
    (void)r.get_bool(key, false);
    (void)r.get_bool(h, context, false);  // the value-only forms run rules' fast forms first
    (void)r.get_int(h, context, 1);
    (void)r.get_double(h, context, 1.0);
    r.get_string(h, "x", text);
    std::vector<flagd::MetadataValue> metadata;
    (void)r.metadata(h, metadata);
  }
  (void)r.list();
  (void)r.status();
  (void)r.generation();
}

}  // namespace

TEST_CASE("random bytes flipped in a published image never crash a reader") {
  flagd::test::MemoryFlags flags(kFlags, 8192);
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
  flagd::test::MemoryFlags flags(kFlags, 8192);
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
