// Who can read and write what: the segment's owner and mode, readers' read-only mappings, the
// flag files the daemon trusts, and a daemon without privilege.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/interprocess/shared_memory_object.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "child_process.hpp"
#include "flag_loader.hpp"
#include "flagd/reader.hpp"
#include "named_segment.hpp"

using flagd::test::eventually;
using flagd::test::Process;
using flagd::test::read_file;

namespace {

constexpr const char* kFlags =
    R"({"flags": {"switch": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}}})";
constexpr uid_t kNobody = 65534;

// A scratch directory with one flag file, and a segment name, both removed at the end.
struct Scratch {
  std::string dir;
  std::string file;
  std::string segment;
  explicit Scratch(const char* what)
      : dir(std::filesystem::temp_directory_path() / flagd::test::unique_segment(what)),
        file(dir + "/flags.json"),
        segment(flagd::test::unique_segment(what)) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ::chmod(dir.c_str(), 0755);
    std::ofstream(file) << kFlags;
    ::chmod(file.c_str(), 0644);
    remove_segment();
  }
  ~Scratch() {
    remove_segment();
    std::filesystem::remove_all(dir);
  }
  void remove_segment() const {
    boost::interprocess::shared_memory_object::remove(segment.c_str());
    ::unlink(flagd::segment_lock_path(segment).c_str());
    ::unlink(flagd::segment_link_path(segment).c_str());
  }
  std::vector<std::string> daemon(std::initializer_list<std::string> extra = {}) const {
    std::vector<std::string> args{FLAGD_BINARY, "--flags", file, "--segment", segment, "--image-capacity", "1"};
    args.insert(args.end(), extra);
    return args;
  }
  struct stat segment_status() const {
    struct stat info{};
    ::stat(("/dev/shm/" + segment).c_str(), &info);
    return info;
  }
};

// Waits until the daemon has published, or until it exits (false then).
bool serves(Process& daemon, const std::string& segment) {
  bool exited = false;
  const bool published = eventually([&] {
    auto reader = flagd::Reader::attach(segment);
    if (reader && reader->generation() >= 1) return true;
    exited = ::waitpid(daemon.pid, nullptr, WNOHANG) == daemon.pid;
    return exited;
  });
  if (exited) daemon.pid = -1;
  return published && !exited;
}

}  // namespace

TEST_CASE("the segment is readable by the daemon's group or by all, writable by its owner only") {
  SECTION("default: mode 0640, the daemon's group") {
    Scratch s("sec-mode");
    Process daemon = Process::spawn(s.daemon(), s.dir + "/daemon.log");
    REQUIRE(serves(daemon, s.segment));
    const struct stat info = s.segment_status();
    CHECK((info.st_mode & 07777) == 0640);
    CHECK(info.st_uid == ::geteuid());
    CHECK(info.st_gid == ::getegid());
  }
  SECTION("--readable-by-all: mode 0644") {
    Scratch s("sec-all");
    Process daemon = Process::spawn(s.daemon({"--readable-by-all"}), s.dir + "/daemon.log");
    REQUIRE(serves(daemon, s.segment));
    CHECK((s.segment_status().st_mode & 07777) == 0644);
  }
  SECTION("--group: that group may read") {
    Scratch s("sec-group");
    // Root may give any group; another user only its own, which is what this test can use then.
    const gid_t group = ::geteuid() == 0 ? 65534 : ::getegid();
    Process daemon = Process::spawn(s.daemon({"--group", std::to_string(group)}), s.dir + "/daemon.log");
    REQUIRE(serves(daemon, s.segment));
    CHECK(s.segment_status().st_gid == group);
    CHECK((s.segment_status().st_mode & 07777) == 0640);
  }
  SECTION("a segment left writable by others is refused, and so is a restart with an unknown group") {
    Scratch s("sec-writable");
    {
      Process daemon = Process::spawn(s.daemon(), s.dir + "/daemon.log");
      REQUIRE(serves(daemon, s.segment));
      ::kill(daemon.pid, SIGTERM);
      REQUIRE(daemon.wait() == 0);
    }
    ::chmod(("/dev/shm/" + s.segment).c_str(), 0666);
    Process again = Process::spawn(s.daemon(), s.dir + "/again.log");
    CHECK(again.wait() == 1);
    CHECK(read_file(again.log).find("is writable by other users (mode 0666)") != std::string::npos);

    Process unknown = Process::spawn(s.daemon({"--group", "no-such-group-anywhere"}), s.dir + "/unknown.log");
    CHECK(unknown.wait() == 2);
    CHECK(read_file(unknown.log).find("--group: no group named 'no-such-group-anywhere'") != std::string::npos);
  }
}

TEST_CASE("a segment owned by another user is refused") {
  if (::geteuid() != 0) {
    WARN("skipped: only root can create a segment owned by another user");
    return;
  }
  Scratch s("sec-owner");
  const int fd = ::shm_open(s.segment.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::fchown(fd, kNobody, kNobody) == 0);
  ::close(fd);
  Process daemon = Process::spawn(s.daemon(), s.dir + "/daemon.log");
  CHECK(daemon.wait() == 1);
  CHECK(read_file(daemon.log).find("is owned by uid 65534, not by this daemon's user") != std::string::npos);
}

TEST_CASE("a reader that writes to its mapping is killed by the kernel") {
  Scratch s("sec-write");
  Process daemon = Process::spawn(s.daemon({"--readable-by-all"}), s.dir + "/daemon.log");
  REQUIRE(serves(daemon, s.segment));
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The reader's own mapping, found where the kernel lists it; a store into it must fault.
    // The kernel's default action, not the test framework's handler inherited from the parent.
    ::signal(SIGSEGV, SIG_DFL);
    auto reader = flagd::Reader::attach(s.segment);
    if (!reader || !reader->get_bool(reader->resolve("switch"), false)) ::_exit(3);
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
      if (line.find("/dev/shm/" + s.segment) == std::string::npos) continue;
      if (line.find(" r--s ") == std::string::npos) ::_exit(4);  // not mapped read-only
      const std::uintptr_t start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
      *reinterpret_cast<volatile std::uint64_t*>(start + 64) = 0xBAD;
      ::_exit(5);  // the store went through
    }
    ::_exit(6);  // no mapping found
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  INFO("exit code " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
  auto reader = flagd::Reader::attach(s.segment);  // and the segment is as it was
  REQUIRE(reader);
  CHECK(reader->get_bool(reader->resolve("switch"), false));
}

TEST_CASE("the daemon refuses flag files anyone could have edited, unless told otherwise") {
  SECTION("a file writable by all") {
    Scratch s("sec-file");
    ::chmod(s.file.c_str(), 0666);
    Process daemon = Process::spawn(s.daemon(), s.dir + "/daemon.log");
    CHECK(daemon.wait() == 1);
    const std::string log = read_file(daemon.log);
    CHECK(log.find(s.file + ": error: the file is writable by every user (mode 0666)") != std::string::npos);
    auto reader = flagd::Reader::attach(s.segment);
    CHECK((!reader || reader->generation() == 0));

    Process allowed = Process::spawn(s.daemon({"--allow-any-file-owner"}), s.dir + "/allowed.log");
    CHECK(serves(allowed, s.segment));
  }
  SECTION("a reload from a file made writable by all is rejected; the published flags stay") {
    Scratch s("sec-reload");
    Process daemon = Process::spawn(s.daemon(), s.dir + "/daemon.log");
    REQUIRE(serves(daemon, s.segment));
    std::ofstream(s.file) << R"({"flags": {"switch": {"state": "DISABLED", "variants": {"on": true}, "defaultVariant": "on"}}})";
    ::chmod(s.file.c_str(), 0666);
    ::kill(daemon.pid, SIGHUP);
    auto reader = flagd::Reader::attach(s.segment);
    REQUIRE(reader);
    CHECK(eventually([&] { return reader->status().reloads_failed == 1; }));
    CHECK(reader->generation() == 1);
    CHECK(reader->get_bool(reader->resolve("switch"), false));
    CHECK(reader->status().last_error.find("writable by every user") != std::string::npos);
  }
  SECTION("the loader's check: owner and mode") {
    Scratch s("sec-loader");
    CHECK(flagd::load_flag_files({s.file}, flagd::FileTrust::OwnerOrRoot).ok());
    ::chmod(s.file.c_str(), 0646);
    const flagd::LoadResult loaded = flagd::load_flag_files({s.file}, flagd::FileTrust::OwnerOrRoot);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.diagnostics.front().file == s.file);
    CHECK(flagd::load_flag_files({s.file}, flagd::FileTrust::Any).ok());
    if (::geteuid() == 0) {  // only root can give a file away
      ::chmod(s.file.c_str(), 0644);
      REQUIRE(::chown(s.file.c_str(), kNobody, kNobody) == 0);
      const flagd::LoadResult foreign = flagd::load_flag_files({s.file}, flagd::FileTrust::OwnerOrRoot);
      REQUIRE_FALSE(foreign.ok());
      CHECK(foreign.diagnostics.front().message.find("owned by uid 65534") != std::string::npos);
    }
  }
}

TEST_CASE("the daemon runs as an unprivileged user") {
  if (::geteuid() != 0) {
    WARN("skipped: the tests already run without privilege, and only root can switch users");
    return;
  }
  Scratch s("sec-nobody");
  ::chmod(s.dir.c_str(), 0755);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const int log = ::open((s.dir + "/daemon.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (log >= 0) ::dup2(log, 2);
    if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(90);
    const std::vector<std::string> args = s.daemon();
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(91);
  }
  Process daemon;
  daemon.pid = child;
  INFO(read_file(s.dir + "/daemon.log"));
  // Readers trust a segment of the daemon's user once they are told who that is.
  ::setenv("FLAGD_SEGMENT_OWNER", "nobody", 1);
  REQUIRE(serves(daemon, s.segment));
  const struct stat info = s.segment_status();
  CHECK(info.st_uid == kNobody);
  CHECK((info.st_mode & 07777) == 0640);
  // Root reads it; "nobody" owns it, so root's own daemon refuses to take it over.
  auto reader = flagd::Reader::attach(s.segment);
  ::unsetenv("FLAGD_SEGMENT_OWNER");
  REQUIRE(reader);
  CHECK_FALSE(flagd::Reader::attach(s.segment));  // nor does a reader not told
  CHECK(reader->get_bool(reader->resolve("switch"), false));
  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
}
