// A stop during a long load: SIGTERM is answered at once, not after the load, and the load is not
// published.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>

#include "child_process.hpp"
#include "flagd/reader.hpp"
#include "flagd/segment_name.hpp"
#include "named_segment.hpp"
#include "published_reader.hpp"

namespace {

std::string router_file(std::string_view value) {
  return std::string(R"({"flags": {"router": {"state": "ENABLED", "variants": {"v": ")") + std::string(value) +
         R"("}, "defaultVariant": "v"}}})";
}

// 600,000 flags (about 56 MB): a load of many times the few milliseconds a signal takes to be read,
// whatever the build.
void write_large_file(const std::string& path) {
  std::string text = R"({"flags": {"router": {"state": "ENABLED", "variants": {"v": "large"}, "defaultVariant": "v"})";
  text.reserve(600'000 * 100);
  for (int i = 0; i < 600'000; ++i)
    text += R"(, "flag-)" + std::to_string(i) +
            R"(": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"})";
  text += "}}";
  std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("SIGTERM during a long reload stops the daemon before the load ends, publishing nothing of it") {
  const std::string segment = flagd::test::unique_segment("reload-stop");
  const std::string dir = "/tmp/" + segment;
  const std::string file = dir + "/flags.json";
  REQUIRE(std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()) == 0);
  const auto remove_segment = [&] {
    for (const std::string& path :
         {flagd::segment_path(segment), flagd::segment_link_path(segment), flagd::segment_lock_path(segment)})
      ::unlink(path.c_str());
  };
  remove_segment();
  std::ofstream(file) << router_file("small");

  flagd::test::Process daemon =
      flagd::test::Process::spawn({FLAGD_BINARY, "--flags", file, "--segment", segment}, dir + "/daemon.log");
  std::optional<flagd::Reader> reader = flagd::test::attach_when_published(segment);
  REQUIRE(reader);

  write_large_file(dir + "/large.json");
  REQUIRE(std::rename((dir + "/large.json").c_str(), file.c_str()) == 0);
  ::kill(daemon.pid, SIGHUP);
  REQUIRE(flagd::test::eventually([&] {
    return flagd::test::read_file(daemon.log).find("reload on SIGHUP: loading") != std::string::npos;
  }));
  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);

  // The log's order: the load began, the daemon stopped, and the load's result never came.
  const std::string log = flagd::test::read_file(daemon.log);
  const std::size_t loading = log.find("reload on SIGHUP: loading");
  const std::size_t stopping = log.find("stopping on SIGTERM");
  REQUIRE(stopping != std::string::npos);
  CHECK(loading < stopping);
  CHECK(log.find("the load in progress is abandoned", stopping) != std::string::npos);
  CHECK(log.find("reload on SIGHUP: published") == std::string::npos);
  CHECK(log.find("reload on SIGHUP rejected") == std::string::npos);

  CHECK(reader->generation() == 1);
  std::string router;
  reader->get_string("router", "", router);
  CHECK(router == "small");
  CHECK_FALSE(reader->status().daemon_running);

  remove_segment();
  REQUIRE(std::system(("rm -rf " + dir).c_str()) == 0);
}
