// Keys, names and messages from flag files reach the operator's terminal (flagctl) and the
// daemon's log escaped by one function, printable() (flagd/printable.hpp): a key holding "\x1b[2J" or a
// newline cannot clear a screen or forge a log record.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>

#include "flagd/printable.hpp"
#include "child_process.hpp"
#include "flagd/segment_name.hpp"
#include "named_segment.hpp"
#include "published_reader.hpp"

namespace {

std::string temp_path(const std::string& name) {
  return "/tmp/flagd-escaping-" + std::to_string(::getpid()) + "-" + name;
}

int flagctl(const std::string& args, std::string& out) {
  const std::string command = std::string(FLAGCTL_BINARY) + " " + args + " 2>&1; echo \"exit=$?\"";
  out = flagd::test::run_capture(command);
  const std::size_t at = out.rfind("exit=");
  return at == std::string::npos ? -1 : std::atoi(out.c_str() + at + 5);
}

// Other than the newlines between lines and the tabs between `flagctl list`'s fields.
bool has_control_characters(std::string_view text) {
  for (char c : text)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7F) return true;
  return false;
}

// A key that clears the screen and starts a line of its own, and a variant whose name does too;
// both expired, so that the daemon's log names the key.
constexpr std::string_view kFlags = R"({"flags": {
  "evil\u001b[2J\nINFO: forged": {"state": "ENABLED", "variants": {"on\u0007": true, "off": false},
                                  "defaultVariant": "off", "metadata": {"expires": "2020-01-01"}},
  "plain": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}
}})";
constexpr std::string_view kEscapedKey = R"(evil\x1b[2J\nINFO: forged)";

}  // namespace

TEST_CASE("printable escapes control characters, line and direction overrides, bad UTF-8 and backslashes") {
  using flagd::printable;
  CHECK(printable("plain key-1.x") == "plain key-1.x");
  CHECK(printable("j\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x9a\x80") == "j\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x9a\x80");
  CHECK(printable("a\x1b[2J\nb\tc\r") == R"(a\x1b[2J\nb\tc\r)");
  CHECK(printable(std::string_view("\0\x7f", 2)) == R"(\x00\x7f)");
  CHECK(printable("back\\slash") == R"(back\\slash)");
  CHECK(printable("\xc2\x9b" "2J") == R"(\u009b2J)");              // C1: CSI
  CHECK(printable("\xe2\x80\xae" "txt") == R"(\u202etxt)");        // right-to-left override
  CHECK(printable("\xe2\x80\xa8") == R"(\u2028)");                 // line separator
  CHECK(printable("\xff\xc3") == R"(\xff\xc3)");                   // not UTF-8
  CHECK(printable("\xc0\xaf") == R"(\xc0\xaf)");                   // overlong
  CHECK(printable("\xed\xa0\x80") == R"(\xed\xa0\x80)");           // a surrogate
}

TEST_CASE("flagctl prints keys and variant names escaped") {
  const std::string file = temp_path("flags.json");
  std::ofstream(file) << kFlags;
  std::string out;
  CHECK(flagctl("expired " + file + " --now 2026-01-01", out) == 1);
  CHECK(out.find(std::string("EXPIRED   ") + std::string(kEscapedKey) + "  expires 2020-01-01") != std::string::npos);
  CHECK_FALSE(has_control_characters(out));

  const std::string segment = flagd::test::unique_segment("escaping");
  boost::interprocess::shared_memory_object::remove(segment.c_str());
  const std::string log = temp_path("daemon.log");
  flagd::test::Process daemon = flagd::test::Process::spawn({FLAGD_BINARY, "--flags", file, "--segment", segment}, log);
  std::optional<flagd::Reader> reader = flagd::test::attach_when_published(segment);
  REQUIRE(reader);
  CHECK(flagd::test::eventually([&] { return reader->status().reloads_ok == 1; }));

  CHECK(flagctl("--segment " + segment + " list", out) == 0);
  INFO(out);
  CHECK(out.find(std::string(kEscapedKey) + "\tboolean\tENABLED\tdefault=off\tvariants=") != std::string::npos);
  CHECK(out.find(R"(on\x07)") != std::string::npos);
  CHECK_FALSE(has_control_characters(out));
  // One line per flag, and the header: the key's newline did not start a line.
  CHECK(std::count(out.begin(), out.end(), '\n') == 3 + 1);  // and flagctl()'s "exit=" line

  ::kill(daemon.pid, SIGTERM);
  daemon.wait();
  const std::string logged = flagd::test::read_file(log);
  INFO(logged);
  CHECK(logged.find(std::string("warning: flag '") + std::string(kEscapedKey) + "' expired on 2020-01-01") !=
        std::string::npos);
  CHECK(logged.find("\nINFO: forged") == std::string::npos);  // no record begins with the forged text
  CHECK_FALSE(has_control_characters(logged));
  // Records are still separated by newlines.
  CHECK(std::count(logged.begin(), logged.end(), '\n') >= 3);
  std::remove(file.c_str());
  std::remove(log.c_str());
  boost::interprocess::shared_memory_object::remove(segment.c_str());
  std::remove(flagd::segment_lock_path(segment).c_str());
  std::remove(flagd::segment_link_path(segment).c_str());
}
