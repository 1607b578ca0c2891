// How fast a change at a remote source reaches a reader: the real daemon runs as a child process
// with one --uri source; this process attaches a flagd::Reader to its segment and, per sample,
// changes the document at the origin and spins on a hot-path evaluation (no sleeps) until it sees
// the new value. Each sample is one end-to-end event across three processes (origin, daemon,
// reader), which a Google Benchmark loop cannot repeat by itself, so this is a program that
// prints median, p90, p99 and max, like bench/latency.cpp.
//
// Cases, each with its own daemon and origin on 127.0.0.1:
//   etcd      an etcd put through etcd's HTTP gateway (POST /v3/kv/put, libcurl, a kept-alive
//             connection), timed from just before the request: the daemon follows etcd's watch
//   etcdctl   the same put made by running `etcdctl put`, timed from just before the spawn
//   grpc      a flagd sync server in this process pushes the document on the daemon's stream
//   http      a new file renamed into nginx's root; the daemon polls it every --poll-interval
//             (1 s), so the latency is the wait for the next poll plus the processing
//
// Where the time goes: the daemon logs when a load starts and when it published (millisecond
// timestamps); nginx logs when it answered. Per sample the program splits the latency into
// origin -> load start (transport, the source, the daemon's main loop), load start -> published
// (parse, validate, cache write, compile, publish: the worker thread) and published -> seen.
//
//   build/release/bench/bench_propagation [--case etcd,etcdctl,grpc,http] [--flags 10,1000]
//       [--samples 200] [--http-samples 20] [--poll-interval 1] [--cache-dir DIR]
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "curl_handle.hpp"
#include "etcd_server.hpp"
#include "flagd/reader.hpp"
#include "named_segment.hpp"
#include "nginx_server.hpp"
#include "scratch_directory.hpp"
#include "sync_test_server.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using flagd::test::Process;
using flagd::test::ScratchDirectory;

std::int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string load_average() {
  std::string text = flagd::test::read_file("/proc/loadavg");
  std::istringstream fields(text);
  std::string one, five, fifteen;
  fields >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// `flags` flags in all: "probe", an integer whose only variant is `probe`, and static booleans.
std::string flag_document(std::size_t flags, std::int64_t probe) {
  std::string text = "{\"flags\":{\"probe\":{\"state\":\"ENABLED\",\"variants\":{\"v\":" + std::to_string(probe) +
                     "},\"defaultVariant\":\"v\"}";
  for (std::size_t i = 1; i < flags; ++i)
    text += ",\"f" + std::to_string(i) +
            "\":{\"state\":\"ENABLED\",\"variants\":{\"on\":true,\"off\":false},\"defaultVariant\":\"on\"}";
  return text + "}}";
}

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t chunk = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) chunk |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (i + 2 < in.size()) chunk |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

// "2026-12-01T20:18:26.389Z" -> Unix milliseconds.
std::optional<std::int64_t> unix_ms_of(const std::string& stamp) {
  std::tm parts{};
  const char* rest = ::strptime(stamp.c_str(), "%Y-%m-%dT%H:%M:%S", &parts);
  if (rest == nullptr || *rest != '.') return std::nullopt;
  return static_cast<std::int64_t>(::timegm(&parts)) * 1000 + std::atoll(rest + 1);
}

// When each generation's load started and when it was published, from the daemon's log.
struct LoadTimes {
  std::int64_t started_ms = 0, published_ms = 0;
};
std::map<std::uint64_t, LoadTimes> load_times(const std::string& log) {
  static const std::regex loading(R"(^(\S+)Z flagd\[\d+\]: info: .*: loading \d+ sources?$)");
  static const std::regex published(R"(^(\S+)Z flagd\[\d+\]: info: .*: published generation (\d+) .*)");
  std::map<std::uint64_t, LoadTimes> out;
  std::istringstream lines(log);
  std::int64_t started = 0;
  std::smatch m;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_match(line, m, loading)) {
      started = unix_ms_of(m[1]).value_or(0);
    } else if (std::regex_match(line, m, published)) {
      out[std::stoull(m[2])] = {started, unix_ms_of(m[1]).value_or(0)};
    }
  }
  return out;
}

// The daemon under test, with its own log, cache and segment, all removed afterwards.
class Daemon {
 public:
  Daemon(const std::string& uri, const std::vector<std::string>& extra, const std::string& cache_dir)
      : directory_("flagd-bench-propagation"),
        segment_("flagd-bench-propagation-" + std::to_string(::getpid()) + "-" + std::to_string(++count_)) {
    flagd::test::remove_segment_files(segment_);
    std::vector<std::string> args = {FLAGD_BINARY, "--uri", uri, "--segment", segment_, "--cache-dir",
                                     cache_dir.empty() ? directory_.path() : cache_dir};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = Process::spawn(args, log_path());
    if (process_.pid <= 0) throw std::runtime_error("cannot start " FLAGD_BINARY);
  }
  ~Daemon() {
    if (process_.pid > 0) {
      ::kill(process_.pid, SIGTERM);
      for (int i = 0; i < 500 && ::waitpid(process_.pid, nullptr, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    process_ = Process();  // SIGKILL if it is still there
    flagd::test::remove_segment_files(segment_);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Attaches once the daemon published a document whose probe is `probe` (bounded, untimed).
  flagd::Reader attach_when(std::int64_t probe) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
      if (auto reader = flagd::Reader::attach(segment_)) {
        const flagd::Handle handle = reader->resolve("probe");
        if (reader->get_int(handle, -1) == probe) return std::move(reader.value());
      }
      if (Clock::now() > deadline || ::waitpid(process_.pid, nullptr, WNOHANG) == process_.pid)
        throw std::runtime_error("the daemon did not publish its source; its log:\n" + log());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::string log() const { return flagd::test::read_file(log_path()); }

 private:
  std::string log_path() const { return directory_ / "daemon.log"; }
  static inline int count_ = 0;
  ScratchDirectory directory_;
  std::string segment_;
  Process process_;
};

// Runs each change on a thread of its own, so that the reader's spin starts before the change
// does and sees a publication that comes before the change's own call returns (an etcdctl
// process outlives the watch event it causes). The change records its start itself.
class Changer {
 public:
  explicit Changer(std::function<void(std::int64_t)> change) : change_(std::move(change)), thread_([this] { run(); }) {}
  ~Changer() {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  Changer(const Changer&) = delete;
  Changer& operator=(const Changer&) = delete;

  void start(std::int64_t probe) {
    std::lock_guard lock(mutex_);
    probe_ = probe;
    done_ = false;
    wake_.notify_all();
  }
  // Waits for the change's call to return; when it started (steady and Unix clocks), and its error.
  struct Started {
    Clock::time_point steady, returned;  // the change started; its call returned
    std::int64_t unix_ns;
    std::string error;
  };
  Started wait() {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return done_; });
    return started_;
  }
  // Called by the change just before it acts.
  void mark() {
    started_.steady = Clock::now();
    started_.unix_ns = unix_now_ns();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return quit_ || probe_ != 0; });
      if (quit_) return;
      const std::int64_t probe = std::exchange(probe_, 0);
      lock.unlock();
      std::string error;
      try {
        change_(probe);
      } catch (const std::exception& e) {
        error = e.what();
      }
      const Clock::time_point returned = Clock::now();
      lock.lock();
      started_.returned = returned;
      started_.error = error;
      done_ = true;
      wake_.notify_all();
    }
  }

  std::function<void(std::int64_t)> change_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::int64_t probe_ = 0;
  bool done_ = false, quit_ = false;
  Started started_{};
  std::thread thread_;
};

struct Sample {
  std::int64_t latency_ns = 0;
  std::int64_t call_ns = 0;  // how long the change's own call took (the put's answer, etcdctl's exit)
  std::int64_t started_unix_ns = 0;
  std::uint64_t generation = 0;
};

double percentile_ms(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

struct CaseResult {
  std::string name;
  std::size_t flags = 0, document_bytes = 0;
  std::vector<double> latency_ms, call_ms, to_load_ms, load_ms, to_seen_ms;
  std::vector<double> started_unix_ms;  // of each sample's change
  std::vector<double> to_origin_answer_ms;  // HTTP: change -> nginx answered the poll that carried it
  std::string load_before, load_after;
};

// Samples: probe values 1..n, each written at the origin by `change`, which calls mark() first.
CaseResult measure(const std::string& name, std::size_t flags, std::size_t samples, Daemon& daemon, Changer& changer,
                   const std::function<void()>& pause) {
  CaseResult result;
  result.name = name;
  result.flags = flags;
  result.document_bytes = flag_document(flags, 1).size();
  result.load_before = load_average();
  flagd::Reader reader = daemon.attach_when(0);
  const flagd::Handle probe = reader.resolve("probe");
  std::vector<Sample> taken;
  for (std::size_t i = 1; i <= samples; ++i) {
    pause();
    const auto value = static_cast<std::int64_t>(i);
    changer.start(value);
    const auto deadline = Clock::now() + std::chrono::seconds(15);
    std::uint64_t spins = 0;
    while (reader.get_int(probe, -1) != value) {
      if ((++spins & 0xFFFFF) == 0 && Clock::now() > deadline) {
        const Changer::Started started = changer.wait();
        throw std::runtime_error(name + ": sample " + std::to_string(i) + " not seen in 15 s" +
                                 (started.error.empty() ? "" : " (the change failed: " + started.error + ")") +
                                 "; the daemon's log:\n" + daemon.log());
      }
    }
    const Clock::time_point seen = Clock::now();
    const std::uint64_t generation = reader.generation();
    const Changer::Started started = changer.wait();
    if (!started.error.empty()) throw std::runtime_error(name + ": the change failed: " + started.error);
    taken.push_back({std::chrono::duration_cast<std::chrono::nanoseconds>(seen - started.steady).count(),
                     std::chrono::duration_cast<std::chrono::nanoseconds>(started.returned - started.steady).count(),
                     started.unix_ns, generation});
  }
  result.load_after = load_average();
  const std::map<std::uint64_t, LoadTimes> times = load_times(daemon.log());
  for (const Sample& s : taken) {
    result.latency_ms.push_back(static_cast<double>(s.latency_ns) / 1e6);
    result.call_ms.push_back(static_cast<double>(s.call_ns) / 1e6);
    result.started_unix_ms.push_back(static_cast<double>(s.started_unix_ns) / 1e6);
    const auto found = times.find(s.generation);
    if (found == times.end() || found->second.started_ms == 0) continue;
    const double started_ms = static_cast<double>(s.started_unix_ns) / 1e6;
    result.to_load_ms.push_back(static_cast<double>(found->second.started_ms) - started_ms);
    result.load_ms.push_back(static_cast<double>(found->second.published_ms - found->second.started_ms));
    result.to_seen_ms.push_back(started_ms + static_cast<double>(s.latency_ns) / 1e6 -
                                static_cast<double>(found->second.published_ms));
  }
  return result;
}

void random_pause(std::mt19937& random, int low_ms, int high_ms) {
  std::uniform_int_distribution<int> pick(low_ms, high_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(pick(random)));
}

CaseResult etcd_case(bool through_etcdctl, std::size_t flags, std::size_t samples, const std::string& cache_dir,
                     std::mt19937& random) {
  flagd::test::EtcdServer etcd;
  const std::string key = "/flagd/bench";
  etcd.put(key, flag_document(flags, 0));
  Daemon daemon("etcd://127.0.0.1:" + std::to_string(etcd.client_port()) + key, {}, cache_dir);
  flagd::curl::Easy easy;
  const std::string url = "http://127.0.0.1:" + std::to_string(etcd.client_port()) + "/v3/kv/put";
  std::string answer, body;
  if (!through_etcdctl) {
    easy.set(CURLOPT_URL, url.c_str());
    easy.set(CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t size, std::size_t n, void* out) -> std::size_t {
      static_cast<std::string*>(out)->append(data, size * n);
      return size * n;
    });
    easy.set_pointer(CURLOPT_WRITEDATA, &answer);
  }
  // Documents are made before the sample starts.
  std::vector<std::string> documents(samples + 1);
  for (std::size_t i = 1; i <= samples; ++i) documents[i] = flag_document(flags, static_cast<std::int64_t>(i));
  Changer* self = nullptr;
  Changer changer([&](std::int64_t probe) {
    const std::string& document = documents[static_cast<std::size_t>(probe)];
    if (through_etcdctl) {
      self->mark();
      const auto outcome = etcd.etcdctl({"put", key, document});
      if (outcome.status != 0) throw std::runtime_error("etcdctl put: " + outcome.output);
      return;
    }
    body = "{\"key\":\"" + base64(key) + "\",\"value\":\"" + base64(document) + "\"}";
    easy.set(CURLOPT_POSTFIELDS, body.c_str());
    answer.clear();
    self->mark();
    const CURLcode code = (::curl_easy_perform)(easy.get());
    if (code != CURLE_OK || easy.info_long(CURLINFO_RESPONSE_CODE) != 200)
      throw std::runtime_error(std::string("POST /v3/kv/put: ") + ::curl_easy_strerror(code) + " " + answer);
  });
  self = &changer;
  return measure(through_etcdctl ? "etcd, `etcdctl put` (a process)" : "etcd, put through the HTTP gateway", flags,
                 samples, daemon, changer, [&] { random_pause(random, 20, 70); });
}

CaseResult grpc_case(std::size_t flags, std::size_t samples, const std::string& cache_dir, std::mt19937& random) {
  flagd::test::SyncTestServer server(flagd::test::free_loopback_port());
  server.start();
  server.push(flag_document(flags, 0));
  Daemon daemon("grpc://127.0.0.1:" + std::to_string(server.port()), {}, cache_dir);
  std::vector<std::string> documents(samples + 1);
  for (std::size_t i = 1; i <= samples; ++i) documents[i] = flag_document(flags, static_cast<std::int64_t>(i));
  Changer* self = nullptr;
  Changer changer([&](std::int64_t probe) {
    self->mark();
    server.push(documents[static_cast<std::size_t>(probe)]);
  });
  self = &changer;
  return measure("gRPC sync stream push", flags, samples, daemon, changer, [&] { random_pause(random, 20, 70); });
}

CaseResult http_case(std::size_t flags, std::size_t samples, int poll_interval_s, const std::string& cache_dir,
                     std::mt19937& random) {
  // When nginx answered each request: $msec is the time of the log write, after the response.
  ScratchDirectory logs("flagd-bench-propagation-nginx");
  flagd::test::NginxConfig config;
  config.http_directives = "  log_format timing '$msec $status $bytes_sent';\n  access_log " + (logs / "timing.log") +
                           " timing;\n";
  flagd::test::NginxServer nginx(config);
  nginx.write_file("flags.json", flag_document(flags, 0));
  Daemon daemon(nginx.url("/flags.json"), {"--poll-interval", std::to_string(poll_interval_s)}, cache_dir);
  std::vector<std::string> documents(samples + 1);
  for (std::size_t i = 1; i <= samples; ++i) documents[i] = flag_document(flags, static_cast<std::int64_t>(i));
  // nginx's ETag and Last-Modified are the file's modification time in whole seconds (and its
  // size): a change of the same size within the second of the last one would look unchanged to
  // a daemon that fetched that one. So each change waits until the clock has left the second of
  // the last change's mtime, by a margin (file times come from a coarse clock, a tick behind).
  // The random pause before puts the changes at random phases of the poll.
  const std::string path = nginx.root() + "/flags.json";
  const auto mtime_s = [&] {
    struct stat info{};
    if (::stat(path.c_str(), &info) != 0) throw std::runtime_error("cannot stat " + path);
    return static_cast<std::int64_t>(info.st_mtim.tv_sec);
  };
  std::int64_t last_mtime_s = mtime_s();  // the first document's
  Changer* self = nullptr;
  Changer changer([&](std::int64_t probe) {
    self->mark();
    nginx.write_file("flags.json", documents[static_cast<std::size_t>(probe)]);
    const std::int64_t written = mtime_s();
    if (written == last_mtime_s) throw std::runtime_error("two changes with one mtime second");
    last_mtime_s = written;
  });
  self = &changer;
  CaseResult result = measure(
      "HTTP poll (--poll-interval " + std::to_string(poll_interval_s) + ")", flags, samples, daemon, changer, [&] {
        random_pause(random, 0, poll_interval_s * 1000);
        for (;;) {
          const std::int64_t now_ms = unix_now_ns() / 1'000'000;
          if (now_ms / 1000 > last_mtime_s && now_ms % 1000 >= 20) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      });
  // origin -> the 200 that carried the change: the first 200 after each change's start.
  std::vector<double> answers;
  std::istringstream lines(flagd::test::read_file(logs / "timing.log"));
  for (std::string line; std::getline(lines, line);) {
    double msec = 0;
    int status = 0;
    if (std::sscanf(line.c_str(), "%lf %d", &msec, &status) == 2 && status == 200) answers.push_back(msec * 1000);
  }
  for (const double started : result.started_unix_ms) {
    const auto answer = std::lower_bound(answers.begin(), answers.end(), started);
    if (answer != answers.end()) result.to_origin_answer_ms.push_back(*answer - started);
  }
  return result;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream parts(text);
  for (std::string part; std::getline(parts, part, ',');) out.push_back(part);
  return out;
}

void print(const CaseResult& r) {
  std::printf("| %s | %zu | %zu | %zu | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f | %s / %s |\n",
              r.name.c_str(), r.flags, r.document_bytes, r.latency_ms.size(), percentile_ms(r.latency_ms, 0.5),
              percentile_ms(r.latency_ms, 0.9), percentile_ms(r.latency_ms, 0.99),
              percentile_ms(r.latency_ms, 1.0), percentile_ms(r.call_ms, 0.5), percentile_ms(r.to_load_ms, 0.5),
              percentile_ms(r.load_ms, 0.5),
              percentile_ms(r.to_seen_ms, 0.5), r.load_before.c_str(), r.load_after.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> cases = {"etcd", "etcdctl", "grpc", "http"};
  std::vector<std::size_t> flag_counts = {10, 1000};
  std::size_t samples = 200, http_samples = 20;
  int poll_interval_s = 1;
  std::string cache_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--case") {
      cases = split(value());
    } else if (arg == "--flags") {
      flag_counts.clear();
      for (const std::string& n : split(value())) flag_counts.push_back(std::stoul(n));
    } else if (arg == "--samples") {
      samples = std::stoul(value());
    } else if (arg == "--http-samples") {
      http_samples = std::stoul(value());
    } else if (arg == "--poll-interval") {
      poll_interval_s = std::stoi(value());
    } else if (arg == "--cache-dir") {
      cache_dir = value();
    } else {
      std::fprintf(stderr,
                   "usage: %s [--case etcd,etcdctl,grpc,http] [--flags 10,1000] [--samples N] [--http-samples N] "
                   "[--poll-interval S] [--cache-dir DIR]\n",
                   argv[0]);
      return 2;
    }
  }
  // EtcdServer sets ETCDCTL_API with setenv: before any thread (gRPC's, libcurl's) reads the environment.
  ::setenv("ETCDCTL_API", "3", 1);
  flagd::curl::global_init();
  std::mt19937 random(std::random_device{}());
  std::printf("origin change -> a reader in another process sees the new value (ms); the columns after max are medians, "
              "the last three from the daemon's log, whose stamps are whole milliseconds\n\n");
  std::printf("| case | flags | document bytes | samples | median | p90 | p99 | max | the change's call | "
              "origin -> load start | load start -> published | published -> seen | load average before / after |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
  std::fflush(stdout);
  int status = 0;
  for (const std::size_t flags : flag_counts) {
    for (const std::string& name : cases) {
      try {
        if (name == "etcd" || name == "etcdctl") {
          print(etcd_case(name == "etcdctl", flags, samples, cache_dir, random));
        } else if (name == "grpc") {
          print(grpc_case(flags, samples, cache_dir, random));
        } else if (name == "http") {
          const CaseResult r = http_case(flags, http_samples, poll_interval_s, cache_dir, random);
          print(r);
          const double bound = poll_interval_s * 1000.0 + 50;
          const auto over = std::count_if(r.latency_ms.begin(), r.latency_ms.end(), [&](double v) { return v > bound; });
          std::printf("|  | (http: %td of %zu samples over poll interval + 50 ms = %.0f ms; change -> nginx answered "
                      "the poll that carried it: median %.1f, max %.1f ms) | | | | | | | | | | | |\n",
                      over, r.latency_ms.size(), bound, percentile_ms(r.to_origin_answer_ms, 0.5),
                      percentile_ms(r.to_origin_answer_ms, 1.0));
        } else {
          std::fprintf(stderr, "unknown case '%s'\n", name.c_str());
          return 2;
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s, %zu flags: %s\n", name.c_str(), flags, e.what());
        status = 1;
      }
    }
  }
  return status;
}
