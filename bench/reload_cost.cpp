// What a reload costs against the number of flags: reading, parsing, validating and compiling a
// flag file of mixed types with targeting (load_flag_files, as the daemon calls it), building the
// image and publishing it (Publisher::publish), and the image's bytes per flag; then the delay
// from a publication to a reader in another process seeing its generation.
//
//   build/release/bench/reload_cost [--runs N] [--dat FILE]   # median of N runs (default 5) per size;
//                                                              # FILE gets "flags load_ms publish_ms" lines
//   build/release/bench/reload_cost --write N FILE   # only write the mixed file of N flags (for other loaders)
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <boost/interprocess/shared_memory_object.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "flag_loader.hpp"
#include "json_parse.hpp"
#include "flagd/reader.hpp"
#include "publisher.hpp"
#include "shared_segment.hpp"

namespace {

// Flag i of a mixed file: booleans, strings, numbers and objects, a fifth of them with targeting
// rules of the shapes the targeting benchmark uses.
std::string flag_json(int i) {
  const std::string key = "\"flag-" + std::to_string(i) + "\": ";
  switch (i % 10) {
    case 0: case 1: case 2:
      return key + R"({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"})";
    case 3:
      return key + R"({"state": "ENABLED", "variants": {"a": "blue", "b": "green"}, "defaultVariant": "a",
                        "metadata": {"owner": "team-)" + std::to_string(i % 17) + R"("}})";
    case 4:
      return key + R"({"state": "ENABLED", "variants": {"low": 100, "high": 2500.5}, "defaultVariant": "low"})";
    case 5:
      return key + R"({"state": "DISABLED", "variants": {"cfg": {"limits": [1, 2, 3], "mode": "fast"}}, "defaultVariant": "cfg"})";
    case 6:
      return key + R"({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                        "targeting": {"if": [{"==": [{"var": "country"}, "DE"]}, "on", "off"]}})";
    case 7:
      return key + R"({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                        "targeting": {"fractional": [["on", 25], ["off", 75]]}})";
    case 8:
      return key + R"({"state": "ENABLED", "variants": {"new": "v2", "old": "v1"}, "defaultVariant": "old",
                        "targeting": {"if": [{"and": [{"in": [{"var": "plan"}, ["pro", "team"]]},
                                                      {"sem_ver": [{"var": "version"}, ">=", "2.4.0"]}]}, "new", "old"]}})";
    default:
      return key + R"({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"})";
  }
}

std::string file_of(int flags, bool static_only) {
  std::string s = R"({"flags": {)";
  for (int i = 0; i < flags; ++i) {
    if (i) s += ",";
    s += static_only ? "\"flag-" + std::to_string(i) +
                           R"(": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"})"
                     : flag_json(i);
  }
  return s + "}}";
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Cost {
  double load_ms, publish_ms;
  double read_ms, parse_ms, validate_ms;  // the load's parts, each a difference of medians
  std::uint64_t image_bytes;
};

// Median times of `runs` loads and publications of a file of `flags` flags.
Cost cost_of(int flags, bool static_only, int runs) {
  const std::string path = "/tmp/flagd-reload-cost-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << file_of(flags, static_only);
  flagd::MemorySegment segment(std::uint64_t{256} << 20);
  std::string error;
  auto publisher = flagd::Publisher::resume(segment.data(), error);
  std::vector<double> load, publish, parse, from_text;
  flagd::JsonParser parser;  // kept, as the loader keeps its own
  std::uint64_t bytes = 0;
  const std::string text = file_of(flags, static_only);
  for (int r = 0; r < runs; ++r) {
    // The load's parts: parsing alone, then the whole load from text in memory (parse, validate,
    // compile the rules); the rest of a load from the file is reading and hashing it.
    const auto tp = std::chrono::steady_clock::now();
    flagd::Diagnostic parse_error;
    if (parser.parse(text, "bench.json", parse_error) == nullptr) std::abort();
    parse.push_back(ms_since(tp));
    const auto tt = std::chrono::steady_clock::now();
    if (!flagd::load_flag_text(text, "bench.json").ok()) std::abort();
    from_text.push_back(ms_since(tt));
    const auto t0 = std::chrono::steady_clock::now();
    const flagd::LoadResult loaded = flagd::load_flag_files({path}, flagd::FileTrust::OwnerOrRoot);
    load.push_back(ms_since(t0));
    if (!loaded.ok()) std::abort();
    const auto t1 = std::chrono::steady_clock::now();
    const flagd::PublishOutcome outcome = publisher->publish(loaded.flags, 0);
    publish.push_back(ms_since(t1));
    if (!outcome.published) std::abort();
    bytes = outcome.image_bytes;
  }
  std::remove(path.c_str());
  const double l = median(load), p = median(parse), t = median(from_text);
  return Cost{l, median(publish), std::max(0.0, l - t), p, std::max(0.0, t - p), bytes};
}

// One load and publication of `flags` flags in a fresh process, as a daemon's first: no buffer of
// an earlier load to reuse. Milliseconds.
double first_load_ms(int flags) {
  const std::string path = "/tmp/flagd-reload-first-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << file_of(flags, false);
  int out[2];
  if (::pipe(out) != 0) std::abort();
  const pid_t child = ::fork();
  if (child == 0) {
    flagd::MemorySegment segment(std::uint64_t{256} << 20);
    std::string error;
    auto publisher = flagd::Publisher::resume(segment.data(), error);
    const auto t0 = std::chrono::steady_clock::now();
    const flagd::LoadResult loaded = flagd::load_flag_files({path}, flagd::FileTrust::OwnerOrRoot);
    const bool published = loaded.ok() && publisher->publish(loaded.flags, 0).published;
    const double ms = published ? ms_since(t0) : -1;
    if (::write(out[1], &ms, sizeof ms) != sizeof ms) ::_exit(1);
    ::_exit(0);
  }
  ::close(out[1]);
  double ms = -1;
  if (::read(out[0], &ms, sizeof ms) != sizeof ms) ms = -1;
  ::close(out[0]);
  ::waitpid(child, nullptr, 0);
  std::remove(path.c_str());
  if (ms < 0) std::abort();
  return ms;
}

inline std::uint64_t ticks() noexcept {
  _mm_lfence();
  const std::uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
}

// Publishes `count` small images into a named segment while a reader process, on another CPU,
// spins on the generation and notes the TSC when each appears. Returns the delays in ns, from the
// writer's return from publish() to the reader seeing that generation (0 if it saw it first).
std::vector<double> propagation(int count) {
  const std::string name = "flagd-propagation-" + std::to_string(::getpid());
  boost::interprocess::shared_memory_object::remove(name.c_str());
  std::string error;
  auto segment = flagd::SharedSegment::open_or_create(name, 1 << 20, {}, error);
  auto publisher = flagd::Publisher::resume(segment->data(), error);
  const flagd::LoadResult loaded = flagd::load_flag_text(file_of(10, true));
  publisher->publish(loaded.flags, 0);
  const std::uint64_t first = publisher->generation();
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  const pid_t child = ::fork();
  if (child == 0) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(1, &cpus);
    ::sched_setaffinity(0, sizeof cpus, &cpus);
    auto reader = flagd::Reader::attach(name);
    std::vector<std::uint64_t> seen(static_cast<std::size_t>(count), 0);
    std::uint64_t last = first;
    while (last < first + static_cast<std::uint64_t>(count)) {
      const std::uint64_t g = reader->generation();
      if (g != last) {
        const std::uint64_t t = ticks();
        for (std::uint64_t k = last + 1; k <= g; ++k) seen[k - first - 1] = t;
        last = g;
      }
    }
    (void)!::write(fds[1], seen.data(), seen.size() * 8);
    _exit(0);
  }
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(0, &cpus);
  ::sched_setaffinity(0, sizeof cpus, &cpus);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the reader attaches and spins
  const auto t_calibrate = std::chrono::steady_clock::now();
  const std::uint64_t c0 = ticks();
  std::vector<std::uint64_t> published(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    publisher->publish(loaded.flags, 0);
    published[static_cast<std::size_t>(i)] = ticks();
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // the reader is waiting, not catching up
  }
  const double per_ns = static_cast<double>(ticks() - c0) /
                        static_cast<double>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - t_calibrate).count());
  std::vector<std::uint64_t> seen(static_cast<std::size_t>(count));
  std::size_t got = 0;
  while (got < seen.size() * 8) {
    const ssize_t n = ::read(fds[0], reinterpret_cast<char*>(seen.data()) + got, seen.size() * 8 - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::waitpid(child, nullptr, 0);
  boost::interprocess::shared_memory_object::remove(name.c_str());
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
  ::sched_setaffinity(0, sizeof all, &all);
  std::vector<double> delays;
  for (int i = 0; i < count; ++i) {
    const auto s = seen[static_cast<std::size_t>(i)], p = published[static_cast<std::size_t>(i)];
    delays.push_back(s > p ? static_cast<double>(s - p) / per_ns : 0.0);
  }
  return delays;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  std::string dat;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--dat") == 0 && i + 1 < argc) {
      dat = argv[++i];
    } else if (std::strcmp(argv[i], "--write") == 0 && i + 2 < argc) {
      std::ofstream(argv[i + 2]) << file_of(std::atoi(argv[i + 1]), false);
      return 0;
    } else {
      std::fprintf(stderr, "usage: reload_cost [--runs N] [--dat FILE] | --write N FILE\n");
      return 2;
    }
  }
  std::ofstream plot;
  if (!dat.empty()) plot.open(dat);
  // First loads before anything else, so that each child starts with nothing loaded.
  std::vector<double> first;
  for (const int n : {1000, 10000, 100000}) first.push_back(first_load_ms(n));
  std::printf("| flags | load: read, parse, validate, compile | build the image and publish | total | image bytes | bytes per flag |"
              " load's parts: read and hash | parse | validate and compile | a process's first load and publication |\n"
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  std::size_t row = 0;
  for (const int n : {1000, 10000, 100000}) {
    const Cost c = cost_of(n, false, runs);
    std::printf("| %d mixed | %.2f ms | %.2f ms | %.2f ms | %llu | %.0f | %.2f ms | %.2f ms | %.2f ms | %.2f ms |\n", n,
                c.load_ms, c.publish_ms, c.load_ms + c.publish_ms, static_cast<unsigned long long>(c.image_bytes),
                static_cast<double>(c.image_bytes) / n, c.read_ms, c.parse_ms, c.validate_ms, first[row++]);
    if (plot) plot << n << ' ' << c.load_ms << ' ' << c.publish_ms << ' ' << first[row - 1] << '\n';
  }
  const Cost s = cost_of(10000, true, runs);
  std::printf("| 10000 static booleans | %.2f ms | %.2f ms | %.2f ms | %llu | %.0f | %.2f ms | %.2f ms | %.2f ms | |\n",
              s.load_ms, s.publish_ms, s.load_ms + s.publish_ms, static_cast<unsigned long long>(s.image_bytes),
              static_cast<double>(s.image_bytes) / 10000, s.read_ms, s.parse_ms, s.validate_ms);
  std::printf("(median of %d runs each, as a running daemon reloads: its parser's and image's buffers kept from the "
              "load before; the load's parts are differences of medians: JsonParser::parse alone, load_flag_text minus "
              "it, load_flag_files minus load_flag_text; the last column is one load and publication in a fresh "
              "process, which grows every buffer)\n\n", runs);

  std::vector<double> delays = propagation(2000);
  std::sort(delays.begin(), delays.end());
  const auto at = [&](double q) { return delays[std::min(delays.size() - 1, static_cast<std::size_t>(q * static_cast<double>(delays.size())))]; };
  std::printf("propagation, publish() returned -> a reader process on another CPU sees the generation, %zu publications: "
              "median %.0f ns, p99 %.0f ns, max %.0f ns (TSC steps of about 10 ns)\n",
              delays.size(), at(0.5), at(0.99), delays.back());
  return 0;
}
