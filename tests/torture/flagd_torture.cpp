// Torture: a writer publishes into a named segment as fast as it can, with flag sets whose size
// and layout change from one image to the next (generation_flags.hpp), while reader processes
// evaluate continuously. Every value encodes its image's generation, so each read is checked to
// come from one image: the detailed forms against the generation they report, the value-only
// forms against the generations seen before and after them. Exits 0 only with no inconsistent
// read and no crashed process; prints what it did.
//
//   flagd_torture [--readers N] [--reads N]      # reads per reader; CTest runs 2 x 5,000,000
//   flagd_torture --readers 2 --reads 50000000   # the long mode of docs/reliability.md
#include <sys/wait.h>
#include <unistd.h>

#include <boost/interprocess/shared_memory_object.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

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
  auto publisher = flagd::Publisher::resume(segment->data(), error);
  if (!publisher) _exit(4);
  for (;;) {
    auto loaded = flagd::load_flag_text(flagd::test::generation_json(publisher->generation() + 1));
    if (!loaded.ok() || !publisher->publish(loaded.flags, 0).published) _exit(5);
  }
}

[[noreturn]] void run_reader(const std::string& name, std::uint64_t reads, int report_fd) {
  ReaderReport report;
  auto attached = flagd::Reader::attach(name);
  if (!attached) _exit(6);
  flagd::test::GenerationChecker checker(attached.value());
  report.first_generation = attached->generation();
  while (report.reads < reads) {
    report.inconsistent += static_cast<std::uint64_t>(checker.round());
    report.inconsistent += static_cast<std::uint64_t>(checker.value_round());
    report.reads += 9;
  }
  report.last_generation = checker.latest_generation();
  if (::write(report_fd, &report, sizeof report) != static_cast<ssize_t>(sizeof report)) _exit(7);
  _exit(0);
}

std::uint64_t number_after(int& i, int argc, char** argv) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "flagd_torture: %s needs a number\n", argv[i]);
    std::exit(2);
  }
  return std::strtoull(argv[++i], nullptr, 10);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t readers = 2, reads = 5'000'000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--readers") == 0) {
      readers = number_after(i, argc, argv);
    } else if (std::strcmp(argv[i], "--reads") == 0) {
      reads = number_after(i, argc, argv);
    } else {
      std::fprintf(stderr, "usage: flagd_torture [--readers N] [--reads N-per-reader]\n");
      return 2;
    }
  }
  const std::string name = flagd::test::unique_segment("torture");
  boost::interprocess::shared_memory_object::remove(name.c_str());
  ::unlink(flagd::segment_link_path(name).c_str());
  {
    std::string error;  // generation 1 exists before any reader starts
    auto segment = flagd::SharedSegment::open_or_create(name, 1 << 16, {}, error);
    auto publisher = segment ? flagd::Publisher::resume(segment->data(), error) : std::nullopt;
    if (!publisher || !publisher->publish(flagd::load_flag_text(flagd::test::generation_json(1)).flags, 0).published) {
      std::fprintf(stderr, "flagd_torture: cannot publish the first image: %s\n", error.c_str());
      return 1;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const pid_t writer = ::fork();
  if (writer == 0) run_writer(name);
  std::vector<pid_t> children;
  std::vector<int> pipes;
  for (std::uint64_t r = 0; r < readers; ++r) {
    int fds[2];
    if (::pipe(fds) != 0) return 1;
    const pid_t child = ::fork();
    if (child == 0) run_reader(name, reads, fds[1]);
    ::close(fds[1]);
    children.push_back(child);
    pipes.push_back(fds[0]);
  }

  bool ok = writer > 0;
  std::uint64_t total_reads = 0, inconsistent = 0, first = ~std::uint64_t{0}, last = 0;
  for (std::size_t r = 0; r < children.size(); ++r) {
    ReaderReport report;
    const bool got = ::read(pipes[r], &report, sizeof report) == static_cast<ssize_t>(sizeof report);
    int status = 0;
    ::waitpid(children[r], &status, 0);
    if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "flagd_torture: reader %zu failed (status %d)\n", r, status);
      ok = false;
      continue;
    }
    total_reads += report.reads;
    inconsistent += report.inconsistent;
    first = std::min(first, report.first_generation);
    last = std::max(last, report.last_generation);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int writer_status = 0;
  ::kill(writer, SIGKILL);
  ::waitpid(writer, &writer_status, 0);
  // Still publishing when the readers finished: it neither crashed nor stopped.
  const bool writer_alive = WIFSIGNALED(writer_status) && WTERMSIG(writer_status) == SIGKILL;
  boost::interprocess::shared_memory_object::remove(name.c_str());
  ::unlink(flagd::segment_link_path(name).c_str());

  std::printf("readers %llu, reads %llu, inconsistent %llu, generations %llu..%llu (%llu published during the run), "
              "%.1f s, writer %s\n",
              static_cast<unsigned long long>(readers), static_cast<unsigned long long>(total_reads),
              static_cast<unsigned long long>(inconsistent), static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(last), static_cast<unsigned long long>(last - first), seconds,
              writer_alive ? "publishing until stopped" : "FAILED");
  return ok && writer_alive && inconsistent == 0 && last > first ? 0 : 1;
}
