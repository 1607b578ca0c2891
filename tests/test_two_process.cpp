// A writer process publishes continuously into a named segment while a reader process performs
// ten million reads, checking that each belongs to one image.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <boost/interprocess/shared_memory_object.hpp>
#include <csignal>

#include "generation_flags.hpp"
#include "memory_flags.hpp"
#include "named_segment.hpp"
#include "shared_segment.hpp"

namespace {

struct ReaderReport {
  std::uint64_t reads = 0;
  std::uint64_t inconsistent = 0;
  std::uint64_t first_generation = 0;
  std::uint64_t last_generation = 0;
};

[[noreturn]] void run_writer(const std::string& name) {
  std::string error;
  auto segment = flagd::SharedSegment::open_or_create(name, 1 << 16, {}, error);
  if (!segment) _exit(3);
  // Like a restarted daemon, the writer continues the segment's indices and generations.
  auto publisher = flagd::Publisher::resume(segment->data(), error);
  if (!publisher) _exit(4);
  for (;;) {
    auto loaded = flagd::load_flag_text(flagd::test::generation_json(publisher->generation() + 1));
    if (!loaded.ok() || !publisher->publish(loaded.flags, 0).published) _exit(4);
  }
}

[[noreturn]] void run_reader(const std::string& name, int report_fd) {
  ReaderReport report;
  auto attached = flagd::Reader::attach(name);
  if (!attached) _exit(5);
  flagd::test::GenerationChecker checker(attached.value());
  report.first_generation = attached->generation();
  while (report.reads < 10'000'000) {
    report.inconsistent += static_cast<std::uint64_t>(checker.round());
    report.reads += 5;
  }
  report.last_generation = checker.latest_generation();
  (void)!::write(report_fd, &report, sizeof report);
  _exit(0);
}

}  // namespace

TEST_CASE("ten million reads in one process while another publishes: all consistent") {
  const std::string name = flagd::test::unique_segment("two-process");
  boost::interprocess::shared_memory_object::remove(name.c_str());
  {
    // Generation 1 exists before either child starts.
    std::string error;
    auto segment = flagd::SharedSegment::open_or_create(name, 1 << 16, {}, error);
    REQUIRE(segment);
    auto publisher = flagd::Publisher::resume(segment->data(), error);
    REQUIRE(publisher);
    auto loaded = flagd::load_flag_text(flagd::test::generation_json(1));
    REQUIRE(publisher->publish(loaded.flags, 0).generation == 1);
  }
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t writer = ::fork();
  REQUIRE(writer >= 0);
  if (writer == 0) run_writer(name);
  const pid_t reader = ::fork();
  REQUIRE(reader >= 0);
  if (reader == 0) run_reader(name, fds[1]);
  ::close(fds[1]);

  ReaderReport report;
  const auto got = ::read(fds[0], &report, sizeof report);
  int reader_status = 0, writer_status = 0;
  ::waitpid(reader, &reader_status, 0);
  ::kill(writer, SIGKILL);
  ::waitpid(writer, &writer_status, 0);
  boost::interprocess::shared_memory_object::remove(name.c_str());

  REQUIRE(WIFEXITED(reader_status));
  REQUIRE(WEXITSTATUS(reader_status) == 0);
  REQUIRE(got == static_cast<ssize_t>(sizeof report));
  CHECK(WIFSIGNALED(writer_status));  // still publishing when the reader finished
  CHECK(report.reads >= 10'000'000);
  CHECK(report.inconsistent == 0);
  INFO("generations seen from " << report.first_generation << " to " << report.last_generation);
  CHECK(report.last_generation > report.first_generation);
}
