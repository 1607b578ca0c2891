// A reader whose segment is replaced (grown, or removed and created again) moves to the new one
// by itself, keeping every Handle, and never to a segment that would change what a Handle names.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>

#include "flag_loader.hpp"
#include "flagd/reader.hpp"
#include "named_segment.hpp"
#include "published_reader.hpp"
#include "publisher.hpp"
#include "shared_segment.hpp"

using flagd::Reader;
using flagd::SharedSegment;

namespace {

constexpr std::uint64_t kSmall = 64u << 10;
constexpr std::uint64_t kLarge = 256u << 10;

std::string flag(const char* key, bool on) {
  return std::string("\"") + key + "\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false}, " +
         "\"defaultVariant\": \"" + (on ? "on" : "off") + "\"}";
}

using flagd::test::SegmentFiles;

SharedSegment open(const std::string& name, std::uint64_t slot_bytes, bool grow) {
  std::string error;
  auto segment = SharedSegment::open_or_create(name, slot_bytes, {}, grow, error);
  if (!segment) throw std::runtime_error(error);
  return std::move(*segment);
}

// Publishes `json` into `segment` as the daemon does, continuing the segment's history.
std::uint64_t publish(const SharedSegment& segment, const std::string& json) {
  std::string error;
  auto publisher = flagd::Publisher::resume(segment.data(), error);
  if (!publisher) throw std::runtime_error(error);
  const flagd::LoadResult loaded = flagd::load_flag_text(json);
  if (!loaded.ok()) throw std::runtime_error("invalid test flags");
  const flagd::PublishOutcome outcome = publisher->publish(loaded.flags, 1);
  if (!outcome.published) throw std::runtime_error(outcome.error);
  return outcome.generation;
}

bool contains(const std::vector<std::string>& notes, const std::string& text) {
  for (const auto& n : notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a reader follows its segment when it is removed and created again, or grown") {
  SegmentFiles files("replaced");
  SharedSegment first = open(files.name, kSmall, false);
  CHECK(publish(first, "{\"flags\": {" + flag("trade", true) + "}}") == 1);
  first.retire_replaced();  // as the daemon does after a publication: the second name now names it

  auto attached = Reader::attach(files.name);
  REQUIRE(attached);
  Reader& reader = attached.value();
  const flagd::Handle trade = reader.resolve("trade");
  const flagd::Handle added = reader.resolve("added-later");  // not in the image yet
  REQUIRE(reader.get_bool(trade, false));
  const std::uint64_t first_id = reader.status().segment_id;

  std::optional<SharedSegment> second;
  SECTION("removed by hand, then created again by the next daemon") {
    ::unlink(flagd::segment_path(files.name).c_str());
    second.emplace(open(files.name, kSmall, false));
    CHECK(second->created());
    CHECK(contains(second->notes(), "was removed and is created again"));
  }
  SECTION("a daemon started with a larger image capacity") {
    CHECK(open(files.name, kSmall, true).retire_replaced().empty());  // not larger: kept as it is
    second.emplace(open(files.name, kLarge, true));
    CHECK(contains(second->notes(), "by one with slots of"));
  }
  // Until the old segment is marked, its readers stay on it.
  CHECK(reader.status().segment_id == first_id);
  // The new segment was handed the old image: it serves at once and continues the generations.
  CHECK(second->retire_replaced().find("marked superseded") != std::string::npos);
  CHECK(publish(*second, "{\"flags\": {" + flag("trade", false) + ", " + flag("added-later", true) + "}}") == 2);

  // The inline path, with the handles resolved before: no call but evaluations.
  CHECK_FALSE(reader.get_bool(trade, true));
  CHECK(reader.get_bool(added, false));
  const flagd::SegmentStatus status = reader.status();
  CHECK(status.segment_id != first_id);
  CHECK_FALSE(status.superseded);
  CHECK(status.image_generation == 2);
  CHECK(status.slot_bytes * 2 + 4096 == second->size());
}

TEST_CASE("a segment at the name that never served an image is handed the removed one's") {
  SegmentFiles files("never-served");
  SharedSegment first = open(files.name, kSmall, false);
  publish(first, "{\"flags\": {" + flag("trade", true) + "}}");
  first.retire_replaced();
  auto attached = Reader::attach(files.name);
  REQUIRE(attached);
  const flagd::Handle trade = attached->resolve("trade");
  // What a daemon leaves that made a segment and stopped before publishing into it.
  ::unlink(flagd::segment_path(files.name).c_str());
  flagd::MemorySegment empty(kSmall);
  const flagd::test::NamedSegment left(files.name, empty.data(), empty.size());
  SharedSegment second = open(files.name, kSmall, false);
  CHECK(second.retire_replaced().find("marked superseded") != std::string::npos);
  CHECK(publish(second, "{\"flags\": {" + flag("trade", false) + "}}") == 2);  // the generations go on
  CHECK_FALSE(attached->get_bool(trade, true));
  CHECK_FALSE(attached->status().superseded);
}

TEST_CASE("a reader does not follow a new segment that gives one of its handles' keys another index") {
  SegmentFiles files("reindexed");
  SharedSegment first = open(files.name, kSmall, false);
  publish(first, "{\"flags\": {" + flag("trade", true) + "}}");
  auto attached = Reader::attach(files.name);
  REQUIRE(attached);
  Reader& reader = attached.value();
  const flagd::Handle trade = reader.resolve("trade");

  // Removed with its second name too: the next segment starts its indices afresh.
  files.remove();
  SharedSegment fresh = open(files.name, kSmall, false);
  publish(fresh, "{\"flags\": {" + flag("zzz", false) + ", " + flag("trade", false) + "}}");
  flagd::SegmentWriter(first.data()).supersede();

  // Index 0 is "zzz" there: the copies of `trade` the application holds would read it.
  CHECK(reader.get_bool(trade, false));  // the old image's answer, still readable
  CHECK(reader.status().superseded);
}

namespace {

// A daemon's flag file, log and segment, every file removed at the end.
struct DaemonRun {
  SegmentFiles files{"daemon-replaced"};
  std::string flags = "/tmp/" + files.name + ".json";
  std::string log = "/tmp/" + files.name + ".log";
  ~DaemonRun() {
    std::remove(flags.c_str());
    std::remove(log.c_str());
  }
  void write(bool trade) const {
    std::FILE* f = std::fopen(flags.c_str(), "w");
    std::fputs(("{\"flags\": {" + flag("trade", trade) + "}}").c_str(), f);
    std::fclose(f);
  }
  flagd::test::Process start(const char* capacity_mib) const {
    return flagd::test::Process::spawn(
        {FLAGD_BINARY, "--flags", flags, "--segment", files.name, "--image-capacity", capacity_mib}, log, true);
  }
};

}  // namespace

TEST_CASE("a reader attached across daemon restarts follows a grown segment and a removed one") {
  DaemonRun run;
  run.write(true);
  flagd::test::Process daemon = run.start("1");
  std::optional<Reader> reader = flagd::test::attach_when_published(run.files.name);
  REQUIRE(reader);
  const flagd::Handle trade = reader->resolve("trade");
  REQUIRE(reader->get_bool(trade, false));
  const flagd::SegmentStatus before = reader->status();
  ::kill(daemon.pid, SIGTERM);
  REQUIRE(daemon.wait() == 0);

  std::uint64_t expected_slot = before.slot_bytes;
  SECTION("restarted with a larger --image-capacity") {
    run.write(false);
    daemon = run.start("2");
    expected_slot = 2u << 20;
  }
  SECTION("the segment removed while the daemon was stopped") {
    ::unlink(flagd::segment_path(run.files.name).c_str());
    run.write(false);
    daemon = run.start("1");
  }
  CHECK(flagd::test::eventually([&] { return !reader->get_bool(trade, true); }));
  const flagd::SegmentStatus after = reader->status();
  CHECK(after.segment_id != before.segment_id);
  CHECK(after.slot_bytes == expected_slot);
  CHECK(after.image_generation > before.image_generation);
  CHECK_FALSE(after.superseded);
  CHECK(flagd::test::read_file(run.log).find("marked superseded: its readers move to this one") != std::string::npos);
  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
}
