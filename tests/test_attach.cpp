// Attaching: errors as values, foreign layouts refused, detached readers on defaults.
#include <catch2/catch.hpp>

#include <boost/interprocess/shared_memory_object.hpp>
#include <cstring>

#include "flagd/reader.hpp"
#include "flagd/shared_access.hpp"
#include "memory_flags.hpp"
#include "named_segment.hpp"

namespace ipc = boost::interprocess;
using flagd::AttachErrorKind;
using flagd::Reader;

using flagd::test::NamedSegment;
using flagd::test::unique_segment;

TEST_CASE("attaching to a missing segment is an error value") {
  auto reader = Reader::attach(unique_segment("missing"));
  REQUIRE_FALSE(reader);
  CHECK(reader.error().kind == AttachErrorKind::Missing);
  CHECK(reader.error().message.find("does not exist") != std::string::npos);
}

TEST_CASE("segment names are validated") {
  for (const char* bad : {"", "a/b", "../x", ".hidden", "sp ace", "semi;colon"}) {
    auto reader = Reader::attach(bad);
    REQUIRE_FALSE(reader);
    CHECK(reader.error().kind == AttachErrorKind::InvalidName);
  }
  CHECK(flagd::segment_name_problem("prod.flags_v2-a").empty());
  CHECK(flagd::segment_name_problem("a/b") == "segment name 'a/b' may hold only letters, digits, '.', '_' and '-'");
}

TEST_CASE("a segment of another layout version is refused, naming both versions") {
  flagd::test::MemoryFlags flags(R"({"flags": {"a": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}}})");
  std::vector<std::byte> bytes(flags.segment().data(), flags.segment().data() + flags.segment().size());
  const std::uint32_t forged = flagd::layout::kLayoutVersion + 6;
  std::memcpy(bytes.data() + offsetof(flagd::layout::SegmentHeader, layout_version), &forged, 4);
  NamedSegment named(unique_segment("layout"), bytes.data(), bytes.size());

  auto reader = Reader::attach(named.name);
  REQUIRE_FALSE(reader);
  CHECK(reader.error().kind == AttachErrorKind::LayoutMismatch);
  CHECK(reader.error().message == "segment '" + named.name + "' has layout version " + std::to_string(forged) +
                                      " but this reader was built for layout version " +
                                      std::to_string(flagd::layout::kLayoutVersion));
}

TEST_CASE("a segment with a bad magic number or impossible sizes is refused") {
  flagd::test::MemoryFlags flags(R"({"flags": {}})");
  std::vector<std::byte> bytes(flags.segment().data(), flags.segment().data() + flags.segment().size());
  SECTION("magic") {
    bytes[0] = std::byte{0x42};
    NamedSegment named(unique_segment("magic"), bytes.data(), bytes.size());
    auto reader = Reader::attach(named.name);
    REQUIRE_FALSE(reader);
    CHECK(reader.error().kind == AttachErrorKind::Unreadable);
    CHECK(reader.error().message.find("bad magic number") != std::string::npos);
  }
  SECTION("slot beyond the mapping") {
    const std::uint64_t huge = 1ull << 40;
    std::memcpy(bytes.data() + offsetof(flagd::layout::SegmentHeader, slot_bytes), &huge, 8);
    NamedSegment named(unique_segment("sizes"), bytes.data(), bytes.size());
    auto reader = Reader::attach(named.name);
    REQUIRE_FALSE(reader);
    CHECK(reader.error().kind == AttachErrorKind::Unreadable);
  }
  SECTION("too small") {
    NamedSegment named(unique_segment("small"), bytes.data(), 100);
    auto reader = Reader::attach(named.name);
    REQUIRE_FALSE(reader);
    CHECK(reader.error().kind == AttachErrorKind::Unreadable);
  }
}

TEST_CASE("a detached reader answers with defaults, then attaches when the segment appears") {
  const std::string name = unique_segment("late");
  ipc::shared_memory_object::remove(name.c_str());
  Reader reader = Reader::detached(name);
  const flagd::Handle early = reader.resolve("a");
  CHECK_FALSE(reader.attached());
  CHECK(reader.get_bool(early, false) == false);
  CHECK(reader.get_bool(early, true) == true);
  flagd::Evaluation<bool> e;
  reader.evaluate(early, true, e);
  CHECK(e.error == flagd::ErrorCode::FlagNotFound);
  CHECK(e.generation == 0);
  REQUIRE(reader.try_attach().has_value());  // still missing

  flagd::test::MemoryFlags flags(R"({"flags": {"a": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"}}})");
  NamedSegment named(name, flags.segment().data(), flags.segment().size());
  REQUIRE_FALSE(reader.try_attach().has_value());
  CHECK(reader.attached());
  CHECK(reader.get_bool(early, true) == false);  // the handle from before resolves now
  reader.evaluate(early, true, e);
  CHECK(e.reason == flagd::Reason::Static);
  CHECK(e.generation == 1);
}
