// A writer thread publishes as fast as it can while reader threads check that every value they
// read belongs to the generation it came with. Built with ThreadSanitizer in CI as well.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "generation_flags.hpp"
#include "image_builder.hpp"
#include "memory_flags.hpp"

TEST_CASE("readers in other threads never see a mix of two images") {
  constexpr std::uint64_t kGenerations = 3000;
  std::vector<std::vector<std::byte>> images;
  flagd::StableIndex index;
  for (std::uint64_t g = 1; g <= kGenerations; ++g) {
    auto loaded = flagd::load_flag_text(flagd::test::generation_json(g));
    REQUIRE(loaded.ok());
    images.push_back(flagd::build_image(loaded.flags, index, {g, 0}));
  }
  auto segment = std::make_shared<flagd::MemorySegment>(1 << 16);
  flagd::SegmentWriter writer(segment->data());
  REQUIRE(writer.publish(images[0]));
  auto attached = flagd::Reader::over_memory(segment, segment->data(), segment->size());
  REQUIRE(attached);
  flagd::Reader& reader = attached.value();

  std::atomic<bool> done{false};
  std::atomic<int> ready{0};
  std::atomic<std::uint64_t> reads{0}, inconsistent{0};
  std::vector<std::uint64_t> latest(2, 0);
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&, t] {
      flagd::test::GenerationChecker checker(reader);
      std::uint64_t n = 0, bad = 0;
      ready.fetch_add(1);
      do {
        bad += static_cast<std::uint64_t>(checker.round());
        n += 4;
      } while (!done.load(std::memory_order_relaxed));
      reads += n;
      inconsistent += bad;
      latest[static_cast<std::size_t>(t)] = checker.latest_generation();
    });
  while (ready.load() < 2) std::this_thread::yield();  // publish while both readers read
  for (std::size_t g = 1; g < images.size(); ++g) REQUIRE(writer.publish(images[g]));
  done = true;
  for (auto& t : readers) t.join();

  CHECK(inconsistent.load() == 0);
  CHECK(reads.load() > 0);
  flagd::test::GenerationChecker final_check(reader);
  CHECK(final_check.round() == 0);
  CHECK(final_check.latest_generation() == kGenerations);
}

TEST_CASE("overrides set and cleared while other threads evaluate: each answer is one or the other") {
  flagd::test::MemoryFlags flags(
      R"({"flags": {"limit": {"state": "ENABLED", "variants": {"low": 10, "high": 500}, "defaultVariant": "low"},
                    "on": {"state": "ENABLED", "variants": {"t": true, "f": false}, "defaultVariant": "f"}}})");
  flagd::Reader& reader = flags.reader();
  const flagd::Handle limit = reader.resolve("limit");
  const flagd::Handle on = reader.resolve("on");
  std::atomic<bool> done{false};
  std::atomic<int> running{0};
  std::atomic<std::uint64_t> odd{0}, seen_override{0}, seen_file{0};
  std::vector<std::thread> evaluators;
  for (int t = 0; t < 2; ++t)
    evaluators.emplace_back([&] {
      std::uint64_t bad = 0, overridden = 0, plain = 0;
      running.fetch_add(1);
      do {
        const std::int64_t n = reader.get_int(limit, -1);
        bad += n != 10 && n != 500;
        overridden += n == 500;
        plain += n == 10;
        const bool b = reader.get_bool(on, false);  // the inline path, closed while overridden
        overridden += b;
        plain += !b;
      } while (!done.load(std::memory_order_relaxed));
      odd += bad;
      seen_override += overridden;
      seen_file += plain;
    });
  while (running.load() < 2) std::this_thread::yield();  // toggling while both evaluate
  for (int i = 0; i < 2000; ++i) {
    reader.set_override("limit", "high");
    reader.set_override("on", "t");
    std::this_thread::yield();
    reader.clear_overrides();
  }
  done = true;
  for (auto& t : evaluators) t.join();
  CHECK(odd == 0);
  CHECK(seen_file + seen_override >= 4);  // each thread evaluated both flags at least once
  CHECK(reader.get_int(limit, -1) == 10);
  CHECK_FALSE(reader.get_bool(on, true));
}

TEST_CASE("read_together: flags read together come from one generation while a writer publishes") {
  constexpr std::uint64_t kGenerations = 2000;
  flagd::test::MemoryFlags flags(flagd::test::generation_json(1), 1 << 16);
  flagd::Reader& reader = flags.reader();
  const flagd::Handle number = reader.resolve("gen-num");
  const flagd::Handle text = reader.resolve("gen-str");
  std::vector<std::string> images;
  for (std::uint64_t g = 2; g <= kGenerations; ++g) images.push_back(flagd::test::generation_json(g));
  std::atomic<bool> done{false};
  std::atomic<int> running{0};
  std::atomic<std::uint64_t> rounds{0}, mixed{0}, refused{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&] {
      std::string s;
      std::uint64_t n = 0, bad = 0, gave_up = 0;
      running.fetch_add(1);
      do {
        std::int64_t g = 0;
        const bool together = reader.read_together([&] {
          g = reader.get_int(number, -1);
          reader.get_string(text, "", s);
        });
        gave_up += together ? 0 : 1;
        bad += together && s != flagd::test::generation_text(static_cast<std::uint64_t>(g));
        ++n;
      } while (!done.load(std::memory_order_relaxed));
      rounds += n;
      mixed += bad;
      refused += gave_up;
    });
  while (running.load() < 2) std::this_thread::yield();
  for (const std::string& image : images) flags.publish(image);
  done = true;
  for (auto& t : readers) t.join();
  CHECK(mixed == 0);
  CHECK(rounds >= 2);
  CHECK(refused < rounds);
  INFO("rounds " << rounds << ", runs that gave up " << refused);
  CHECK(reader.get_int(number, -1) == static_cast<std::int64_t>(kGenerations));
}
