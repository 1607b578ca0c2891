// "No syscalls on the hot path": evaluations run in a child process under SECCOMP_MODE_STRICT,
// where the kernel kills the process (SIGKILL) on any syscall but read, write, _exit and
// sigreturn. The child reports what it evaluated through a pipe and exits with SYS_exit.
#include <catch2/catch.hpp>

#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memory_flags.hpp"
#include "named_segment.hpp"

namespace {

constexpr std::string_view kFlags = R"({"flags": {
  "b": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
  "s": {"state": "ENABLED", "variants": {"x": "a string longer than any small-string buffer"}, "defaultVariant": "x"},
  "n": {"state": "ENABLED", "variants": {"one": 7.5}, "defaultVariant": "one"},
  "o": {"state": "ENABLED", "variants": {"obj": {"k": [1, 2]}}, "defaultVariant": "obj"},
  "d": {"state": "DISABLED", "variants": {"on": true}}}})";

// Returns a checksum of everything evaluated; with `sandbox`, under seccomp after the set-up.
std::uint64_t evaluate_all(flagd::Reader& reader, bool sandbox) {
  const auto b = reader.resolve("b"), s = reader.resolve("s"), n = reader.resolve("n"),
             o = reader.resolve("o"), d = reader.resolve("d"), missing = reader.resolve("missing");
  std::string text, object;
  text.reserve(256);
  object.reserve(256);
  flagd::Evaluation<bool> detailed;
  detailed.variant.reserve(64);
  flagd::Evaluation<std::string> detailed_text;
  detailed_text.value.reserve(256);
  detailed_text.variant.reserve(64);

  if (sandbox && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0) return 0;
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

  const std::uint64_t expected = evaluate_all(reader, false);  // the same work, without seccomp
  REQUIRE(expected > 0);

  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    const std::uint64_t sum = evaluate_all(reader, true);
    (void)!::write(pipe_fds[1], &sum, sizeof sum);
    ::syscall(SYS_exit, 0);  // exit_group, which _exit() uses, is not allowed in strict mode
  }
  ::close(pipe_fds[1]);
  std::uint64_t sum = 0;
  const auto got = ::read(pipe_fds[0], &sum, sizeof sum);
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  INFO("a child killed by SIGKILL made a syscall under seccomp");
  REQUIRE_FALSE(WIFSIGNALED(status));
  REQUIRE(WIFEXITED(status));
  REQUIRE(got == static_cast<ssize_t>(sizeof sum));
  CHECK(sum == expected);
}

TEST_CASE("the seccomp check itself catches a syscall") {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
    (void)::getppid();  // not allowed: the kernel kills the child
    ::syscall(SYS_exit, 0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
}
