// Crash: the daemon is killed with SIGKILL again and again while it reloads a large flag file;
// after each kill a reader must still evaluate one complete image (the old or the new, never a
// mix), and a restarted daemon must reopen the segment and serve the file's latest version. A reader process
// evaluates throughout, checking every pair of reads that came from the same image. A quarter of
// the kills land at random points of a reload; the rest aim at the copy into the slot, and those
// that struck while a slot was being written (its sequence counter left odd) are counted: they
// test the seqlock's promise.
//
//   flagd_crash FLAGD_BINARY [--kills N]     # CTest runs 200
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/interprocess/shared_memory_object.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flagd/layout.hpp"
#include "flagd/reader.hpp"
#include "flagd/segment_name.hpp"
#include "flagd/shared_access.hpp"
#include "child_process.hpp"
#include "named_segment.hpp"


namespace {

constexpr int kFlags = 3000;  // about 1.5 MB of image: long enough to copy that kills land in it

// The value every flag of file version `v` has; its length changes with v, so a torn copy shows.
std::string version_text(std::uint64_t v) { return "v" + std::to_string(v) + ":" + std::string(200 + v % 97, 'x'); }

std::uint64_t parse_version(const std::string& text) {
  if (text.size() < 3 || text[0] != 'v') return 0;
  const std::uint64_t v = std::strtoull(text.c_str() + 1, nullptr, 10);
  return text == version_text(v) ? v : 0;
}

void write_flags(const std::string& path, std::uint64_t v) {
  std::string s = R"({"flags": {)";
  for (int i = 0; i < kFlags; ++i)
    s += (i ? ",\"f" : "\"f") + std::to_string(i) + R"(": {"state": "ENABLED", "variants": {"v": ")" + version_text(v) +
         R"("}, "defaultVariant": "v"})";
  s += "}}";
  const std::string partial = path + ".partial";
  std::ofstream(partial) << s;
  std::rename(partial.c_str(), path.c_str());  // the daemon never reads a half-written file
}

// Reads two flags far apart in the image; if both came from one image, their versions match.
// Returns false for an inconsistent pair or an answer that is not a version at all.
bool consistent_pair(flagd::Reader& reader, flagd::Handle a, flagd::Handle b, flagd::Evaluation<std::string>& ea,
                     flagd::Evaluation<std::string>& eb) {
  reader.evaluate(a, std::string_view("none"), ea);
  reader.evaluate(b, std::string_view("none"), eb);
  if (ea.generation == 0) return true;  // nothing published yet
  const std::uint64_t va = parse_version(ea.value), vb = parse_version(eb.value);
  if (va == 0 || vb == 0) return false;
  return ea.generation != eb.generation || va == vb;
}

struct ReaderReport {
  std::uint64_t reads = 0;
  std::uint64_t inconsistent = 0;
};

volatile std::sig_atomic_t stop_reading = 0;

[[noreturn]] void run_reader(const std::string& segment, int report_fd) {
  std::signal(SIGTERM, [](int) { stop_reading = 1; });
  auto reader = flagd::Reader::attach(segment);
  if (!reader) _exit(6);
  const flagd::Handle a = reader->resolve("f0"), b = reader->resolve("f" + std::to_string(kFlags - 1));
  flagd::Evaluation<std::string> ea, eb;
  ReaderReport report;
  while (!stop_reading) {
    report.inconsistent += consistent_pair(reader.value(), a, b, ea, eb) ? 0 : 1;
    report.reads += 2;
  }
  if (::write(report_fd, &report, sizeof report) != static_cast<ssize_t>(sizeof report)) _exit(7);
  _exit(0);
}

// The segment's two slot sequence counters, read through a read-only mapping of its prefix.
struct Sequences {
  const std::byte* prefix = nullptr;
  explicit Sequences(const std::string& segment) {
    const int fd = ::open(("/dev/shm/" + segment).c_str(), O_RDONLY);
    if (fd < 0) return;
    void* p = ::mmap(nullptr, sizeof(flagd::layout::SegmentPrefix), PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p != MAP_FAILED) prefix = static_cast<const std::byte*>(p);
  }
  bool any_odd() const {
    for (int s = 0; s < 2; ++s) {
      const std::size_t at = offsetof(flagd::layout::SegmentPrefix, sequence) + s * sizeof(flagd::layout::SlotSequence);
      if (flagd::shared::load<std::uint64_t>(prefix + at) & 1) return true;
    }
    return false;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: flagd_crash FLAGD_BINARY [--kills N]\n");
    return 2;
  }
  const std::string flagd_binary = argv[1];
  int kills = 200;
  if (argc == 4 && std::strcmp(argv[2], "--kills") == 0) kills = std::atoi(argv[3]);

  const std::string segment = flagd::test::unique_segment("crash");
  const std::string dir = std::filesystem::temp_directory_path() / segment;
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/flags.json", log = dir + "/daemon.log";
  boost::interprocess::shared_memory_object::remove(segment.c_str());
  const std::vector<std::string> args{flagd_binary, "--flags", file, "--segment", segment, "--image-capacity", "4"};

  std::uint64_t version = 1;
  write_flags(file, version);
  using flagd::test::eventually;
  using flagd::test::Process;
  Process daemon = Process::spawn(args, log, true);
  auto reader = flagd::Reader::detached(segment);
  if (!eventually([&] { return !reader.try_attach() && reader.generation() >= 1; })) {
    std::fprintf(stderr, "flagd_crash: the daemon did not publish (see %s)\n", log.c_str());
    return 1;
  }
  int fds[2];
  if (::pipe(fds) != 0) return 1;
  const pid_t reader_process = ::fork();
  if (reader_process == 0) run_reader(segment, fds[1]);
  ::close(fds[1]);

  const Sequences sequences(segment);
  const flagd::Handle a = reader.resolve("f0"), b = reader.resolve("f" + std::to_string(kFlags - 1));
  flagd::Evaluation<std::string> ea, eb;
  std::mt19937 random(2026);
  int mid_write = 0, incomplete_after_kill = 0, failed_restarts = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int k = 0; k < kills; ++k) {
    // Reload a few times, then kill at a random point of the last reload.
    const int reloads = 1 + static_cast<int>(random() % 3);
    for (int r = 0; r < reloads; ++r) {
      write_flags(file, ++version);
      ::kill(daemon.pid, SIGHUP);
      if (r + 1 < reloads || k % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(random() % 40000));
    }
    if (k % 4 != 0) {
      // Three kills in four aim at the copy itself: wait (a bounded spin) until the daemon opens a
      // slot's write section, then kill after a random few microseconds more.
      for (long spin = 0; spin < 200'000'000 && !sequences.any_odd(); ++spin) {
      }
      const auto pause = std::chrono::steady_clock::now() + std::chrono::nanoseconds(random() % 20'000);
      while (std::chrono::steady_clock::now() < pause) {
      }
    }
    ::kill(daemon.pid, SIGKILL);
    daemon.wait();
    mid_write += sequences.any_odd() ? 1 : 0;
    // The image readers see now is a complete one.
    if (!consistent_pair(reader, a, b, ea, eb) || ea.generation != eb.generation || ea.reason != flagd::Reason::Static)
      ++incomplete_after_kill;
    // A restarted daemon reopens the segment and serves the file as it is now: it publishes the
    // next generation, or, if the killed one had published this version already, keeps it.
    daemon = Process::spawn(args, log, true);
    if (!eventually([&] {
          reader.evaluate(a, std::string_view("none"), ea);
          const flagd::SegmentStatus status = reader.status();
          return parse_version(ea.value) == version && status.daemon_running != 0 &&
                 status.daemon_pid == static_cast<std::uint32_t>(daemon.pid);
        }))
      ++failed_restarts;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ::kill(daemon.pid, SIGTERM);
  const int daemon_exit = daemon.wait();
  ::kill(reader_process, SIGTERM);
  ReaderReport report;
  const bool got = ::read(fds[0], &report, sizeof report) == static_cast<ssize_t>(sizeof report);
  int reader_status = 0;
  ::waitpid(reader_process, &reader_status, 0);
  const std::uint64_t generation = reader.generation();
  boost::interprocess::shared_memory_object::remove(segment.c_str());
  ::unlink(flagd::segment_lock_path(segment).c_str());
  ::unlink(flagd::segment_link_path(segment).c_str());

  std::printf("kills %d (%d while a slot was being written), incomplete images after a kill %d, failed restarts %d, "
              "final generation %llu, reader process: %llu reads, %llu inconsistent, %.1f s\n",
              kills, mid_write, incomplete_after_kill, failed_restarts, static_cast<unsigned long long>(generation),
              static_cast<unsigned long long>(report.reads), static_cast<unsigned long long>(report.inconsistent),
              seconds);
  const bool ok = got && WIFEXITED(reader_status) && WEXITSTATUS(reader_status) == 0 && report.inconsistent == 0 &&
                  incomplete_after_kill == 0 && failed_restarts == 0 && daemon_exit == 0;
  if (ok) std::filesystem::remove_all(dir);
  else std::fprintf(stderr, "flagd_crash: FAILED (daemon log: %s)\n", log.c_str());
  return ok ? 0 : 1;
}
