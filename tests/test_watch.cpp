// `flagctl watch` against the real daemon: each publication, and the flags it changed, added and
// removed.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "child_process.hpp"
#include "published_reader.hpp"
#include "flagd/reader.hpp"
#include "flagd/segment_name.hpp"
#include "named_segment.hpp"

namespace {

// Removes a segment and the files the daemon keeps beside it (its lock, its second name).
void remove_segment(const std::string& segment) {
  for (const std::string& path :
       {flagd::segment_path(segment), flagd::segment_link_path(segment), flagd::segment_lock_path(segment)})
    ::unlink(path.c_str());
}

}  // namespace

TEST_CASE("flagctl watch prints each publication with the flags it changed, added and removed") {
  const std::string segment = flagd::test::unique_segment("watch");
  const std::string dir = "/tmp/" + segment;
  REQUIRE(std::system(("mkdir -p " + dir).c_str()) == 0);
  remove_segment(segment);
  const std::string file = dir + "/flags.json";
  const auto write = [&](std::string_view flags) { std::ofstream(file) << R"({"flags": {)" << flags << "}}"; };
  const std::string a = R"("a": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"})";
  const std::string b = R"("b": {"state": "ENABLED", "variants": {"x": 1, "y": 2}, "defaultVariant": "x"})";
  const std::string b2 = R"("b": {"state": "ENABLED", "variants": {"x": 1, "y": 3}, "defaultVariant": "x"})";
  const std::string c = R"("c": {"state": "DISABLED", "variants": {"s": "t"}, "defaultVariant": "s"})";
  write(a + "," + b);

  flagd::test::Process daemon =
      flagd::test::Process::spawn({FLAGD_BINARY, "--flags", file, "--segment", segment}, dir + "/daemon.log");
  std::optional<flagd::Reader> reader = flagd::test::attach_when_published(segment);
  REQUIRE(reader);
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
  remove_segment(segment);
  REQUIRE(std::system(("rm -rf " + dir).c_str()) == 0);
}

namespace {

std::string flag_file(std::string_view router) {
  return std::string(R"({"flags": {"router": {"state": "ENABLED", "variants": {"v": ")") + std::string(router) +
         R"("}, "defaultVariant": "v"}}})";
}

// The daemon with --watch on `file`, and a reader of its segment.
struct WatchingDaemon {
  std::string segment;
  flagd::test::Process process;
  std::optional<flagd::Reader> reader;

  WatchingDaemon(const std::string& name, const std::string& file, const std::string& log,
                 const std::vector<std::string>& options = {"--watch-debounce", "20"})
      : segment(flagd::test::unique_segment(name.c_str())) {
    remove_segment(segment);
    std::vector<std::string> args{FLAGD_BINARY, "--flags", file, "--segment", segment, "--watch"};
    args.insert(args.end(), options.begin(), options.end());
    process = flagd::test::Process::spawn(args, log);
    reader = flagd::test::attach_when_published(segment);
    REQUIRE(reader);
  }
  ~WatchingDaemon() {
    ::kill(process.pid, SIGTERM);
    process.wait();
    remove_segment(segment);
  }
  std::string router() const {
    std::string value;
    reader->get_string("router", "", value);
    return value;
  }
  // Waits until the router answers `value`: a reload published it. (An editor's save may come as
  // events further apart than the debounce, and give two reloads: their number is not checked.)
  bool reloaded_to(const std::string& value) {
    return flagd::test::eventually([&] { return router() == value; });
  }
};

}  // namespace

TEST_CASE("flagd --watch reloads on edits in place and on files replaced by rename") {
  const std::string dir = "/tmp/" + flagd::test::unique_segment("watch-files");
  REQUIRE(std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()) == 0);
  const std::string file = dir + "/flags.json";
  std::ofstream(file) << flag_file("one");
  {
    WatchingDaemon daemon("watch-files", file, dir + "/daemon.log");
    CHECK(daemon.router() == "one");

    std::ofstream(file) << flag_file("two");  // truncated and rewritten in place
    CHECK(daemon.reloaded_to("two"));

    std::ofstream(dir + "/.flags.json.swp") << flag_file("three");  // as editors save
    REQUIRE(std::rename((dir + "/.flags.json.swp").c_str(), file.c_str()) == 0);
    CHECK(daemon.reloaded_to("three"));

    std::ofstream(dir + "/unrelated.txt") << "not a flag file";  // other files: no reload
    std::ofstream(file) << R"({"flags": )";                    // a broken save: rejected
    REQUIRE(flagd::test::eventually([&] { return daemon.reader->status().reloads_failed >= 1; }));
    CHECK(daemon.router() == "three");
  }
  const std::string log = flagd::test::read_file(dir + "/daemon.log");
  CHECK(log.find("reload on a change to the flag files: published generation 2") != std::string::npos);
  CHECK(log.find("reload on a change to the flag files rejected") != std::string::npos);
  REQUIRE(std::system(("rm -rf " + dir).c_str()) == 0);
}

TEST_CASE("flagd --watch follows a Kubernetes ConfigMap update (the ..data symlink swap)") {
  const std::string dir = "/tmp/" + flagd::test::unique_segment("watch-configmap");
  REQUIRE(std::system(("rm -rf " + dir + " && mkdir -p " + dir + "/..2026_11_24_v1").c_str()) == 0);
  std::ofstream(dir + "/..2026_11_24_v1/flags.json") << flag_file("v1");
  // The volume's layout: flags.json -> ..data/flags.json, ..data -> the current timestamped dir.
  REQUIRE(::symlink("..2026_11_24_v1", (dir + "/..data").c_str()) == 0);
  REQUIRE(::symlink("..data/flags.json", (dir + "/flags.json").c_str()) == 0);
  {
    WatchingDaemon daemon("watch-configmap", dir + "/flags.json", dir + ".log");
    CHECK(daemon.router() == "v1");
    // The kubelet's update: a new dir, a new symlink renamed over ..data, the old dir removed.
    REQUIRE(std::system(("mkdir " + dir + "/..2026_11_24_v2").c_str()) == 0);
    std::ofstream(dir + "/..2026_11_24_v2/flags.json") << flag_file("v2");
    REQUIRE(::symlink("..2026_11_24_v2", (dir + "/..data_tmp").c_str()) == 0);
    REQUIRE(std::rename((dir + "/..data_tmp").c_str(), (dir + "/..data").c_str()) == 0);
    REQUIRE(std::system(("rm -rf " + dir + "/..2026_11_24_v1").c_str()) == 0);
    CHECK(daemon.reloaded_to("v2"));
  }
  REQUIRE(std::system(("rm -rf " + dir + " " + dir + ".log").c_str()) == 0);
}

TEST_CASE("flagd --watch reloads a file that never stays unchanged for the debounce") {
  const std::string dir = "/tmp/" + flagd::test::unique_segment("watch-busy");
  REQUIRE(std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()) == 0);
  const std::string file = dir + "/flags.json";
  std::ofstream(file) << flag_file("one");
  {
    WatchingDaemon daemon("watch-busy", file, dir + "/daemon.log",
                          {"--watch-debounce", "200", "--watch-max-wait", "1000"});
    // Rewritten every 50 ms (by rename, so that no load reads half a file), for longer than
    // eventually() waits: the files are never quiet for the debounce while it waits.
    std::atomic<bool> stop{false}, stopped{false};
    std::thread touching([&] {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (!stop && std::chrono::steady_clock::now() < until) {
        std::ofstream(dir + "/next.json") << flag_file("two");
        std::rename((dir + "/next.json").c_str(), file.c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      stopped = true;
    });
    const bool reloaded = daemon.reloaded_to("two");
    const bool still_touching = !stopped;
    stop = true;
    touching.join();
    CHECK(reloaded);
    CHECK(still_touching);
  }
  REQUIRE(std::system(("rm -rf " + dir).c_str()) == 0);
}

TEST_CASE("flagd --watch restarted with a file that no longer loads serves the last good image until it is fixed") {
  const std::string segment = flagd::test::unique_segment("watch-restart");
  const std::string dir = "/tmp/" + segment;
  REQUIRE(std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()) == 0);
  remove_segment(segment);
  const std::string file = dir + "/flags.json";
  std::ofstream(file) << flag_file("one");
  const std::vector<std::string> args{FLAGD_BINARY, "--flags", file, "--segment", segment, "--watch",
                                      "--watch-debounce", "20"};
  flagd::test::Process first = flagd::test::Process::spawn(args, dir + "/daemon1.log");
  std::optional<flagd::Reader> reader = flagd::test::attach_when_published(segment);
  REQUIRE(reader);
  ::kill(first.pid, SIGTERM);
  CHECK(first.wait() == 0);

  std::ofstream(file) << R"({"flags": )";
  flagd::test::Process restarted = flagd::test::Process::spawn(args, dir + "/daemon2.log");
  REQUIRE(flagd::test::eventually([&] { return reader->status().reloads_failed == 1; }));
  CHECK(reader->generation() == 1);
  CHECK(reader->status().last_error.find(file + ":") != std::string::npos);
  const auto router = [&] {
    std::string value;
    reader->get_string("router", "", value);
    return value;
  };
  CHECK(router() == "one");

  std::ofstream(file) << flag_file("two");  // the fix, saved: published without a signal
  CHECK(flagd::test::eventually([&] { return router() == "two"; }));
  CHECK(reader->generation() >= 2);
  ::kill(restarted.pid, SIGTERM);
  CHECK(restarted.wait() == 0);
  remove_segment(segment);
  REQUIRE(std::system(("rm -rf " + dir).c_str()) == 0);
}
