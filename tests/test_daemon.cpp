// The daemon binary end to end: publish, reload on SIGHUP, reject a bad reload, survive SIGKILL
// with readers still answering, restart and continue, refuse a second daemon, stop on SIGTERM.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "flag_loader.hpp"
#include "flagd/reader.hpp"
#include "flagd/segment_name.hpp"
#include "publisher.hpp"
#include "child_process.hpp"
#include "published_reader.hpp"
#include "named_segment.hpp"

namespace {

using flagd::test::eventually;
using flagd::test::Process;
using flagd::test::read_file;
using flagd::test::run_capture;

// Removes a segment and the files the daemon keeps beside it (its lock, its second name).
void remove_segment(const std::string& segment) {
  for (const std::string& path :
       {flagd::segment_path(segment), flagd::segment_link_path(segment), flagd::segment_lock_path(segment)})
    ::unlink(path.c_str());
}

std::string flags_with(std::string_view router, std::string_view extra = "") {
  return std::string(R"({"flags": {
    "kill-switch": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},
    "router": {"state": "ENABLED", "variants": {"a": "router-a", "b": "router-b"}, "defaultVariant": ")") +
         std::string(router) + "\"}" + std::string(extra) + "}}";
}

}  // namespace

TEST_CASE("the daemon publishes, reloads, keeps the last good image, survives kills and restarts") {
  const std::string segment = flagd::test::unique_segment("daemon");
  const std::string dir = "/tmp/" + segment;
  const std::string file = dir + "/flags.json";
  REQUIRE(std::system(("mkdir -p " + dir).c_str()) == 0);
  remove_segment(segment);
  std::ofstream(file) << flags_with("a");
  const std::vector<std::string> args = {FLAGD_BINARY, "--flags", file, "--segment", segment};

  Process daemon = Process::spawn(args, dir + "/daemon1.log");
  REQUIRE(daemon.pid > 0);
  std::optional<flagd::Reader> reader = flagd::test::attach_when_published(segment);
  REQUIRE(reader);
  const auto router = reader->resolve("router");
  const auto kill_switch = reader->resolve("kill-switch");
  const auto added_later = reader->resolve("added-later");
  CHECK(reader->get_string(router, "") == "router-a");
  CHECK(reader->get_bool(kill_switch, true) == false);
  CHECK(reader->get_bool(added_later, true) == true);

  SECTION("edit, SIGHUP, bad file, SIGKILL, restart, second daemon, SIGTERM") {
    // A valid edit and SIGHUP: a new generation with the new values, handles unchanged.
    std::ofstream(file) << flags_with("b", R"(, "added-later": {"state": "ENABLED", "variants": {"x": false}, "defaultVariant": "x"})");
    ::kill(daemon.pid, SIGHUP);
    REQUIRE(eventually([&] { return reader->generation() == 2; }));
    CHECK(reader->get_string(router, "") == "router-b");
    CHECK(reader->get_bool(added_later, true) == false);

    // An invalid file and SIGHUP: rejected, old values kept, the error visible in status.
    std::ofstream(file) << R"({"flags": {"router": {"state": "ENABLED", "variants": []}}})";
    ::kill(daemon.pid, SIGHUP);
    REQUIRE(eventually([&] { return reader->status().reloads_failed == 1; }));
    CHECK(reader->generation() == 2);
    CHECK(reader->get_string(router, "") == "router-b");
    const flagd::SegmentStatus status = reader->status();
    CHECK_FALSE(status.last_reload_ok);
    CHECK(status.last_error.find(file + ":1:55: error: flags.router.variants: must be an object of variant values, not an array") !=
          std::string::npos);
    const std::string shown = run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment + " status");
    CHECK(shown.find("last reload:   REJECTED") != std::string::npos);
    CHECK(shown.find("must be an object of variant values") != std::string::npos);
    CHECK(shown.find("daemon:        alive, last heartbeat ") != std::string::npos);
    CHECK(shown.find("pid " + std::to_string(daemon.pid)) != std::string::npos);
    CHECK(read_file(daemon.log).find("reload on SIGHUP rejected; still serving generation 2") != std::string::npos);

    // SIGKILL: the segment and its image stay; readers keep evaluating.
    const pid_t first_pid = daemon.pid;
    ::kill(daemon.pid, SIGKILL);
    CHECK(daemon.wait() == 128 + SIGKILL);
    CHECK(reader->get_string(router, "") == "router-b");
    CHECK(reader->get_bool(added_later, true) == false);
    CHECK(reader->status().daemon_running);  // it could not say otherwise
    CHECK(run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment + " status")
              .find("NOT RUNNING: last heartbeat ") != std::string::npos);
    CHECK(run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment + " status")
              .find("last pid " + std::to_string(first_pid) + ", which did not stop cleanly") != std::string::npos);

    // Restart with a fixed file: the generation continues and the attached reader sees it.
    std::ofstream(file) << flags_with("a");
    Process restarted = Process::spawn(args, dir + "/daemon2.log");
    REQUIRE(eventually([&] { return reader->generation() == 3; }));
    CHECK(reader->get_string(router, "") == "router-a");
    CHECK(reader->get_bool(added_later, true) == true);  // removed by the fixed file: not found
    flagd::Evaluation<bool> e;
    reader->evaluate(added_later, true, e);
    CHECK(e.error == flagd::ErrorCode::FlagNotFound);
    CHECK(read_file(restarted.log).find("reopened segment '" + segment + "' at generation 2") != std::string::npos);

    // A second daemon on the same segment is refused, naming the holder's pid.
    Process second = Process::spawn(args, dir + "/daemon3.log");
    CHECK(second.wait() == 1);
    CHECK(read_file(second.log).find("already served by another flagd (pid " + std::to_string(restarted.pid) + ",") !=
          std::string::npos);
    CHECK(reader->generation() == 3);

    // SIGTERM: a clean exit; the segment stays for its readers.
    ::kill(restarted.pid, SIGTERM);
    CHECK(restarted.wait() == 0);
    CHECK_FALSE(reader->status().daemon_running);
    CHECK(reader->get_string(router, "") == "router-a");
    auto late = flagd::Reader::attach(segment);
    REQUIRE(late);
    CHECK(late->get_string(late->resolve("router"), "") == "router-a");
  }

  SECTION("flagctl reads the segment as an application would") {
    const std::string get = run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment + " get router");
    CHECK(get == "{\"value\":\"router-a\",\"variant\":\"a\",\"reason\":\"STATIC\",\"errorCode\":null,\"flagMetadata\":{}}\n");
    // With a targeting rule and a context.
    std::ofstream(file) << flags_with("a", R"(, "beta": {"state": "ENABLED", "variants": {"on": true, "off": false},
      "defaultVariant": "off", "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on", "off"]}},
      "mixed": {"state": "ENABLED", "variants": {"n": 2.5, "s": "text"}, "defaultVariant": "s",
                "targeting": {"if": [{"var": "num"}, "n", "s"]}})");
    ::kill(daemon.pid, SIGHUP);
    REQUIRE(eventually([&] { return reader->generation() == 2; }));
    CHECK(run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment +
                      " get beta --context '{\"email\": \"ann@example.com\"}'") ==
          "{\"value\":true,\"variant\":\"on\",\"reason\":\"TARGETING_MATCH\",\"errorCode\":null,\"flagMetadata\":{}}\n");
    // Variants of several types: the answer is in the chosen variant's type.
    CHECK(run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment + " get mixed") ==
          "{\"value\":\"text\",\"variant\":\"s\",\"reason\":\"TARGETING_MATCH\",\"errorCode\":null,\"flagMetadata\":{}}\n");
    CHECK(run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment + " get mixed --context '{\"num\": 1}'") ==
          "{\"value\":2.5,\"variant\":\"n\",\"reason\":\"TARGETING_MATCH\",\"errorCode\":null,\"flagMetadata\":{}}\n");
    const std::string list = run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment + " list");
    CHECK(list.find("router\tstring\tENABLED\tdefault=a\tvariants=a,b") != std::string::npos);
  }

  SECTION("a daemon restarted with files that no longer load serves the last good image until they do") {
    ::kill(daemon.pid, SIGTERM);
    CHECK(daemon.wait() == 0);
    std::ofstream(file) << "{";
    const std::string metrics = dir + "/flagd.prom";
    std::vector<std::string> with_metrics = args;
    with_metrics.insert(with_metrics.end(), {"--metrics-file", metrics});
    Process restarted = Process::spawn(with_metrics, dir + "/daemon4.log");
    REQUIRE(eventually([&] { return reader->status().reloads_failed == 1; }));
    CHECK(reader->generation() == 1);
    CHECK(reader->get_string(router, "") == "router-a");
    CHECK(reader->status().last_error.find(file + ":1:2: error") != std::string::npos);
    REQUIRE(eventually([&] { return read_file(restarted.log).find("serving segment") != std::string::npos; }));
    const std::string shown = run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment + " status");
    CHECK(shown.find("last reload:   REJECTED") != std::string::npos);
    CHECK(shown.find(file + ":1:2: error") != std::string::npos);
    CHECK(shown.find("daemon:        alive, last heartbeat ") != std::string::npos);
    CHECK(shown.find("pid " + std::to_string(restarted.pid)) != std::string::npos);
    CHECK(read_file(restarted.log).find("start-up load rejected; still serving generation 1") != std::string::npos);
    const std::string counted = read_file(metrics);
    CHECK(counted.find("flagd_reloads_total{segment=\"" + segment + "\",result=\"rejected\"} 1") != std::string::npos);
    CHECK(counted.find("flagd_generation{segment=\"" + segment + "\"} 1") != std::string::npos);

    // Fixed and SIGHUP: published as the next generation, to the readers attached all along.
    std::ofstream(file) << flags_with("b");
    ::kill(restarted.pid, SIGHUP);
    REQUIRE(eventually([&] { return reader->generation() == 2; }));
    CHECK(reader->get_string(router, "") == "router-b");
    REQUIRE(eventually([&] { return reader->status().last_reload_ok; }));
    ::kill(restarted.pid, SIGTERM);
    CHECK(restarted.wait() == 0);
  }

  remove_segment(segment);
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("a daemon whose files are invalid at start-up, with no image to serve, does not start") {
  const std::string segment = flagd::test::unique_segment("fresh-bad");
  const std::string file = "/tmp/" + segment + ".json";
  const std::string log = "/tmp/" + segment + ".log";
  remove_segment(segment);
  std::ofstream(file) << "{";
  Process bad = Process::spawn({FLAGD_BINARY, "--flags", file, "--segment", segment}, log);
  CHECK(bad.wait() == 1);
  CHECK(read_file(log).find("start-up load rejected; nothing is published yet") != std::string::npos);
  CHECK(read_file(log).find("not starting") != std::string::npos);
  remove_segment(segment);
  std::remove(file.c_str());
  std::remove(log.c_str());
}

TEST_CASE("a flag that breaks flagd's schema loads with a warning, and --strict refuses its file") {
  const std::string segment = flagd::test::unique_segment("lenient");
  const std::string file = "/tmp/" + segment + ".json";
  const std::string log = "/tmp/" + segment + ".log";
  remove_segment(segment);
  std::ofstream(file) << R"({"flags": {
    "fine": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"},
    "no-state": {"variants": {"on": true, "off": false}, "defaultVariant": "off"}}})";

  Process strict = Process::spawn({FLAGD_BINARY, "--flags", file, "--segment", segment, "--strict"}, log);
  CHECK(strict.wait() == 1);
  CHECK(read_file(log).find(file + ":3:17: error: flags.no-state: the required member \"state\" is missing") !=
        std::string::npos);
  remove_segment(segment);

  Process daemon = Process::spawn({FLAGD_BINARY, "--flags", file, "--segment", segment}, log);
  std::optional<flagd::Reader> reader = flagd::test::attach_when_published(segment);
  REQUIRE(reader);
  CHECK(reader->get_bool(reader->resolve("fine"), false));
  flagd::Evaluation<bool> answer;
  reader->evaluate(reader->resolve("no-state"), true, answer);  // served as ENABLED, as flagd does
  CHECK_FALSE(answer.value);
  CHECK(answer.variant == "off");
  CHECK(answer.reason == flagd::Reason::Static);
  const flagd::SegmentStatus status = reader->status();
  CHECK(status.load_warnings == 1);
  CHECK(status.first_warning.find("flags.no-state: the required member \"state\" is missing") != std::string::npos);
  CHECK(status.last_reload_ok);
  const std::string shown = run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment + " status");
  CHECK(shown.find("load warnings: 1\n") != std::string::npos);
  CHECK(read_file(daemon.log).find(file + ":3:17: warning: flags.no-state: the required member") != std::string::npos);
  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);

  // validate is strict: CI fails on what the daemon only warns about.
  const std::string validated = run_capture(std::string(FLAGCTL_BINARY) + " validate " + file + " 2>&1; echo rc=$?");
  CHECK(validated.find(file + ":3:17: error: flags.no-state: the required member") != std::string::npos);
  CHECK(validated.find("rc=1") != std::string::npos);
  remove_segment(segment);
  std::remove(file.c_str());
  std::remove(log.c_str());
}

TEST_CASE("the daemon rejects a bad command line and a bad segment name") {
  const std::string log = "/tmp/" + flagd::test::unique_segment("args") + ".log";
  Process no_files = Process::spawn({FLAGD_BINARY}, log);
  CHECK(no_files.wait() == 2);
  Process bad_name = Process::spawn({FLAGD_BINARY, "--flags", "x.json", "--segment", "a/b"}, log);
  CHECK(bad_name.wait() == 2);
  CHECK(read_file(log).find("segment name 'a/b' may hold only letters") != std::string::npos);
  std::remove(log.c_str());
}

TEST_CASE("a reload that outgrows the segment is refused while readers keep the old image") {
  const std::string segment = flagd::test::unique_segment("growth");
  const std::string dir = "/tmp/" + segment;
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/flags.json";
  remove_segment(segment);
  std::ofstream(file) << flags_with("a");
  const std::vector<std::string> args{FLAGD_BINARY, "--flags", file, "--segment", segment, "--image-capacity", "1"};
  Process daemon = Process::spawn(args, dir + "/daemon.log");
  auto reader = flagd::Reader::detached(segment);
  REQUIRE(eventually([&] { return !reader.try_attach() && reader.generation() == 1; }));
  const flagd::Handle router = reader.resolve("router");

  // Readers evaluate throughout; every answer must come from the one image that fits.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> reads{0}, wrong{0};
  std::thread evaluating([&] {
    std::string value;
    while (!stop.load(std::memory_order_relaxed)) {
      reader.get_string(router, "", value);
      if (value != "router-a") wrong.fetch_add(1, std::memory_order_relaxed);
      reads.fetch_add(1, std::memory_order_relaxed);
    }
  });

  // 3,000 flags with 400-byte values: about 2 MiB of image for a 1 MiB slot.
  std::string extra;
  for (int i = 0; i < 3000; ++i) {
    extra += R"(, "big-)" + std::to_string(i) + R"(": {"state": "ENABLED", "variants": {"v": ")" + std::to_string(i) +
             std::string(400, 'x') + R"("}, "defaultVariant": "v"})";
  }
  std::ofstream(file) << flags_with("b", extra);
  ::kill(daemon.pid, SIGHUP);
  REQUIRE(eventually([&] { return reader.status().reloads_failed == 1; }));
  const std::string error = reader.status().last_error;
  CHECK(error.find("the compiled image needs ") != std::string::npos);
  CHECK(error.find(" bytes but the segment holds 1048576 per image (a new segment with a larger --image-capacity would fit it)") !=
        std::string::npos);
  CHECK(reader.generation() == 1);
  stop = true;
  evaluating.join();
  CHECK(reads.load() > 0);
  CHECK(wrong.load() == 0);

  // A reload that fits again is published as usual, as big as before the refused one: that one
  // left no keys behind.
  std::ofstream(file) << flags_with("b");
  ::kill(daemon.pid, SIGHUP);
  CHECK(eventually([&] { return reader.generation() == 2; }));
  CHECK(reader.get_string(router, "") == "router-b");
  // The image bytes the log gives for generation `g`, "" before it is logged.
  const auto bytes_of = [&](int g) {
    const std::string log = read_file(daemon.log);
    const std::size_t at = log.find("published generation " + std::to_string(g) + " (");
    if (at == std::string::npos) return std::string();
    const std::size_t from = log.find(", ", at) + 2;
    return log.substr(from, log.find(" bytes)", at) - from);
  };
  REQUIRE(eventually([&] { return !bytes_of(2).empty(); }));
  CHECK(bytes_of(2) == bytes_of(1));
  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
  remove_segment(segment);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a publication refused as too big leaves the stable indices as they were") {
  flagd::MemorySegment segment(64u << 10);
  std::string error;
  std::optional<flagd::Publisher> publisher = flagd::Publisher::resume(segment.data(), error);
  REQUIRE(publisher);
  const auto load = [](const std::string& json) {
    flagd::LoadResult loaded = flagd::load_flag_text(json);
    REQUIRE(loaded.ok());
    return std::move(loaded.flags);
  };
  const flagd::FlagSet original = load(flags_with("a"));
  const flagd::PublishOutcome first = publisher->publish(original, 1);
  REQUIRE(first.published);
  const std::size_t keys = publisher->known_keys();

  // 3,000 new keys: their records alone (32 bytes each) would not fit a 64 KiB slot.
  std::string extra;
  for (int i = 0; i < 3000; ++i)
    extra += R"(, "new-)" + std::to_string(i) + R"(": {"state": "ENABLED", "variants": {"v": true}, "defaultVariant": "v"})";
  const flagd::PublishOutcome refused = publisher->publish(load(flags_with("b", extra)), 2);
  REQUIRE_FALSE(refused.published);
  CHECK(refused.error.find("the compiled image needs ") != std::string::npos);
  CHECK(publisher->known_keys() == keys);  // what the lifetime key limit counts
  CHECK(publisher->generation() == 1);

  const flagd::PublishOutcome again = publisher->publish(original, 3);
  CHECK(again.published);
  CHECK(again.generation == 2);
  CHECK(again.image_bytes == first.image_bytes);
  CHECK(publisher->known_keys() == keys);
}

TEST_CASE("flagctl validate and eval") {
  const std::string examples = FLAGD_EXAMPLES;
  CHECK(run_capture(std::string(FLAGCTL_BINARY) + " validate " + examples + "/flags.json") ==
        "OK: 9 flags in 1 file\n");
  const std::string bad = "/tmp/" + flagd::test::unique_segment("validate") + ".json";
  std::ofstream(bad) << R"({"flags": {"a": {"state": "ENABLED", "variants": {"x": 1, "y": "s"}, "defaultVariant": "z"}}})";
  const std::string shown = run_capture(std::string(FLAGCTL_BINARY) + " validate " + bad + " 2>&1; echo rc=$?");
  CHECK(shown.find(bad + ":1:64: error: flags.a.variants.y: variant \"y\" is a string") != std::string::npos);
  CHECK(shown.find(bad + ":1:88: error: flags.a.defaultVariant: \"z\" is not one of the flag's variants") !=
        std::string::npos);
  CHECK(shown.find("rc=1") != std::string::npos);
  std::remove(bad.c_str());

  const std::string rules = "/tmp/" + flagd::test::unique_segment("rules") + ".json";
  std::ofstream(rules) << R"({"flags": {"tiered": {"state": "ENABLED", "variants": {"gold": "G", "std": "S"},
    "defaultVariant": "std", "targeting": {"if": [{">=": [{"var": "user.tier"}, 3]}, "gold", null]}}}})";
  CHECK(run_capture("printf '%s\\n' '{\"flag\":\"tiered\",\"type\":\"string\",\"context\":{\"user\":{\"tier\":4}}}' | " +
                    std::string(FLAGCTL_BINARY) + " eval --flags " + rules) ==
        "{\"value\":\"G\",\"variant\":\"gold\",\"reason\":\"TARGETING_MATCH\",\"errorCode\":null,\"flagMetadata\":{}}\n");
  // Numbers in a context as Go reads them: beyond 64 bits a double, -0 with its sign.
  CHECK(run_capture("printf '%s\\n' '{\"flag\":\"tiered\",\"type\":\"string\",\"context\":{\"user\":{\"tier\":123456789012345678901234}}}' | " +
                    std::string(FLAGCTL_BINARY) + " eval --flags " + rules) ==
        "{\"value\":\"G\",\"variant\":\"gold\",\"reason\":\"TARGETING_MATCH\",\"errorCode\":null,\"flagMetadata\":{}}\n");
  // A context key holding a dot is no path into objects: flagd's var cannot reach it.
  CHECK(run_capture("printf '%s\\n' '{\"flag\":\"tiered\",\"type\":\"string\",\"context\":{\"user.tier\":4}}' | " +
                    std::string(FLAGCTL_BINARY) + " eval --flags " + rules) ==
        "{\"value\":\"S\",\"variant\":\"std\",\"reason\":\"DEFAULT\",\"errorCode\":null,\"flagMetadata\":{}}\n");
  std::remove(rules.c_str());

  const std::string answers = run_capture(
      "printf '%s\\n' '{\"flag\":\"max-order-qty\",\"type\":\"integer\",\"default\":1}' "
      "'{\"flag\":\"nope\",\"type\":\"string\",\"default\":\"d\"}' | " +
      std::string(FLAGCTL_BINARY) + " eval --flags " + examples + "/flags.json");
  CHECK(answers ==
        "{\"value\":5000,\"variant\":\"normal\",\"reason\":\"STATIC\",\"errorCode\":null,"
        "\"flagMetadata\":{\"flagSetId\":\"payments\",\"version\":\"42\"}}\n"
        "{\"value\":\"d\",\"variant\":null,\"reason\":\"ERROR\",\"errorCode\":\"FLAG_NOT_FOUND\",\"flagMetadata\":{}}\n");
}
