// The --metrics-file is written where other users may have planted names: nothing they plant is
// written through, and a directory they can write is reported.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/shared_memory_object.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "flagd/reader.hpp"
#include "metrics.hpp"
#include "named_segment.hpp"

using flagd::test::eventually;
using flagd::test::Process;
using flagd::test::read_file;

namespace {

constexpr uid_t kNobody = 65534;
constexpr const char* kTargetBytes = "a root-owned file the metrics must never reach\n";

// A directory holding the metrics path and a file that planted links point to.
struct Scratch {
  std::string dir;
  std::string metrics;
  std::string target;
  explicit Scratch(const char* what)
      : dir(std::filesystem::temp_directory_path() / flagd::test::unique_segment(what)),
        metrics(dir + "/flagd.prom"),
        target(dir + "/target") {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ::chmod(dir.c_str(), 0755);
    std::ofstream(target) << kTargetBytes;
  }
  ~Scratch() { std::filesystem::remove_all(dir); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // Symbolic links to `to` at every name a writer of `metrics` could predictably use.
  std::vector<std::string> plant(const std::string& to, pid_t pid) const {
    const std::string p = std::to_string(pid);
    std::vector<std::string> names{metrics + ".tmp." + p, metrics + ".tmp", metrics + ".tmp.0", metrics + "~",
                                   metrics + ".new", dir + "/.flagd.prom.tmp", dir + "/.flagd.prom." + p,
                                   dir + "/flagd.prom." + p, dir + "/.flagd.prom.swp"};
    for (const auto& n : names) {
      ::unlink(n.c_str());
      REQUIRE(::symlink(to.c_str(), n.c_str()) == 0);
    }
    return names;
  }
  bool metrics_is_regular_file() const {
    struct stat info{};
    return ::lstat(metrics.c_str(), &info) == 0 && S_ISREG(info.st_mode);
  }
  std::size_t entries() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
  }
};

using flagd::test::SegmentFiles;

flagd::DaemonMetrics sample(std::uint64_t generation) {
  flagd::DaemonMetrics m;
  m.segment = "unit";
  m.version = "0";
  m.generation = generation;
  return m;
}

bool write(const std::string& path, std::uint64_t generation, std::string& warning) {
  std::string error;
  const bool ok = flagd::write_metrics_file(path, sample(generation), error, warning);
  INFO(error);
  return ok;
}

}  // namespace

TEST_CASE("metrics are never written through a name planted in the directory") {
  Scratch s("metrics-plant");
  const std::vector<std::string> planted = s.plant(s.target, ::getpid());
  std::string warning;
  REQUIRE(write(s.metrics, 7, warning));
  CHECK(read_file(s.target) == kTargetBytes);
  CHECK(s.metrics_is_regular_file());
  CHECK(read_file(s.metrics).find("flagd_generation{segment=\"unit\"} 7\n") != std::string::npos);
  for (const auto& name : planted) CHECK(std::filesystem::is_symlink(name));
  CHECK(s.entries() == planted.size() + 2);  // the planted links, the target and the metrics: nothing left over
}

TEST_CASE("a symbolic link at the metrics path is replaced, not written through") {
  Scratch s("metrics-link");
  REQUIRE(::symlink(s.target.c_str(), s.metrics.c_str()) == 0);
  std::string warning;
  REQUIRE(write(s.metrics, 3, warning));
  CHECK(read_file(s.target) == kTargetBytes);
  CHECK(s.metrics_is_regular_file());
  CHECK(read_file(s.metrics).find("flagd_generation{segment=\"unit\"} 3\n") != std::string::npos);
}

TEST_CASE("a metrics directory that is a symbolic link is refused, and the directory it names untouched") {
  Scratch s("metrics-dirlink");
  const std::string elsewhere = s.dir + "/elsewhere";
  std::filesystem::create_directories(elsewhere);
  const std::string linked = s.dir + "/linked";
  REQUIRE(::symlink(elsewhere.c_str(), linked.c_str()) == 0);
  std::string error, warning;
  CHECK_FALSE(flagd::write_metrics_file(linked + "/flagd.prom", sample(1), error, warning));
  CHECK(error.find("a symbolic link, or not a directory") != std::string::npos);
  CHECK(std::filesystem::is_empty(elsewhere));
}

TEST_CASE("a failed metrics write says why and leaves no temporary file") {
  Scratch s("metrics-fail");
  std::filesystem::create_directories(s.metrics + "/occupied");  // rename cannot replace a directory
  std::string error, warning;
  CHECK_FALSE(flagd::write_metrics_file(s.metrics, sample(1), error, warning));
  CHECK(error.find("cannot rename the metrics file into place as '" + s.metrics + "'") != std::string::npos);
  CHECK(s.entries() == 2);

  CHECK_FALSE(flagd::write_metrics_file(s.dir + "/missing/flagd.prom", sample(1), error, warning));
  CHECK(error.find("cannot open its directory") != std::string::npos);
}

TEST_CASE("a metrics directory other users can write is reported once") {
  SECTION("writable by all, even sticky") {
    for (const mode_t mode : {0777, 01777}) {
      Scratch s(mode == 0777 ? "metrics-all" : "metrics-all-sticky");  // a path is reported once per process
      ::chmod(s.dir.c_str(), mode);
      std::string warning;
      REQUIRE(write(s.metrics, 1, warning));
      CHECK(warning.find("the --metrics-file directory '" + s.dir + "' is writable by every user") !=
            std::string::npos);
      REQUIRE(write(s.metrics, 2, warning));
      CHECK(warning.empty());
      CHECK(read_file(s.metrics).find("flagd_generation{segment=\"unit\"} 2\n") != std::string::npos);
    }
  }
  SECTION("writable by its group and not sticky; sticky is fine") {
    Scratch s("metrics-group");
    ::chmod(s.dir.c_str(), 0775);
    std::string warning;
    REQUIRE(write(s.metrics, 1, warning));
    CHECK(warning.find("is writable by its group") != std::string::npos);
    Scratch sticky("metrics-group-sticky");
    ::chmod(sticky.dir.c_str(), 01775);
    REQUIRE(write(sticky.metrics, 1, warning));
    CHECK(warning.empty());
  }
  SECTION("only its owner can write it") {
    Scratch s("metrics-private");
    std::string warning;
    REQUIRE(write(s.metrics, 1, warning));
    CHECK(warning.empty());
  }
  SECTION("the one-channel form returns the warning as an error, the metrics written") {
    Scratch s("metrics-channel");
    ::chmod(s.dir.c_str(), 0777);
    std::string error;
    CHECK_FALSE(flagd::write_metrics_file(s.metrics, sample(5), error));
    CHECK(error.find("is writable by every user") != std::string::npos);
    CHECK(error.find("(the metrics were written)") != std::string::npos);
    CHECK(read_file(s.metrics).find("flagd_generation{segment=\"unit\"} 5\n") != std::string::npos);
    CHECK(flagd::write_metrics_file(s.metrics, sample(6), error));
  }
  SECTION("a failed write keeps the warning for the next") {
    Scratch s("metrics-later");
    ::chmod(s.dir.c_str(), 0777);
    std::filesystem::create_directories(s.metrics + "/occupied");
    std::string error, warning;
    CHECK_FALSE(flagd::write_metrics_file(s.metrics, sample(1), error, warning));
    CHECK(warning.empty());
    std::filesystem::remove_all(s.metrics);
    REQUIRE(write(s.metrics, 2, warning));
    CHECK(warning.find("is writable by every user") != std::string::npos);
  }
  SECTION("owned by another user") {
    if (::geteuid() != 0) {
      WARN("SKIPPED: only root can give a directory to another user");
      return;
    }
    Scratch s("metrics-owner");
    REQUIRE(::chown(s.dir.c_str(), kNobody, kNobody) == 0);
    std::string warning;
    REQUIRE(write(s.metrics, 1, warning));
    CHECK(warning.find("is owned by uid 65534") != std::string::npos);
  }
}

TEST_CASE("the daemon writes its metrics past links planted at its temporary names") {
  Scratch s("metrics-daemon");
  const SegmentFiles files("metrics-daemon");
  const std::string& segment = files.name;
  const std::string flags = s.dir + "/flags.json";
  const auto write_flags = [&](const char* state) {
    std::ofstream(flags) << R"({"flags": {"switch": {"state": ")" << state
                         << R"(", "variants": {"on": true, "off": false}, "defaultVariant": "on"}}})";
  };
  write_flags("ENABLED");
  Process daemon = Process::spawn(
      {FLAGD_BINARY, "--flags", flags, "--segment", segment, "--image-capacity", "1", "--metrics-file", s.metrics},
      s.dir + "/daemon.log");
  const auto generation_written = [&](int generation) {
    return eventually([&] {
      return read_file(s.metrics).find("flagd_generation{segment=\"" + segment + "\"} " +
                                       std::to_string(generation) + "\n") != std::string::npos;
    });
  };
  REQUIRE(generation_written(1));

  s.plant(s.target, daemon.pid);
  write_flags("DISABLED");
  ::kill(daemon.pid, SIGHUP);
  REQUIRE(generation_written(2));
  CHECK(read_file(s.target) == kTargetBytes);
  CHECK(s.metrics_is_regular_file());

  // Links to the segment itself: a write through one would truncate what readers map.
  const std::string segment_file = "/dev/shm/" + segment;
  struct stat before{};
  REQUIRE(::stat(segment_file.c_str(), &before) == 0);
  s.plant(segment_file, daemon.pid);
  write_flags("ENABLED");
  ::kill(daemon.pid, SIGHUP);
  REQUIRE(generation_written(3));
  struct stat after{};
  REQUIRE(::stat(segment_file.c_str(), &after) == 0);
  CHECK(after.st_size == before.st_size);
  CHECK(s.metrics_is_regular_file());
  auto reader = flagd::Reader::attach(segment);
  REQUIRE(reader);
  CHECK(reader->generation() == 3);
  CHECK(reader->get_bool(reader->resolve("switch"), false));

  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
}

TEST_CASE("the daemon warns once about a metrics directory every user can write") {
  Scratch s("metrics-daemon-dir");
  const std::string open = s.dir + "/open";  // the flag file's own directory must stay trusted
  std::filesystem::create_directories(open);
  ::chmod(open.c_str(), 0777);
  const std::string metrics = open + "/flagd.prom";
  const SegmentFiles files("metrics-daemon-dir");
  const std::string& segment = files.name;
  const std::string flags = s.dir + "/flags.json";
  std::ofstream(flags) << R"({"flags": {}})";
  Process daemon = Process::spawn(
      {FLAGD_BINARY, "--flags", flags, "--segment", segment, "--image-capacity", "1", "--metrics-file", metrics},
      s.dir + "/daemon.log");
  const auto counted = [&](const char* result, const char* count) {
    return eventually([&] {
      return read_file(metrics).find(std::string("result=\"") + result + "\"} " + count + "\n") != std::string::npos;
    });
  };
  REQUIRE(counted("published", "1"));
  ::kill(daemon.pid, SIGHUP);  // the same file: nothing published, the metrics written again
  REQUIRE(counted("unchanged", "1"));
  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
  const std::string log = read_file(s.dir + "/daemon.log");
  const std::string warning = "the --metrics-file directory '" + open + "' is writable by every user";
  const std::size_t first = log.find(warning);
  CHECK(first != std::string::npos);
  CHECK(log.find(warning, first + 1) == std::string::npos);
}
