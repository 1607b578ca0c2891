// `flagctl watch` against the real daemon: each publication, the flags it changed, added and
// removed, and what changed in each; its help, and a segment that does not exist (yet).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "child_process.hpp"
#include "flag_changes.hpp"
#include "published_reader.hpp"
#include "flagd/reader.hpp"
#include "flagd/segment_name.hpp"
#include "named_segment.hpp"
#include "scratch_directory.hpp"

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

namespace {

// flagctl with `args`, its stdout and stderr into `out`.
flagd::test::Process flagctl(const std::vector<std::string>& args, const std::string& out) {
  std::vector<std::string> all{FLAGCTL_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  return flagd::test::Process::spawn(all, out, false, flagd::test::Process::Stdout::ToLog);
}

// The fingerprint of `key` in the image `reader` sees, as watch prints it.
std::string fingerprint_of(const flagd::Reader& reader, const std::string& key) {
  for (const flagd::FlagSummary& f : reader.list())
    if (f.key == key) return flagd::fingerprint_hex(f.fingerprint);
  return "(no flag '" + key + "')";
}

}  // namespace

TEST_CASE("flagctl watch says what changed in each flag: state, default variant, metadata, rule, added, removed") {
  flagd::test::SegmentFiles segment("watch-detail");
  flagd::test::ScratchDirectory dir("flagd-watch-detail");
  const std::string file = dir / "flags.json";
  const auto write = [&](const std::string& flags) { std::ofstream(file) << R"({"flags": {)" << flags << "}}"; };
  const auto toggle = [](const std::string& key, const std::string& state, const std::string& rest = "") {
    return "\"" + key + R"(": {"state": ")" + state + R"(", "variants": {"on": true, "off": false}, "defaultVariant": "off")" +
           rest + "}";
  };
  const std::string rule1 = R"(, "targeting": {"if": [{"==": [{"var": "tier"}, "gold"]}, "on", "off"]})";
  const std::string rule2 = R"(, "targeting": {"if": [{"==": [{"var": "tier"}, "silver"]}, "on", "off"]})";
  const std::string b_x = R"("b": {"state": "ENABLED", "variants": {"x": 1, "y": 2}, "defaultVariant": "x"})";
  const std::string b_y = R"("b": {"state": "ENABLED", "variants": {"x": 1, "y": 2}, "defaultVariant": "y"})";
  const std::string gone = R"("gone": {"state": "ENABLED", "variants": {"s": "t"}, "defaultVariant": "s"})";
  const std::string added = R"("new": {"state": "ENABLED", "variants": {"s": "t"}, "defaultVariant": "s"})";
  write(toggle("a", "ENABLED") + "," + b_x + "," + toggle("m", "ENABLED", R"(, "metadata": {"owner": "x"})") + "," +
        toggle("r", "ENABLED", rule1) + "," + gone);

  flagd::test::Process daemon =
      flagd::test::Process::spawn({FLAGD_BINARY, "--flags", file, "--segment", segment.name}, dir / "daemon.log");
  std::optional<flagd::Reader> reader = flagd::test::attach_when_published(segment.name);
  REQUIRE(reader);
  const std::string out = dir / "watch.out";
  flagd::test::Process watch = flagctl({"--segment", segment.name, "watch", "--count", "2", "--interval", "1"}, out);
  REQUIRE(flagd::test::eventually([&] { return flagd::test::read_file(out).find("generation 1: 5 flags") != std::string::npos; }));
  const std::string r_before = fingerprint_of(*reader, "r");

  write(toggle("a", "DISABLED") + "," + b_y + "," + toggle("m", "ENABLED", R"(, "metadata": {"owner": "y"})") + "," +
        toggle("r", "ENABLED", rule1) + "," + gone);
  ::kill(daemon.pid, SIGHUP);
  REQUIRE(flagd::test::eventually([&] { return flagd::test::read_file(out).find("generation 2") != std::string::npos; }));
  write(toggle("a", "DISABLED") + "," + b_y + "," + toggle("m", "ENABLED", R"(, "metadata": {"owner": "y"})") + "," +
        toggle("r", "ENABLED", rule2) + "," + added);
  ::kill(daemon.pid, SIGHUP);
  REQUIRE(flagd::test::eventually([&] { return reader->generation() == 3; }));
  CHECK(watch.wait() == 0);
  const std::string r_after = fingerprint_of(*reader, "r");
  REQUIRE(r_before != r_after);

  const std::string text = flagd::test::read_file(out);
  INFO(text);
  CHECK(text.find("generation 2 (1 publication): 3 changed ~a ~b ~m, 0 added, 0 removed\n"
                  "  flag 'a' changed: state ENABLED -> DISABLED\n"
                  "  flag 'b' changed: default variant 'x' -> 'y'\n"
                  "  flag 'm' changed: metadata ~owner (\"x\" -> \"y\")\n") != std::string::npos);
  CHECK(text.find("generation 3 (1 publication): 1 changed ~r, 1 added +new, 1 removed -gone\n"
                  "  flag 'r' changed: rule or values changed (fingerprint " + r_before + " -> " + r_after + ")\n"
                  "  flag 'new' added: ENABLED, default variant 's'\n"
                  "  flag 'gone' removed\n") != std::string::npos);
  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
}

TEST_CASE("flagctl watch --help prints watch's help") {
  flagd::test::ScratchDirectory dir("flagd-watch-help");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"watch", "--help"},
                                               std::vector<std::string>{"--segment", "any", "watch", "--count", "3", "-h"}}) {
    flagd::test::Process help = flagctl(args, dir / "help.out");
    CHECK(help.wait() == 0);
    const std::string text = flagd::test::read_file(dir / "help.out");
    CHECK(text.find("usage: flagctl [--segment NAME] watch [--count N] [--interval MS] [--wait SECONDS]") == 0);
    CHECK(text.find("--wait SECONDS") != std::string::npos);
  }
  flagd::test::Process bad = flagctl({"watch", "--wait", "soon"}, dir / "bad.out");
  CHECK(bad.wait() == 2);
  CHECK(flagd::test::read_file(dir / "bad.out").find("--wait takes a whole number of seconds") != std::string::npos);
}

TEST_CASE("flagctl watch on a segment that does not exist fails at once, or waits as long as --wait says") {
  flagd::test::SegmentFiles segment("watch-missing");
  flagd::test::ScratchDirectory dir("flagd-watch-missing");

  flagd::test::Process at_once = flagctl({"--segment", segment.name, "watch"}, dir / "at-once.out");
  CHECK(at_once.wait() == 1);
  const std::string said = flagd::test::read_file(dir / "at-once.out");
  CHECK(said.find("flagctl: segment '" + segment.name) == 0);
  CHECK(said.find("does not exist") != std::string::npos);
  CHECK(said.find("watch --wait SECONDS waits for it") != std::string::npos);

  flagd::test::Process gives_up = flagctl({"--segment", segment.name, "watch", "--wait", "1"}, dir / "gives-up.out");
  CHECK(gives_up.wait() == 1);
  const std::string waited = flagd::test::read_file(dir / "gives-up.out");
  CHECK(waited.find("waiting up to 1 s for segment '" + segment.name + "'") == 0);
  CHECK(waited.find("does not exist (is the flagd daemon running?); waited 1 s for it") != std::string::npos);

  // Waiting, it attaches once a daemon makes the segment.
  const std::string out = dir / "waits.out";
  flagd::test::Process waits = flagctl({"--segment", segment.name, "watch", "--wait", "600", "--interval", "5"}, out);
  REQUIRE(flagd::test::eventually([&] { return flagd::test::read_file(out).find("waiting up to 600 s") != std::string::npos; }));
  std::ofstream(dir / "flags.json") << flag_file("one");
  flagd::test::Process daemon =
      flagd::test::Process::spawn({FLAGD_BINARY, "--flags", dir / "flags.json", "--segment", segment.name}, dir / "daemon.log");
  CHECK(flagd::test::eventually([&] { return flagd::test::read_file(out).find("\ngeneration ") != std::string::npos; }));
  ::kill(waits.pid, SIGTERM);
  CHECK(waits.wait() == 0);
  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
}
