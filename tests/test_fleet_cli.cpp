// The daemon's command line for sources: flagd's own spelling (`flagd start --uri file:...`)
// serves as --flags does, and what would put a secret on the public command line, or an option
// of flagd's this daemon lacks, is refused with exit code 2 and a message saying why.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "fleet_daemon.hpp"
#include "scratch_directory.hpp"

using flagd::SourceState;
using flagd::test::eventually;
using flagd::test::Process;
using flagd::test::read_file;
using flagd::test::ScratchDirectory;
using flagd::test::SegmentFiles;
using flagd::test::string_flags;

namespace {

struct Outcome {
  int code = -1;
  std::string output;  // stdout and stderr
};

Outcome run_flagd(const ScratchDirectory& dir, std::vector<std::string> args) {
  args.insert(args.begin(), FLAGD_BINARY);
  const std::string log = dir / "flagd.out";
  Process p = Process::spawn(args, log, /*append=*/false, Process::Stdout::ToLog);
  Outcome outcome;
  outcome.code = p.wait();
  outcome.output = read_file(log);
  return outcome;
}

}  // namespace

TEST_CASE("fleet cli: flagd start --uri file:PATH serves the file as --flags does") {
  ScratchDirectory dir("flagd-fleet-cli-start");
  const std::string file = dir / "flags.json";
  std::ofstream(file) << string_flags({{"color", "red"}});

  for (const std::string& spelling : {"file:" + file, file}) {
    SegmentFiles segment(spelling == file ? "fleet-cli-path" : "fleet-cli-file-uri");
    Process daemon = Process::spawn({FLAGD_BINARY, "start", "--uri", spelling, "--segment", segment.name},
                                    dir / (segment.name + ".log"));
    std::optional<flagd::Reader> reader;
    REQUIRE(eventually([&] {
      auto attached = flagd::Reader::attach(segment.name);
      if (!attached || attached->generation() < 1) return false;
      reader.emplace(std::move(attached).value());
      return true;
    }));
    CHECK(reader->get_string(reader->resolve("color"), "") == "red");
    const std::vector<flagd::SourceStatus> sources = flagd::decode_source_status(reader->status().sources);
    REQUIRE(sources.size() == 1);
    CHECK(sources[0].uri == file);
    CHECK(sources[0].state == SourceState::Current);

    // A file given as a URI is a file source still: SIGHUP reads it again.
    std::ofstream(file) << string_flags({{"color", "blue"}});
    ::kill(daemon.pid, SIGHUP);
    CHECK(eventually([&] { return reader->get_string(reader->resolve("color"), "") == "blue"; }));
    std::ofstream(file) << string_flags({{"color", "red"}});
    ::kill(daemon.pid, SIGTERM);
    CHECK(daemon.wait() == 0);
  }
}

TEST_CASE("fleet cli: secrets on the command line and flagd-only options are refused with exit code 2") {
  ScratchDirectory dir("flagd-fleet-cli-refusals");
  SegmentFiles segment("fleet-cli-refused");

  SECTION("--sources with an inline bearerToken") {
    const Outcome o = run_flagd(dir, {"--sources", R"([{"uri":"http://127.0.0.1:9/flags.json","provider":"http",)"
                                                   R"("bearerToken":"inline-token-83f2"}])",
                                      "--segment", segment.name});
    CHECK(o.code == 2);
    CHECK(o.output.find("bearerToken") != std::string::npos);
    CHECK(o.output.find("readable by every user of the host") != std::string::npos);
    CHECK(o.output.find("authHeaderFile") != std::string::npos);
    CHECK(o.output.find("inline-token-83f2") == std::string::npos);
  }
  SECTION("--sources with an inline authHeader") {
    const Outcome o = run_flagd(dir, {"--sources", R"([{"uri":"http://127.0.0.1:9/flags.json","provider":"http",)"
                                                   R"("authHeader":"Bearer inline-token-83f2"}])",
                                      "--segment", segment.name});
    CHECK(o.code == 2);
    CHECK(o.output.find("authHeader") != std::string::npos);
    CHECK(o.output.find("inline-token-83f2") == std::string::npos);
  }
  SECTION("a URI with credentials") {
    const Outcome o = run_flagd(dir, {"--uri", "http://ann:pw-71c3e0@127.0.0.1:9/flags.json", "--segment", segment.name});
    CHECK(o.code == 2);
    CHECK(o.output.find("credentials in a URI are readable by every user of the host") != std::string::npos);
    CHECK(o.output.find("--auth-header-file") != std::string::npos);
  }
  SECTION("flagd's --port, which this daemon does not have") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"start", "--port", "8013", "--flags", dir / "absent.json"},
          std::vector<std::string>{"start", "--port=8013", "--flags", dir / "absent.json"}}) {
      const Outcome o = run_flagd(dir, args);
      CHECK(o.code == 2);
      CHECK(o.output.find("flagd's --port is not supported by this daemon") != std::string::npos);
    }
  }
  SECTION("an unknown option, and no source at all") {
    Outcome o = run_flagd(dir, {"--uri", "file:" + (dir / "flags.json"), "--no-such-option"});
    CHECK(o.code == 2);
    CHECK(o.output.find("'--no-such-option'") != std::string::npos);
    o = run_flagd(dir, {"start", "--segment", segment.name});
    CHECK(o.code == 2);
    CHECK(o.output.find("at least one source is required") != std::string::npos);
  }
  // Nothing was started: no segment was made.
  CHECK_FALSE(flagd::Reader::attach(segment.name));
}

// The password is what the refusal is about: it must not be shown back, in the terminal or in a
// journal that keeps the daemon's stderr.
TEST_CASE("fleet cli: a URI's credentials are not repeated in the refusal") {
  ScratchDirectory dir("flagd-fleet-cli-userinfo");
  const Outcome o = run_flagd(dir, {"--uri", "http://ann:pw-71c3e0@127.0.0.1:9/flags.json"});
  CHECK(o.code == 2);
  CHECK(o.output.find("pw-71c3e0") == std::string::npos);
}

TEST_CASE("fleet cli: --help names the remote sources and their options") {
  ScratchDirectory dir("flagd-fleet-cli-help");
  const Outcome o = run_flagd(dir, {"--help"});
  CHECK(o.code == 0);
  for (const char* option : {"--uri URI", "--sources JSON", "--poll-interval", "--ca-file", "--auth-header-file",
                             "--auth-header-env", "--cache-dir", "--startup-wait", "etcd://HOST:PORT/KEY",
                             "grpc://HOST:PORT", "http://"})
    CHECK(o.output.find(option) != std::string::npos);
}
