// The daemon under systemd, without systemd: the sd_notify protocol against a socket of the
// test's own (READY, RELOADING with MONOTONIC_USEC, STATUS, STOPPING), and log lines with
// priorities when stderr is the journal's stream.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/interprocess/shared_memory_object.hpp>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include "child_process.hpp"
#include "published_reader.hpp"
#include "flagd/reader.hpp"
#include "flagd/segment_name.hpp"
#include "named_segment.hpp"

namespace {

constexpr std::string_view kFlags = R"({"flags": {
  "a": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"},
  "old": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on", "metadata": {"expires": "2020-01-01"}}}})";

// A datagram socket standing in for systemd's notify socket.
struct FakeNotifySocket {
  int fd = -1;
  std::string name;  // as NOTIFY_SOCKET gives it
  explicit FakeNotifySocket(std::string notify_name) : name(std::move(notify_name)) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string path = name;
    if (path[0] == '@') path[0] = '\0';
    else ::unlink(path.c_str());
    std::memcpy(address.sun_path, path.data(), path.size());
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '\0' ? 0 : 1));
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0);
  }
  ~FakeNotifySocket() {
    ::close(fd);
    if (name[0] != '@') ::unlink(name.c_str());
  }
  // The next datagram; empty if none came (the bound only keeps a broken build from hanging).
  std::string next() {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20000) != 1) return "";
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
  }
};

unsigned long long monotonic_usec() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<unsigned long long>(now.tv_sec) * 1000000ull + static_cast<unsigned long long>(now.tv_nsec) / 1000;
}

struct Files {
  std::string dir, flags, log, segment;
  explicit Files(const char* what) : segment(flagd::test::unique_segment(what)) {
    dir = "/tmp/" + segment;
    REQUIRE(std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()) == 0);
    flags = dir + "/flags.json";
    log = dir + "/daemon.log";
    std::ofstream(flags) << kFlags;
    boost::interprocess::shared_memory_object::remove(segment.c_str());
  }
  ~Files() {
    boost::interprocess::shared_memory_object::remove(segment.c_str());
    std::remove(flagd::segment_lock_path(segment).c_str());
    std::remove(flagd::segment_link_path(segment).c_str());
    [[maybe_unused]] const int rc = std::system(("rm -rf " + dir).c_str());
  }
};

}  // namespace

TEST_CASE("the daemon speaks sd_notify: READY, RELOADING with MONOTONIC_USEC then READY, STOPPING") {
  for (const bool abstract : {false, true}) {
    Files files(abstract ? "notify-abstract" : "notify-path");
    FakeNotifySocket systemd(abstract ? "@" + files.segment : files.dir + "/notify.sock");
    ::setenv("NOTIFY_SOCKET", systemd.name.c_str(), 1);
    flagd::test::Process daemon =
        flagd::test::Process::spawn({FLAGD_BINARY, "--flags", files.flags, "--segment", files.segment}, files.log);
    ::unsetenv("NOTIFY_SOCKET");
    CHECK(systemd.next() == "READY=1\nSTATUS=generation 1, 2 flags (1 expired)");

    const unsigned long long before = monotonic_usec();
    ::kill(daemon.pid, SIGHUP);
    const std::string reloading = systemd.next();
    const unsigned long long after = monotonic_usec();
    REQUIRE(reloading.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
    const unsigned long long stamp = std::strtoull(reloading.c_str() + reloading.find('=', 12) + 1, nullptr, 10);
    CHECK(stamp >= before);  // CLOCK_MONOTONIC, as systemd reads it: taken after the SIGHUP
    CHECK(stamp <= after);
    // The files did not change: nothing new is published.
    CHECK(systemd.next() == "READY=1\nSTATUS=generation 1, 2 flags (1 expired)");

    std::ofstream(files.flags) << R"({"flags": )";  // a rejected reload says so
    ::kill(daemon.pid, SIGHUP);
    CHECK(systemd.next().rfind("RELOADING=1\n", 0) == 0);
    CHECK(systemd.next() == "READY=1\nSTATUS=generation 1, 2 flags (1 expired); last reload rejected, see the log");

    ::kill(daemon.pid, SIGTERM);
    CHECK(systemd.next().rfind("STOPPING=1\nSTATUS=stopping on SIGTERM", 0) == 0);
    CHECK(daemon.wait() == 0);
  }
}

TEST_CASE("log lines carry syslog priorities when stderr is the journal's stream") {
  Files files("journal");
  {
    std::ofstream(files.log) << "";
  }
  struct stat info{};
  REQUIRE(::stat(files.log.c_str(), &info) == 0);  // the daemon's stderr will be this file
  const std::string stream = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
  ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
  flagd::test::Process daemon =
      flagd::test::Process::spawn({FLAGD_BINARY, "--flags", files.flags, "--segment", files.segment}, files.log);
  ::unsetenv("JOURNAL_STREAM");
  REQUIRE(flagd::test::attach_when_published(files.segment));
  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
  const std::string log = flagd::test::read_file(files.log);
  CHECK(log.find("<4>warning: flag 'old' expired on 2020-01-01; still served\n") != std::string::npos);
  CHECK(log.find("<6>info: start-up load: published generation 1") != std::string::npos);
  CHECK(log.find("flagd[") == std::string::npos);  // no time or pid: the journal records them
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) CHECK(line.rfind("<", 0) == 0);

  // Not the journal's stream (another file): the plain format.
  Files plain("journal-plain");
  ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
  flagd::test::Process other =
      flagd::test::Process::spawn({FLAGD_BINARY, "--flags", plain.flags, "--segment", plain.segment}, plain.log);
  ::unsetenv("JOURNAL_STREAM");
  REQUIRE(flagd::test::attach_when_published(plain.segment));
  ::kill(other.pid, SIGTERM);
  CHECK(other.wait() == 0);
  CHECK(flagd::test::read_file(plain.log).find("flagd[") != std::string::npos);
}

TEST_CASE("the daemon writes Prometheus metrics as a node-exporter textfile after every load") {
  Files files("metrics");
  const std::string metrics = files.dir + "/flagd.prom";
  flagd::test::Process daemon = flagd::test::Process::spawn(
      {FLAGD_BINARY, "--flags", files.flags, "--segment", files.segment, "--metrics-file", metrics}, files.log);
  const std::string seg = "segment=\"" + files.segment + "\"";
  REQUIRE(flagd::test::eventually([&] { return flagd::test::read_file(metrics).find("flagd_generation{") != std::string::npos; }));
  std::string text = flagd::test::read_file(metrics);
  CHECK(text.find("# TYPE flagd_reloads_total counter\n") != std::string::npos);
  CHECK(text.find("flagd_reloads_total{" + seg + ",result=\"published\"} 1\n") != std::string::npos);
  CHECK(text.find("flagd_reloads_total{" + seg + ",result=\"rejected\"} 0\n") != std::string::npos);
  CHECK(text.find("flagd_generation{" + seg + "} 1\n") != std::string::npos);
  CHECK(text.find("flagd_flags{" + seg + "} 2\n") != std::string::npos);
  CHECK(text.find("flagd_expired_flags{" + seg + "} 1\n") != std::string::npos);
  CHECK(text.find("flagd_segment_bytes{" + seg + "} ") != std::string::npos);
  CHECK(text.find("flagd_image_bytes{" + seg + "} ") != std::string::npos);
  CHECK(text.find("flagd_last_reload_success_timestamp_seconds{" + seg + "} 17") != std::string::npos);  // 2023-2033
  CHECK(text.find("flagd_build_info{version=\"") != std::string::npos);

  std::ofstream(files.flags) << R"({"flags": )";  // rejected: counted, generation kept
  ::kill(daemon.pid, SIGHUP);
  REQUIRE(flagd::test::eventually([&] {
    return flagd::test::read_file(metrics).find("result=\"rejected\"} 1\n") != std::string::npos;
  }));
  text = flagd::test::read_file(metrics);
  CHECK(text.find("flagd_generation{" + seg + "} 1\n") != std::string::npos);
  CHECK(text.find("result=\"published\"} 1\n") != std::string::npos);
  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
  // Written by rename: no temporary file is left behind.
  CHECK(flagd::test::run_capture("ls " + files.dir).find(".tmp.") == std::string::npos);
}
