// "No syscalls on the hot path": evaluations run in a child process under SECCOMP_MODE_STRICT,
// where the kernel kills the process (SIGKILL) on any syscall but read, write, _exit and
// sigreturn. The child reports what it evaluated through a pipe and exits with SYS_exit.
#include <catch2/catch.hpp>

#include <csignal>
#include <string>

#include "confined_child.hpp"
#include "memory_flags.hpp"
#include "named_segment.hpp"

using flagd::test::Confinement;
using flagd::test::run_confined;

namespace {

constexpr std::string_view kFlags = R"({"flags": {
  "b": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
  "s": {"state": "ENABLED", "variants": {"x": "a string longer than any small-string buffer"}, "defaultVariant": "x"},
  "n": {"state": "ENABLED", "variants": {"one": 7.5}, "defaultVariant": "one"},
  "o": {"state": "ENABLED", "variants": {"obj": {"k": [1, 2]}}, "defaultVariant": "obj"},
  "d": {"state": "DISABLED", "variants": {"on": true}},
  "rule": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
           "targeting": {"if": [{"and": [{"ends_with": [{"var": "email"}, "@example.com"]},
                                          {"sem_ver": [{"var": "version"}, ">=", "1.2.0"]}]},
                                 {"fractional": [["on", 50], ["off", 50]]}, "off"]}},
  "clock": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
            "targeting": {"if": [{">": [{"var": "$flagd.timestamp"}, 1700000000]}, "on", "off"]}}}})";

// Returns a checksum of everything evaluated, calling `confine()` after the set-up (0 if it fails).
template <class Confine>
std::uint64_t evaluate_all(flagd::Reader& reader, Confine&& confine) {
  const auto b = reader.resolve("b"), s = reader.resolve("s"), n = reader.resolve("n"),
             o = reader.resolve("o"), d = reader.resolve("d"), missing = reader.resolve("missing"),
             rule = reader.resolve("rule");
  flagd::Context context;
  context.set("email", "ann@example.com").set("version", "1.4.0");
  const std::string keys[] = {"user-1", "user-2", "user-3", "user-4"};
  std::string text, object;
  text.reserve(256);
  object.reserve(256);
  flagd::Evaluation<bool> detailed;
  detailed.variant.reserve(64);
  flagd::Evaluation<std::string> detailed_text;
  detailed_text.value.reserve(256);
  detailed_text.variant.reserve(64);

  if (!confine()) return 0;
  std::uint64_t sum = 0;
  for (int i = 0; i < 100000; ++i) {
    sum += reader.get_bool(b, false);
    sum += reader.get_bool(d, false);
    sum += reader.get_bool(missing, true);
    sum += static_cast<std::uint64_t>(reader.get_int(n, 0));
    sum += static_cast<std::uint64_t>(reader.get_double(n, 0) * 2);
    reader.get_string(s, "", text);
    sum += text.size();
    reader.get_object(o, "{}", object);
    sum += object.size();
    reader.evaluate(b, false, detailed);
    sum += detailed.variant.size();
    reader.evaluate(s, std::string_view(""), detailed_text);
    sum += detailed_text.value.size();
    sum += reader.get_bool("b", false);  // by key: hashing and probing, still no syscall
    context.set_targeting_key(keys[i % 4]);  // a targeting rule: context, semver, clock, hash
    sum += reader.get_bool(rule, context, false) ? 7 : 3;
    sum += reader.generation();
  }
  return sum;
}

}  // namespace

TEST_CASE("evaluations make no syscalls (SECCOMP_MODE_STRICT child)") {
  flagd::test::MemoryFlags flags(kFlags);
  flagd::test::NamedSegment named(flagd::test::unique_segment("seccomp"), flags.segment().data(),
                                  flags.segment().size());
  auto attached = flagd::Reader::attach(named.name);
  REQUIRE(attached);
  flagd::Reader& reader = attached.value();

  const std::uint64_t expected = evaluate_all(reader, [] { return true; });  // the same work, unconfined
  REQUIRE(expected > 0);

  const auto outcome = run_confined(Confinement::Strict, [&](auto confine) { return evaluate_all(reader, confine); });
  INFO("a child killed by SIGKILL made a syscall under seccomp");
  CHECK(outcome.signal == 0);
  REQUIRE(outcome.completed());
  CHECK(outcome.value == expected);
}

// SECCOMP_MODE_STRICT also disables the RDTSC instruction, which the vDSO's clock_gettime uses:
// under it, reading the clock faults even though it makes no syscall. $flagd.timestamp is
// therefore checked under a seccomp filter that allows only write and exit, like strict mode
// but with the timestamp counter left on.
TEST_CASE("rules that read $flagd.timestamp make no syscalls (seccomp filter child)") {
  flagd::test::MemoryFlags flags(kFlags);
  flagd::test::NamedSegment named(flagd::test::unique_segment("seccomp-clock"), flags.segment().data(),
                                  flags.segment().size());
  auto attached = flagd::Reader::attach(named.name);
  REQUIRE(attached);
  flagd::Reader& reader = attached.value();
  const auto clock = reader.resolve("clock");
  const flagd::Context context;
  REQUIRE(reader.get_bool(clock, context, false));

  const auto outcome = run_confined(Confinement::WriteAndExit, [&](auto confine) {
    std::uint64_t on = 0;
    if (confine())
      for (int i = 0; i < 100000; ++i) on += reader.get_bool(clock, context, false);
    return on;
  });
  INFO("a child killed by SIGSYS made a syscall under the filter");
  CHECK(outcome.signal == 0);
  REQUIRE(outcome.completed());
  CHECK(outcome.value == 100000);
}

TEST_CASE("the seccomp check itself catches a syscall") {
  const auto outcome = run_confined(Confinement::Strict, [](auto confine) {
    if (!confine()) return std::uint64_t{0};
    return static_cast<std::uint64_t>(::getppid());  // not allowed: the kernel kills the child
  });
  CHECK(outcome.signal == SIGKILL);
  CHECK_FALSE(outcome.completed());
}
