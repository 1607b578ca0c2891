// Handles keep naming their flag across reloads that add, remove and reorder flags.
#include <catch2/catch.hpp>

#include "image_builder.hpp"
#include "memory_flags.hpp"

using flagd::ErrorCode;
using flagd::Evaluation;
using flagd::test::MemoryFlags;

namespace {
std::string flag_json(std::string_view key, std::string_view value) {
  return "\"" + std::string(key) + R"(": {"state": "ENABLED", "variants": {"v": ")" + std::string(value) +
         R"("}, "defaultVariant": "v"})";
}
std::string doc(std::initializer_list<std::string> flags) {
  std::string s = R"({"flags": {)";
  bool first = true;
  for (const auto& f : flags) {
    if (!first) s += ",";
    s += f;
    first = false;
  }
  return s + "}}";
}
}  // namespace

TEST_CASE("handles survive reloads that add, remove and reorder flags") {
  MemoryFlags flags(doc({flag_json("a", "a1"), flag_json("b", "b1"), flag_json("c", "c1")}));
  auto& r = flags.reader();
  const auto a = r.resolve("a"), b = r.resolve("b"), c = r.resolve("c"), d = r.resolve("d");
  CHECK(r.get_string(a, "") == "a1");
  CHECK(r.get_string(d, "none") == "none");

  // Reordered, one added before the others, values changed.
  flags.publish(doc({flag_json("d", "d2"), flag_json("c", "c2"), flag_json("a", "a2"), flag_json("b", "b2")}));
  CHECK(r.get_string(a, "") == "a2");
  CHECK(r.get_string(b, "") == "b2");
  CHECK(r.get_string(c, "") == "c2");
  CHECK(r.get_string(d, "") == "d2");  // resolved before it existed

  // Removed: FLAG_NOT_FOUND, never another flag's value.
  flags.publish(doc({flag_json("c", "c3"), flag_json("d", "d3")}));
  Evaluation<std::string> e;
  r.evaluate(a, std::string_view("gone"), e);
  CHECK(e.value == "gone");
  CHECK(e.error == ErrorCode::FlagNotFound);
  CHECK(e.generation == 3);
  CHECK(r.get_string(b, "gone") == "gone");
  CHECK(r.get_string(c, "") == "c3");
  CHECK(r.get_string(d, "") == "d3");
  CHECK(r.list().size() == 2);

  // Added back: the old handle finds it again.
  flags.publish(doc({flag_json("e", "e4"), flag_json("a", "a4")}));
  CHECK(r.get_string(a, "") == "a4");
  CHECK(r.get_string(c, "gone") == "gone");
  CHECK(r.get_string(r.resolve("e"), "") == "e4");
}

TEST_CASE("a handle resolved twice is the same flag; handles from many threads' resolves stay valid") {
  MemoryFlags flags(doc({flag_json("a", "x")}));
  auto& r = flags.reader();
  std::vector<flagd::Handle> handles;
  for (int i = 0; i < 1000; ++i) handles.push_back(r.resolve("a"));
  for (const auto& h : handles) CHECK(r.get_string(h, "") == "x");
  CHECK(handles.front().key() == "a");
}

TEST_CASE("a restarted writer keeps every key's index (rebuilt from the published image)") {
  flagd::MemorySegment segment(1 << 16);
  flagd::StableIndex first;
  auto loaded = flagd::load_flag_text(doc({flag_json("x", "1"), flag_json("y", "2"), flag_json("z", "3")}));
  REQUIRE(loaded.ok());
  flagd::SegmentWriter writer(segment.data());
  REQUIRE(writer.publish(flagd::build_image(loaded.flags, first, {1, 0})));
  loaded = flagd::load_flag_text(doc({flag_json("z", "3")}));
  REQUIRE(writer.publish(flagd::build_image(loaded.flags, first, {2, 0})));

  // A new writer process would start from the segment alone.
  flagd::StableIndex resumed;
  const auto image = writer.active_image();
  REQUIRE(flagd::StableIndex::from_image(image.data(), image.size(), resumed));
  CHECK(resumed.keys() == first.keys());
  CHECK(writer.newest_generation() == 2);
  CHECK(resumed.assign("y") == 1);
  CHECK(resumed.assign("new") == 3);
}

TEST_CASE("a second publisher on a segment continues where the first stopped") {
  MemoryFlags flags(doc({flag_json("a", "1"), flag_json("b", "2")}));
  auto& r = flags.reader();
  const auto b = r.resolve("b");
  std::string error;
  auto second = flagd::Publisher::resume(flags.segment().data(), error);
  REQUIRE(second);
  CHECK(second->generation() == 1);
  CHECK(second->known_keys() == 2);
  auto loaded = flagd::load_flag_text(doc({flag_json("c", "3"), flag_json("b", "2b")}));
  const auto outcome = second->publish(loaded.flags, 0);
  REQUIRE(outcome.published);
  CHECK(outcome.generation == 2);
  CHECK(r.get_string(b, "") == "2b");
  CHECK(r.get_string(r.resolve("a"), "gone") == "gone");
}

TEST_CASE("an image that does not fit its slot is refused and the published one stays") {
  MemoryFlags flags(doc({flag_json("a", "small")}), 1024);
  std::string big(4000, 'b');
  CHECK_THROWS(flags.publish(doc({flag_json("a", big)})));
  CHECK(flags.reader().get_string(flags.reader().resolve("a"), "") == "small");
}
