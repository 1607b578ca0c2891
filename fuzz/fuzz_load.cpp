// libFuzzer target: a flag file as the daemon reads it. Loads, validates and compiles it; if it
// is valid, publishes it into an in-memory segment and evaluates every flag every way, so that
// the compiled rules and their fast forms run too. Crashes, hangs, leaks and reads outside the
// segment are what the fuzzer (with AddressSanitizer and UndefinedBehaviorSanitizer) looks for;
// an error answer without the caller's default is reported as a crash too.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exercise_reader.hpp"
#include "flag_loader.hpp"
#include "publisher.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const flagd::LoadResult loaded = flagd::load_flag_text(text, "fuzz.json");
  for (const flagd::Diagnostic& d : loaded.diagnostics) (void)flagd::format(d);
  if (!loaded.ok()) return 0;

  auto segment = std::make_shared<flagd::MemorySegment>(std::uint64_t{1} << 18);
  std::string error;
  auto publisher = flagd::Publisher::resume(segment->data(), error);
  if (!publisher) __builtin_trap();  // a fresh segment must open
  if (!publisher->publish(loaded.flags, 0).published) return 0;  // larger than the slot
  auto reader = flagd::Reader::over_memory(segment, segment->data(), segment->size());
  if (!reader) __builtin_trap();
  std::vector<std::string> keys{"not-a-flag"};
  for (const auto& flag : loaded.flags.flags) keys.push_back(flag.key);
  if (!flagd::test::exercise_reader(reader.value(), keys)) __builtin_trap();
  return 0;
}
