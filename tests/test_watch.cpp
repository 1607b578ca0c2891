// `flagctl watch` against the real daemon: each publication, and the flags it changed, added and
// removed.
#include <catch2/catch.hpp>

#include <boost/interprocess/shared_memory_object.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>

#include "child_process.hpp"
#include "flagd/reader.hpp"
#include "flagd/segment_name.hpp"
#include "named_segment.hpp"

TEST_CASE("flagctl watch prints each publication with the flags it changed, added and removed") {
  const std::string segment = flagd::test::unique_segment("watch");
  const std::string dir = "/tmp/" + segment;
  REQUIRE(std::system(("mkdir -p " + dir).c_str()) == 0);
  boost::interprocess::shared_memory_object::remove(segment.c_str());
  const std::string file = dir + "/flags.json";
  const auto write = [&](std::string_view flags) { std::ofstream(file) << R"({"flags": {)" << flags << "}}"; };
  const std::string a = R"("a": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"})";
  const std::string b = R"("b": {"state": "ENABLED", "variants": {"x": 1, "y": 2}, "defaultVariant": "x"})";
  const std::string b2 = R"("b": {"state": "ENABLED", "variants": {"x": 1, "y": 3}, "defaultVariant": "x"})";
  const std::string c = R"("c": {"state": "DISABLED", "variants": {"s": "t"}, "defaultVariant": "s"})";
  write(a + "," + b);

  flagd::test::Process daemon =
      flagd::test::Process::spawn({FLAGD_BINARY, "--flags", file, "--segment", segment}, dir + "/daemon.log");
  std::optional<flagd::Reader> reader;
  REQUIRE(flagd::test::eventually([&] {
    auto r = flagd::Reader::attach(segment);
    if (!r || r->generation() < 1) return false;
    reader.emplace(std::move(r).value());
    return true;
  }));
  flagd::test::Process watch = flagd::test::Process::spawn(
      {FLAGCTL_BINARY, "--segment", segment, "watch", "--count", "2", "--interval", "1"}, dir + "/watch.out", false,
      flagd::test::Process::Stdout::ToLog);
  REQUIRE(flagd::test::eventually([&] { return flagd::test::read_file(dir + "/watch.out").find("generation 1: 2 flags") != std::string::npos; }));

  write(a + "," + b2);  // b's value changed; a unchanged
  ::kill(daemon.pid, SIGHUP);
  REQUIRE(flagd::test::eventually([&] { return reader->generation() == 2; }));
  REQUIRE(flagd::test::eventually([&] { return flagd::test::read_file(dir + "/watch.out").find("generation 2") != std::string::npos; }));
  write(b2 + "," + c);  // a removed, c added
  ::kill(daemon.pid, SIGHUP);
  REQUIRE(flagd::test::eventually([&] { return reader->generation() == 3; }));
  CHECK(watch.wait() == 0);  // it stops after two publications

  const std::string out = flagd::test::read_file(dir + "/watch.out");
  CHECK(out.find("generation 2 (1 publication): 1 changed ~b, 0 added, 0 removed") != std::string::npos);
  CHECK(out.find("generation 3 (1 publication): 0 changed, 1 added +c, 1 removed -a") != std::string::npos);
  ::kill(daemon.pid, SIGTERM);
  daemon.wait();
  boost::interprocess::shared_memory_object::remove(segment.c_str());
  std::remove(flagd::segment_lock_path(segment).c_str());
  REQUIRE(std::system(("rm -rf " + dir).c_str()) == 0);
}
