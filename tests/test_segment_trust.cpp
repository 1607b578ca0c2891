// Readers authenticate what they map: only a regular file, reached without a symlink, owned by the
// daemon's user and writable by nobody else. Anything else at the segment's path is refused at
// once, with a message saying what and why.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "child_process.hpp"
#include "flagd/reader.hpp"
#include "memory_flags.hpp"
#include "named_segment.hpp"
#include "published_reader.hpp"

using flagd::AttachErrorKind;
using flagd::AttachOptions;
using flagd::Reader;
using flagd::test::NamedSegment;
using flagd::test::unique_segment;

namespace {

constexpr uid_t kNobody = 65534;
constexpr const char* kFlags =
    R"({"flags": {"trade": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}}})";

bool root() { return ::geteuid() == 0; }

// A segment file holding a valid image, at /dev/shm/NAME, removed at the end.
struct ValidSegment {
  flagd::test::MemoryFlags flags{kFlags};
  NamedSegment named;
  explicit ValidSegment(const char* what) : named(unique_segment(what), flags.segment().data(), flags.segment().size()) {}
  std::string path() const { return flagd::segment_path(named.name); }
};

// Something other than a segment at /dev/shm/NAME, removed at the end.
struct PlantedPath {
  std::string name;
  std::string path;
  explicit PlantedPath(const char* what) : name(unique_segment(what)), path(flagd::segment_path(name)) { clear(); }
  ~PlantedPath() { clear(); }
  void clear() const {
    ::unlink(path.c_str());
    ::rmdir(path.c_str());
  }
};

// Attaches to `name` in a child process that an alarm kills after `seconds`: an attach that
// blocks fails the test instead of hanging it. The child's exit status: 0 refused as untrusted,
// 1 attached, 2 another error.
int attach_in_child(const std::string& name, unsigned seconds) {
  const pid_t child = ::fork();
  if (child == 0) {
    ::alarm(seconds);
    auto reader = Reader::attach(name);
    ::_exit(reader ? 1 : reader.error().kind == AttachErrorKind::Untrusted ? 0 : 2);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("a valid segment of this user, mode 0644, attaches") {
  ValidSegment segment("trusted");
  REQUIRE(::chmod(segment.path().c_str(), 0644) == 0);
  auto reader = Reader::attach(segment.named.name);
  REQUIRE(reader);
  CHECK(reader->get_bool(reader->resolve("trade"), false));
}

TEST_CASE("a segment writable by group or others is refused") {
  ValidSegment segment("writable");
  for (mode_t mode : {0666, 0664, 0646}) {
    REQUIRE(::chmod(segment.path().c_str(), mode) == 0);
    auto reader = Reader::attach(segment.named.name);
    REQUIRE_FALSE(reader);
    CHECK(reader.error().kind == AttachErrorKind::Untrusted);
    CHECK(reader.error().message.find("writable by users other than its owner") != std::string::npos);
  }
}

TEST_CASE("a valid-looking segment owned by another user is refused unless that user is the daemon's") {
  if (!root()) {
    WARN("SKIPPED: needs root to give the segment another owner");
    return;
  }
  ValidSegment segment("foreign");
  REQUIRE(::chown(segment.path().c_str(), kNobody, kNobody) == 0);
  REQUIRE(::chmod(segment.path().c_str(), 0644) == 0);
  ::unsetenv("FLAGD_SEGMENT_OWNER");
  auto refused = Reader::attach(segment.named.name);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == AttachErrorKind::Untrusted);
  CHECK(refused.error().message.find("is owned by uid 65534, not by the daemon's user") != std::string::npos);

  // Named as the daemon's user: by option, or by the environment (for flagctl, C and Python).
  auto by_option = Reader::attach(segment.named.name, AttachOptions{kNobody});
  REQUIRE(by_option);
  CHECK(by_option->get_bool(by_option->resolve("trade"), false));
  ::setenv("FLAGD_SEGMENT_OWNER", "nobody", 1);
  CHECK(Reader::attach(segment.named.name));
  ::setenv("FLAGD_SEGMENT_OWNER", "no-such-user-here", 1);
  CHECK_FALSE(Reader::attach(segment.named.name));
  ::unsetenv("FLAGD_SEGMENT_OWNER");
  // Naming another user does not stop trusting root, who can write any file anyway.
  REQUIRE(::chown(segment.path().c_str(), 0, 0) == 0);
  CHECK(Reader::attach(segment.named.name, AttachOptions{kNobody}));
}

TEST_CASE("a symbolic link at the segment's path is refused, even to a valid segment") {
  ValidSegment target("link-target");
  PlantedPath link("link");
  REQUIRE(::symlink(target.path().c_str(), link.path.c_str()) == 0);
  auto reader = Reader::attach(link.name);
  REQUIRE_FALSE(reader);
  CHECK(reader.error().kind == AttachErrorKind::Untrusted);
  CHECK(reader.error().message.find("is a symbolic link") != std::string::npos);
}

TEST_CASE("a FIFO or a directory at the segment's path is refused at once, by attach and flagctl status") {
  PlantedPath planted("fifo");
  SECTION("FIFO") {
    REQUIRE(::mkfifo(planted.path.c_str(), 0644) == 0);
    auto reader = Reader::attach(planted.name);  // in this process too: a hang would stop the suite
    REQUIRE_FALSE(reader);
    CHECK(reader.error().message.find("is not a regular file (a FIFO)") != std::string::npos);
  }
  SECTION("directory") {
    REQUIRE(::mkdir(planted.path.c_str(), 0755) == 0);
    auto reader = Reader::attach(planted.name);
    REQUIRE_FALSE(reader);
    CHECK(reader.error().message.find("is not a regular file (a directory)") != std::string::npos);
  }
  CHECK(attach_in_child(planted.name, 10) == 0);
  const std::string out = flagd::test::run_capture("timeout 10 " + std::string(FLAGCTL_BINARY) + " --segment " +
                                                   planted.name + " status 2>&1; echo \"exit=$?\"");
  CHECK(out.find("not a regular file") != std::string::npos);
  CHECK(out.find("exit=1") != std::string::npos);  // 124 would be timeout's: it blocked
}

TEST_CASE("only the segment's owner can shrink it under a reader's mapping") {
  if (!root()) {
    WARN("SKIPPED: needs root to act as another user");
    return;
  }
  // Shrinking a mapped file is what makes readers die of SIGBUS. With the checks above, the only
  // users who may write the file are its owner (the daemon's user) and root.
  ValidSegment segment("shrink");
  REQUIRE(::chmod(segment.path().c_str(), 0644) == 0);
  auto reader = Reader::attach(segment.named.name);
  REQUIRE(reader);
  const flagd::Handle trade = reader->resolve("trade");
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(3);
    const bool truncated = ::truncate(segment.path().c_str(), 0) == 0;
    const bool opened = ::open(segment.path().c_str(), O_WRONLY) >= 0;
    ::_exit(truncated || opened ? 1 : 0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(reader->get_bool(trade, false));
}

namespace {

// A daemon's flag file and segment, all their files removed at the end.
struct DaemonScratch {
  std::string segment = unique_segment("lock");
  std::string file = "/tmp/" + segment + ".json";
  std::string log = "/tmp/" + segment + ".log";
  DaemonScratch() {
    remove();
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fputs(kFlags, f);
    std::fclose(f);
  }
  ~DaemonScratch() {
    remove();
    std::remove(file.c_str());
    std::remove(log.c_str());
  }
  void remove() const { flagd::test::remove_segment_files(segment); }
  flagd::test::Process start() const {
    return flagd::test::Process::spawn(
        {FLAGD_BINARY, "--flags", file, "--segment", segment, "--image-capacity", "1", "--readable-by-all"}, log);
  }
  std::string status() const {
    return flagd::test::run_capture(std::string(FLAGCTL_BINARY) + " --segment " + segment + " status 2>&1");
  }
};

}  // namespace

TEST_CASE("another user cannot keep the daemon from starting with a lock, nor pass for the daemon") {
  if (!root()) {
    WARN("SKIPPED: needs root to act as another user");
    return;
  }
  DaemonScratch scratch;
  const std::string lock = flagd::segment_lock_path(scratch.segment);
  SECTION("a read lock taken on a lock file left readable") {
    const int made = ::open(lock.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);  // as daemons before 0600 left it
    REQUIRE(made >= 0);
    ::close(made);
  }
  SECTION("a lock file the other user made first") {}
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t other = ::fork();
  if (other == 0) {
    if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(3);
    int fd = ::open(lock.c_str(), O_RDONLY);
    if (fd < 0) fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);
    struct flock hold{};
    hold.l_type = F_RDLCK;
    hold.l_whence = SEEK_SET;
    const char done = (fd >= 0 && ::fcntl(fd, F_SETLK, &hold) == 0) ? 'y' : 'n';
    (void)!::write(ready[1], &done, 1);
    ::pause();
    ::_exit(0);
  }
  char held = 0;
  REQUIRE(::read(ready[0], &held, 1) == 1);
  CHECK(held == 'y');
  flagd::test::Process daemon = scratch.start();
  const bool served = flagd::test::attach_when_published(scratch.segment).has_value();
  CHECK(served);
  const std::string status = scratch.status();
  CHECK(status.find("alive, last heartbeat ") != std::string::npos);
  CHECK(status.find("pid " + std::to_string(daemon.pid)) != std::string::npos);
  CHECK(status.find("pid " + std::to_string(other)) == std::string::npos);
  struct stat info{};
  REQUIRE(::stat(lock.c_str(), &info) == 0);
  CHECK(info.st_uid == 0);
  CHECK((info.st_mode & 077) == 0);
  ::kill(other, SIGKILL);
  ::waitpid(other, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
}

TEST_CASE("flagctl status does not take a process of another user for the daemon") {
  if (!root()) {
    WARN("SKIPPED: needs root to act as another user");
    return;
  }
  DaemonScratch scratch;
  flagd::test::Process daemon = scratch.start();
  REQUIRE(flagd::test::attach_when_published(scratch.segment));
  ::kill(daemon.pid, SIGKILL);  // leaves "running" in the segment's status, and the lock free
  daemon.wait();
  // Read as another user, who cannot open the private lock file: the segment's record is the
  // evidence, and its pid is no longer the daemon user's process.
  const std::string out = flagd::test::run_capture("FLAGD_SEGMENT_OWNER=0 setpriv --reuid=65534 --regid=65534 --clear-groups " +
                                                   std::string(FLAGCTL_BINARY) + " --segment " + scratch.segment +
                                                   " status 2>&1");
  CHECK(out.find("daemon:        NOT RUNNING") != std::string::npos);
}
