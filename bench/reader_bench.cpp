// Evaluation cost of a static boolean flag through this library (handle, by key, detailed), side
// by side with the two designs a C++ team would otherwise write: a std::shared_mutex-guarded
// std::unordered_map and a std::atomic<std::shared_ptr> snapshot of one. Each with one and two
// threads. The segment is a real /dev/shm mapping published by the daemon's own code.
//
//   build/release/bench/reader_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   build/release/bench/reader_bench --threads=1,2,4,8 --benchmark_filter=StaticBool/threads  # scaling
//
// --threads (default 1,2) sets the thread counts of the scaling benchmarks: the reader's static
// boolean and the two peers.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "flag_loader.hpp"
#include "flagd/reader.hpp"
#include "publisher.hpp"
#include "shared_segment.hpp"

namespace {

constexpr int kFlags = 1000;
const std::string kKey = "flag-500";

std::string flags_json() {
  std::string s = R"({"flags": {)";
  for (int i = 0; i < kFlags; ++i)
    s += (i ? "," : "") + std::string("\"flag-") + std::to_string(i) +
         R"(": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": ")" +
         (i % 2 ? "off" : "on") + "\"}";
  // One static flag of each other type, for the per-type rows.
  s += R"(, "max-order-qty": {"state": "ENABLED", "variants": {"normal": 5000, "tight": 100}, "defaultVariant": "normal"})";
  s += R"(, "price-cap": {"state": "ENABLED", "variants": {"low": 99.5, "high": 250.25}, "defaultVariant": "low"})";
  s += R"(, "router": {"state": "ENABLED", "variants": {"a": "router-a", "b": "router-b"}, "defaultVariant": "a"})";
  s += R"(, "limits": {"state": "ENABLED", "variants": {"v": {"max": 10, "venues": ["X", "Y"]}}, "defaultVariant": "v"})";
  return s + "}}";
}

// A named segment published once, and a reader attached to it, shared by every benchmark.
struct Published {
  std::string name = "flagd-bench-" + std::to_string(::getpid());
  std::optional<flagd::Reader> reader;
  flagd::Handle handle;

  Published() {
    std::string error;
    auto segment = flagd::SharedSegment::open_or_create(name, 1 << 20, {}, error);
    auto publisher = flagd::Publisher::resume(segment->data(), error);
    auto loaded = flagd::load_flag_text(flags_json());
    if (!segment || !publisher || !loaded.ok() || !publisher->publish(loaded.flags, 0).published) std::abort();
    reader.emplace(std::move(flagd::Reader::attach(name)).value());
    handle = reader->resolve(kKey);
  }
  ~Published() { boost::interprocess::shared_memory_object::remove(name.c_str()); }
};

Published& published() {
  static Published p;
  return p;
}

// The hardware floor: a seqlock-guarded read of one byte of the same mapping, nothing else.
void BM_Floor_SeqlockByte(benchmark::State& state) {
  auto& p = published();
  const std::byte* base = static_cast<const std::byte*>(nullptr);
  {
    // The reader's mapping is private; map the segment once more for the floor.
    static auto region = [&] {
      namespace ipc = boost::interprocess;
      ipc::shared_memory_object object(ipc::open_only, p.name.c_str(), ipc::read_only);
      return ipc::mapped_region(object, ipc::read_only);
    }();
    base = static_cast<const std::byte*>(region.get_address());
  }
  const std::byte* sequence = base + offsetof(flagd::layout::SegmentPrefix, sequence);
  const std::byte* data = base + flagd::layout::kSlotsOffset + 200;
  for (auto _ : state) {
    const auto before = flagd::shared::load_acquire<std::uint64_t>(sequence);
    const auto value = flagd::shared::load<std::uint8_t>(data);
    flagd::shared::acquire_fence();
    const auto after = flagd::shared::load<std::uint64_t>(sequence);
    benchmark::DoNotOptimize(before == after ? value : std::uint8_t{0});
  }
}
BENCHMARK(BM_Floor_SeqlockByte);

void BM_Handle_StaticBool(benchmark::State& state) {
  auto& p = published();
  const flagd::Reader& reader = *p.reader;
  const flagd::Handle h = p.handle;
  for (auto _ : state) benchmark::DoNotOptimize(reader.get_bool(h, false));
}

void BM_Handle_StaticBool_Detailed(benchmark::State& state) {
  auto& p = published();
  flagd::Evaluation<bool> out;
  for (auto _ : state) {
    p.reader->evaluate(p.handle, false, out);
    benchmark::DoNotOptimize(out.value);
  }
}
BENCHMARK(BM_Handle_StaticBool_Detailed);

// The other static types through a handle: a number as an integer and as a double, a string and an
// object copied into a std::string whose capacity suffices (no allocation).
void BM_Handle_StaticInt(benchmark::State& state) {
  auto& p = published();
  const flagd::Handle h = p.reader->resolve("max-order-qty");
  for (auto _ : state) benchmark::DoNotOptimize(p.reader->get_int(h, 0));
}
BENCHMARK(BM_Handle_StaticInt);

void BM_Handle_StaticDouble(benchmark::State& state) {
  auto& p = published();
  const flagd::Handle h = p.reader->resolve("price-cap");
  for (auto _ : state) benchmark::DoNotOptimize(p.reader->get_double(h, 0.0));
}
BENCHMARK(BM_Handle_StaticDouble);

void BM_Handle_StaticString(benchmark::State& state) {
  auto& p = published();
  const flagd::Handle h = p.reader->resolve("router");
  std::string out;
  out.reserve(64);
  for (auto _ : state) {
    p.reader->get_string(h, "", out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Handle_StaticString);

void BM_Handle_StaticObject(benchmark::State& state) {
  auto& p = published();
  const flagd::Handle h = p.reader->resolve("limits");
  std::string out;
  out.reserve(64);
  for (auto _ : state) {
    p.reader->get_object(h, "{}", out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Handle_StaticObject);

void BM_ByKey_StaticBool(benchmark::State& state) {
  auto& p = published();
  for (auto _ : state) benchmark::DoNotOptimize(p.reader->get_bool(kKey, false));
}
BENCHMARK(BM_ByKey_StaticBool);

// --- what a team would write without this library ------------------------------------------

struct FlagValue {
  bool enabled;
};
using FlagMap = std::unordered_map<std::string, FlagValue>;

FlagMap make_map() {
  FlagMap m;
  for (int i = 0; i < kFlags; ++i) m["flag-" + std::to_string(i)] = FlagValue{i % 2 == 0};
  return m;
}

struct MutexMap {
  std::shared_mutex mutex;
  FlagMap map = make_map();
  bool get(const std::string& key, bool fallback) {
    std::shared_lock lock(mutex);
    auto it = map.find(key);
    return it == map.end() ? fallback : it->second.enabled;
  }
};

struct SnapshotMap {
  std::atomic<std::shared_ptr<const FlagMap>> current{std::make_shared<const FlagMap>(make_map())};
  bool get(const std::string& key, bool fallback) {
    const std::shared_ptr<const FlagMap> snapshot = current.load(std::memory_order_acquire);
    auto it = snapshot->find(key);
    return it == snapshot->end() ? fallback : it->second.enabled;
  }
};

void BM_SharedMutexMap_StaticBool(benchmark::State& state) {
  static MutexMap flags;
  for (auto _ : state) benchmark::DoNotOptimize(flags.get(kKey, false));
}

void BM_AtomicSharedPtrMap_StaticBool(benchmark::State& state) {
  static SnapshotMap flags;
  for (auto _ : state) benchmark::DoNotOptimize(flags.get(kKey, false));
}

// The thread counts of "--threads=1,2,4", removed from the arguments Google Benchmark sees.
std::vector<int> take_thread_counts(int& argc, char** argv) {
  std::vector<int> counts;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--threads=", 0) != 0) {
      argv[kept++] = argv[i];
      continue;
    }
    for (std::size_t at = 10; at < arg.size();) {
      const std::size_t comma = std::min(arg.find(',', at), arg.size());
      const int n = std::atoi(arg.substr(at, comma - at).c_str());
      if (n > 0) counts.push_back(n);
      at = comma + 1;
    }
  }
  argc = kept;
  if (counts.empty()) counts = {1, 2};
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<int> threads = take_thread_counts(argc, argv);
  for (const auto& [name, run] : {std::pair{"BM_Handle_StaticBool", &BM_Handle_StaticBool},
                                  std::pair{"BM_SharedMutexMap_StaticBool", &BM_SharedMutexMap_StaticBool},
                                  std::pair{"BM_AtomicSharedPtrMap_StaticBool", &BM_AtomicSharedPtrMap_StaticBool}}) {
    benchmark::internal::Benchmark* b = benchmark::RegisterBenchmark(name, run);
    for (const int n : threads) b->Threads(n);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
