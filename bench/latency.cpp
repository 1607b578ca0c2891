// Latency distribution of single evaluations, timed one by one with the TSC, on a segment served
// by the real daemon: once quiet, and once while the daemon publishes a new image about a
// thousand times a second (this tool sends it SIGHUP every millisecond; the daemon re-reads the
// file and publishes each time). Reports p50, p99, p99.9, p99.99 and max in ns, with the timer's
// own overhead measured and subtracted. The measuring thread runs alone on the last CPU, the
// daemon on the others, as a latency-critical process would be deployed.
//
//   build/release/bench/latency [--samples N] [--cdf PREFIX]
//
// --cdf writes PREFIX-<mode>-<evaluation>.dat: "ns fraction" lines of the distribution, for plots.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "flagd/reader.hpp"
#include "flagd/segment_name.hpp"

namespace {

// Reads the TSC with the instructions before it finished and none after it started.
inline std::uint64_t ticks() noexcept {
  _mm_lfence();
  const std::uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
}

double calibrate_ticks_per_ns() {
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t c0 = ticks();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto t1 = std::chrono::steady_clock::now();
  const std::uint64_t c1 = ticks();
  return static_cast<double>(c1 - c0) / static_cast<double>(std::chrono::nanoseconds(t1 - t0).count());
}

// Counts per tick of duration, up to kBuckets ticks; longer ones go to the last bucket and max.
class Histogram {
 public:
  static constexpr std::size_t kBuckets = 1u << 20;
  Histogram() : counts_(kBuckets, 0) {}
  void add(std::uint64_t t) noexcept {
    ++counts_[std::min<std::uint64_t>(t, kBuckets - 1)];
    max_ = std::max(max_, t);
    ++total_;
  }
  // The smallest duration that `q` of the samples do not exceed.
  std::uint64_t quantile(double q) const {
    const auto want = static_cast<std::uint64_t>(q * static_cast<double>(total_));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen > want) return i;
    }
    return max_;
  }
  std::uint64_t max() const noexcept { return max_; }
  std::uint64_t total() const noexcept { return total_; }
  void write_cdf(const std::string& path, double ticks_per_ns) const {
    std::ofstream out(path);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      if (counts_[i] == 0) continue;
      seen += counts_[i];
      out << static_cast<double>(i) / ticks_per_ns << ' ' << static_cast<double>(seen) / static_cast<double>(total_)
          << '\n';
    }
  }

 private:
  std::vector<std::uint32_t> counts_;
  std::uint64_t max_ = 0;
  std::uint64_t total_ = 0;
};

// The TSC's step: the smallest nonzero difference between two reads. On AMD Zen it advances in
// steps of about 10 ns (a 100 MHz reference scaled to the TSC rate), which bounds the resolution
// of every single-evaluation figure.
std::uint64_t tsc_step() {
  std::uint64_t step = ~std::uint64_t{0};
  for (int i = 0; i < 10'000; ++i) {
    const std::uint64_t a = __rdtsc();
    std::uint64_t b = __rdtsc();
    while (b == a) b = __rdtsc();
    step = std::min(step, b - a);
  }
  return step;
}

// The timer's overhead: the median of an empty timed region, in ticks.
std::uint64_t timer_overhead(std::uint64_t samples) {
  Histogram h;
  for (std::uint64_t i = 0; i < samples; ++i) {
    const std::uint64_t a = ticks();
    const std::uint64_t b = ticks();
    h.add(b - a);
  }
  return h.quantile(0.5);
}

struct Evaluation {
  const char* name;
  std::function<void()> run;
};

// Times `samples` single calls of each evaluation, each minus the timer's overhead, taking the
// evaluations in turn and an empty call after each round (the floor, last): every row sees the
// same moments of the machine, so a tail the floor shares is the machine's, and what a row adds
// above the floor is the row's own.
std::vector<Histogram> measure(std::uint64_t samples, std::uint64_t overhead, const std::vector<Evaluation>& evaluations) {
  std::vector<Histogram> h(evaluations.size() + 1);
  for (const Evaluation& e : evaluations)
    for (std::uint64_t i = 0; i < 100'000; ++i) e.run();  // warm up
  const std::function<void()> nothing = [] {};
  const auto timed = [&](const std::function<void()>& call, Histogram& into) {
    const std::uint64_t a = ticks();
    call();
    const std::uint64_t b = ticks();
    const std::uint64_t t = b - a;
    into.add(t > overhead ? t - overhead : 0);
  };
  for (std::uint64_t i = 0; i < samples; ++i) {
    for (std::size_t e = 0; e < evaluations.size(); ++e) timed(evaluations[e].run, h[e]);
    timed(nothing, h.back());
  }
  return h;
}

std::string flags_json() {
  std::string s = R"({"flags": {)";
  // 100 flags: small enough for the daemon to reload a thousand times a second.
  for (int i = 0; i < 100; ++i)
    s += "\"flag-" + std::to_string(i) + R"(": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": ")" +
         (i % 2 ? "off" : "on") + "\"},";
  s += R"("price-cap": {"state": "ENABLED", "variants": {"low": 100, "high": 250.5}, "defaultVariant": "low"},)";
  s += R"("one-condition": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
          "targeting": {"if": [{"==": [{"var": "country"}, "DE"]}, "on", "off"]}}}})";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t samples = 10'000'000;
  std::string cdf;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
      samples = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--cdf") == 0 && i + 1 < argc) {
      cdf = argv[++i];
    } else {
      std::fprintf(stderr, "usage: latency [--samples N] [--cdf PREFIX]\n");
      return 2;
    }
  }

  const std::string segment = "flagd-latency-" + std::to_string(::getpid());
  const std::string file = "/tmp/" + segment + ".json";
  std::ofstream(file) << flags_json();
  flagd::test::Process daemon = flagd::test::Process::spawn(
      {FLAGD_BINARY, "--flags", file, "--segment", segment}, "/tmp/" + segment + ".log");
  auto reader = flagd::Reader::detached(segment);
  bool pinned = false;
  cpu_set_t pinned_elsewhere;
  CPU_ZERO(&pinned_elsewhere);
  if (!flagd::test::eventually([&] { return !reader.try_attach() && reader.generation() >= 1; })) {
    std::fprintf(stderr, "latency: the daemon did not publish (see /tmp/%s.log)\n", segment.c_str());
    return 1;
  }

  // As a latency-critical process would be deployed: the measuring thread alone on the last CPU,
  // the daemon (and this tool's SIGHUP thread) on the others.
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  if (cpus >= 2) {
    cpu_set_t mine, others;
    CPU_ZERO(&mine);
    CPU_ZERO(&others);
    CPU_SET(cpus - 1, &mine);
    for (int c = 0; c < cpus - 1; ++c) CPU_SET(c, &others);
    ::sched_setaffinity(daemon.pid, sizeof others, &others);
    ::sched_setaffinity(0, sizeof mine, &mine);
    pinned_elsewhere = others;
    pinned = true;
  }
  const double per_ns = calibrate_ticks_per_ns();
  const std::uint64_t overhead = timer_overhead(1'000'000);
  const std::uint64_t step = tsc_step();
  std::printf("TSC: %.3f ticks per ns (calibrated against steady_clock over 200 ms), advancing in steps of %.1f ns, "
              "the resolution of every figure; timer overhead %.1f ns (median of an empty timed region: lfence, rdtsc, "
              "lfence twice), subtracted from every sample; %llu samples per row\n",
              per_ns, static_cast<double>(step) / per_ns, static_cast<double>(overhead) / per_ns,
              static_cast<unsigned long long>(samples));

  const flagd::Handle bool_flag = reader.resolve("flag-50");
  const flagd::Handle number_flag = reader.resolve("price-cap");
  const flagd::Handle rule_flag = reader.resolve("one-condition");
  flagd::Context context;
  context.set("country", "DE");
  volatile bool sink_bool = false;
  volatile double sink_number = 0;
  volatile std::uint64_t sink_generation = 0;
  const std::vector<Evaluation> evaluations{
      // The least a read of the segment costs: one seqlock-guarded word of the image header.
      // Its tail beside the floor's is what touching shared memory adds, whatever is evaluated.
      {"the segment's smallest read, generation()", [&] { sink_generation = reader.generation(); }},
      {"static boolean, get_bool(handle)", [&] { sink_bool = reader.get_bool(bool_flag, false); }},
      {"static number, get_double(handle)", [&] { sink_number = reader.get_double(number_flag, 0.0); }},
      {"one-condition rule, get_bool(handle, context)", [&] { sink_bool = reader.get_bool(rule_flag, context, false); }},
  };

  std::printf("\n| mode | evaluation | p50 | p99 | p99.9 | p99.99 | max |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
  for (const bool reloading : {false, true}) {
    std::atomic<bool> stop{false};
    std::thread hup;
    const std::uint64_t generation_before = reader.generation();
    const auto started = std::chrono::steady_clock::now();
    if (reloading) {
      hup = std::thread([&] {
        if (pinned) ::pthread_setaffinity_np(pthread_self(), sizeof pinned_elsewhere, &pinned_elsewhere);
        auto next = std::chrono::steady_clock::now();
        while (!stop.load(std::memory_order_relaxed)) {
          ::kill(daemon.pid, SIGHUP);
          next += std::chrono::milliseconds(1);
          std::this_thread::sleep_until(next);
        }
      });
    }
    const auto row = [&](const char* name, const Histogram& h) {
      const auto ns = [&](std::uint64_t t) { return static_cast<double>(t) / per_ns; };
      std::printf("| %s | %s | %.1f | %.1f | %.1f | %.1f | %.0f |\n", reloading ? "reloading" : "quiet", name,
                  ns(h.quantile(0.5)), ns(h.quantile(0.99)), ns(h.quantile(0.999)), ns(h.quantile(0.9999)), ns(h.max()));
      if (!cdf.empty()) {
        std::string stem = name;
        stem = stem.substr(0, stem.find(','));
        stem = stem.substr(0, stem.find(':'));
        for (char& c : stem)
          if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
        h.write_cdf(cdf + "-" + (reloading ? "reloading" : "quiet") + "-" + stem + ".dat", per_ns);
      }
    };
    const std::vector<Histogram> h = measure(samples, overhead, evaluations);
    for (std::size_t e = 0; e < evaluations.size(); ++e) row(evaluations[e].name, h[e]);
    row("floor: an empty call, timed in turn with the rows above", h.back());
    stop = true;
    if (hup.joinable()) hup.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::uint64_t published = reader.generation() - generation_before;
    std::printf("|  | (%s: %llu images published in %.2f s, %.0f per second) | | | | | |\n",
                reloading ? "reloading" : "quiet", static_cast<unsigned long long>(published), seconds,
                static_cast<double>(published) / seconds);
  }
  ::kill(daemon.pid, SIGTERM);
  daemon.wait();
  std::remove(file.c_str());
  std::remove(("/tmp/" + segment + ".log").c_str());
  ::shm_unlink(segment.c_str());
  ::unlink(flagd::segment_lock_path(segment).c_str());
  return 0;
}
