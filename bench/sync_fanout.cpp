// Sync fan-out: how long after a change the last of N connected flagd sync clients has it. The
// real daemon runs as a child with --sync-port (so flagd-serve serves the streams); this process
// opens N SyncFlags streams, each on a channel of its own as N providers would, waits for their
// first document, then per sample rewrites the flag file, sends SIGHUP and records when each
// stream receives the new document. Printed per N: the time to the segment's publication (a
// reader here sees it), and to the first, median and last stream, as medians and maxima over the
// samples. With --stalled K, K more streams are opened that never read (their flow-control window
// stays shut, as a wedged client's does), and flagd-serve's resident memory is printed after the
// samples (now and at its peak). --flagd runs the same for each daemon binary given, in turn.
//
//   build/release/bench/sync_fanout [--clients 1,10,50,100] [--samples 20] [--flags 100]
//                                   [--stalled K] [--flagd PATH,PATH...]
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "flagd/reader.hpp"
#include "flagd/sync/v1/sync.grpc.pb.h"
#include "loopback_port.hpp"
#include "named_segment.hpp"
#include "scratch_directory.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = ::flagd::sync::v1;

std::string flag_file(int flags, int round) {
  std::string text = R"({"flags":{"marker":{"state":"ENABLED","variants":{"v":)" + std::to_string(round) +
                     R"(},"defaultVariant":"v"})";
  for (int i = 0; i < flags; ++i)
    text += ",\"flag-" + std::to_string(i) + R"(":{"state":"ENABLED","variants":{"on":true,"off":false},)" +
            R"("defaultVariant":"on","targeting":{"fractional":[["on",50],["off",50]]}})";
  return text + "}}";
}

// One provider's stream: a channel of its own, a thread blocked on Read.
struct Client {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::FlagSyncService::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::SyncFlagsResponse>> reader;
  std::thread thread;
  std::atomic<int> round{-1};          // the marker of the last document received
  std::atomic<long long> at_ns{0};     // when it arrived (steady clock)
};

int marker_of(const std::string& document) {
  static constexpr std::string_view kBefore = R"("marker":{"state":"ENABLED","defaultVariant":"v","variants":{"v":)";
  const std::size_t at = document.find(kBefore);
  if (at == std::string::npos) return -1;
  return std::atoi(document.c_str() + at + kBefore.size());
}

long long now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::vector<std::string> items(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

std::vector<int> numbers(const std::string& list) {
  std::vector<int> out;
  for (const std::string& item : items(list)) out.push_back(std::atoi(item.c_str()));
  return out;
}

// A line of /proc/PID/status in MiB ("VmRSS", "VmHWM"), -1 if there is none.
double status_mib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(field + ":")) return std::atof(line.c_str() + field.size() + 1) / 1024.0;
  return -1;
}

// The flagd-serve the daemon `parent` started, 0 if none runs.
pid_t serve_child(pid_t parent) {
  std::ifstream in("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// A stream that never reads: the server's write to it cannot complete.
struct StalledClient {
  std::unique_ptr<v1::FlagSyncService::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::SyncFlagsResponse>> reader;

  explicit StalledClient(std::uint16_t port, int index) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("flagd.bench.stalled", index);
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);  // the window stays at its first 64 KiB
    args.SetMaxReceiveMessageSize(-1);
    stub = v1::FlagSyncService::NewStub(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args));
    context.set_wait_for_ready(true);
    reader = stub->SyncFlags(&context, v1::SyncFlagsRequest());
    reader->WaitForInitialMetadata();  // sent with the server's first write: the stream is open
  }
  ~StalledClient() {
    context.TryCancel();
    reader->Finish();
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> client_counts = {1, 10, 50, 100};
  std::vector<std::string> binaries = {FLAGD_BINARY};
  int samples = 20, flags = 100, stalled = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--clients") client_counts = numbers(argv[i + 1]);
    else if (arg == "--samples") samples = std::atoi(argv[i + 1]);
    else if (arg == "--flags") flags = std::atoi(argv[i + 1]);
    else if (arg == "--stalled") stalled = std::atoi(argv[i + 1]);
    else if (arg == "--flagd") binaries = items(argv[i + 1]);
  }
  std::printf("flags=%d (document %zu bytes) samples=%d stalled=%d; milliseconds from SIGHUP, median (max) over the "
              "samples\n",
              flags, flag_file(flags, 0).size(), samples, stalled);
  for (const std::string& binary : binaries) {
    std::printf("%s\n%8s %18s %18s %18s %18s %22s\n", binary.c_str(), "clients", "segment", "first client",
                "median client", "last client", "flagd-serve MiB (peak)");
    for (const int n : client_counts) {
      flagd::test::SegmentFiles segment("sync-fanout");
      flagd::test::ScratchDirectory directory("flagd-sync-fanout");
      const std::string path = directory.path() + "/flags.json";
      std::ofstream(path) << flag_file(flags, 0);
      const std::uint16_t port = flagd::test::free_loopback_port();
      flagd::test::Process daemon = flagd::test::Process::spawn(
          {binary, "--flags", path, "--segment", segment.name, "--sync-port", std::to_string(port),
           "--sync-document", directory.path() + "/sync.json"},
          directory.path() + "/daemon.log");
      // The daemon stops whichever way this round ends.
      struct StopDaemon {
        flagd::test::Process& daemon;
        ~StopDaemon() {
          if (daemon.pid > 0) {
            ::kill(daemon.pid, SIGTERM);
            daemon.wait();
          }
        }
      } stop_daemon{daemon};
      std::optional<flagd::Reader> reader;
      flagd::test::eventually([&] {
        auto r = flagd::Reader::attach(segment.name);
        if (r && r->generation() > 0) reader.emplace(std::move(r).value());
        return reader.has_value();
      });
      if (!reader) {
        std::fprintf(stderr, "the daemon did not publish; its log:\n%s\n", flagd::test::read_file(daemon.log).c_str());
        return 1;
      }
      const flagd::Handle marker = reader->resolve("marker");

      std::vector<std::unique_ptr<Client>> clients;
      for (int c = 0; c < n; ++c) {
        auto client = std::make_unique<Client>();
        grpc::ChannelArguments args;
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own, as a provider has
        args.SetInt("flagd.bench.client", c);
        args.SetMaxReceiveMessageSize(-1);
        client->channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                                    grpc::InsecureChannelCredentials(), args);
        client->stub = v1::FlagSyncService::NewStub(client->channel);
        Client* raw = client.get();
        raw->thread = std::thread([raw] {
          v1::SyncFlagsRequest request;
          raw->context.set_wait_for_ready(true);  // flagd-serve may not listen yet
          raw->reader = raw->stub->SyncFlags(&raw->context, request);
          v1::SyncFlagsResponse response;
          while (raw->reader->Read(&response)) {
            raw->at_ns = now_ns();
            raw->round = marker_of(response.flag_configuration());
          }
        });
        clients.push_back(std::move(client));
      }
      std::vector<std::unique_ptr<StalledClient>> wedged;
      for (int c = 0; c < stalled; ++c) wedged.push_back(std::make_unique<StalledClient>(port, c));
      const bool connected = flagd::test::eventually([&] {
        return std::all_of(clients.begin(), clients.end(), [](const auto& c) { return c->round.load() == 0; });
      });
      if (!connected) {
        std::fprintf(stderr, "not every client got the first document\n");
        ::kill(daemon.pid, SIGTERM);
        daemon.wait();
        std::_Exit(1);  // the clients' threads are blocked in their streams: not joined
      }

      std::vector<double> published_ms, first_ms, median_ms, last_ms;
      for (int round = 1; round <= samples; ++round) {
        std::ofstream(path, std::ios::trunc) << flag_file(flags, round);
        const long long start = now_ns();
        ::kill(daemon.pid, SIGHUP);
        long long published = 0;
        while (reader->get_int(marker, 0) != round) std::this_thread::yield();
        published = now_ns();
        const bool all = flagd::test::eventually([&] {
          return std::all_of(clients.begin(), clients.end(), [&](const auto& c) { return c->round.load() == round; });
        });
        if (!all) {
          std::fprintf(stderr, "round %d: not every client got the change\n", round);
          ::kill(daemon.pid, SIGTERM);
          daemon.wait();
          std::_Exit(1);  // as above
        }
        std::vector<double> arrivals;
        for (const auto& c : clients) arrivals.push_back(static_cast<double>(c->at_ns.load() - start) / 1e6);
        std::sort(arrivals.begin(), arrivals.end());
        published_ms.push_back(static_cast<double>(published - start) / 1e6);
        first_ms.push_back(arrivals.front());
        median_ms.push_back(arrivals[arrivals.size() / 2]);
        last_ms.push_back(arrivals.back());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // reloads apart, as changes are
      }
      const auto cell = [](const std::vector<double>& v) {
        char text[64];
        std::snprintf(text, sizeof text, "%.2f (%.2f)", median(v), *std::max_element(v.begin(), v.end()));
        return std::string(text);
      };
      const pid_t serve = serve_child(daemon.pid);
      char memory[64];
      std::snprintf(memory, sizeof memory, "%.1f (%.1f)", status_mib(serve, "VmRSS"), status_mib(serve, "VmHWM"));
      std::printf("%8d %18s %18s %18s %18s %22s\n", n, cell(published_ms).c_str(), cell(first_ms).c_str(),
                  cell(median_ms).c_str(), cell(last_ms).c_str(), memory);
      std::fflush(stdout);
      wedged.clear();
      for (const auto& c : clients) {
        c->context.TryCancel();
        c->thread.join();
      }
    }
  }
  return 0;
}
