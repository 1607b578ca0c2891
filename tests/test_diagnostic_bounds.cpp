// What a load's diagnostics cost: positions from a line index built once, and at most
// limits::kMaxDiagnosticsPerKind listed of each kind, with the rest counted.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostic.hpp"
#include "flag_loader.hpp"
#include "flagd/limits.hpp"

using flagd::Diagnostic;
using flagd::LineIndex;
using flagd::limits::kMaxDiagnosticsPerKind;

namespace {

std::string at(LineIndex& index, std::size_t offset) {
  std::uint32_t line = 0, column = 0;
  index.locate(offset, line, column);
  return std::to_string(line) + ":" + std::to_string(column);
}

// One flag a line, each with an unknown member "x": a schema violation apiece (a warning to the
// daemon). Line 1 is '{"flags": {'.
std::vector<std::string> flag_lines(std::size_t count) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < count; ++i)
    lines.push_back("  \"f" + std::to_string(i) + R"(": {"state": "ENABLED", "variants": {"on": true}, "x": 1})");
  return lines;
}

std::string document(const std::vector<std::string>& lines) {
  std::string text = "{\"flags\": {\n";
  for (std::size_t i = 0; i < lines.size(); ++i) text += lines[i] + (i + 1 < lines.size() ? ",\n" : "\n");
  return text + "}}\n";
}

std::string column_of(const std::string& line, std::string_view what) {
  return std::to_string(line.find(what) + 1);
}

}  // namespace

TEST_CASE("LineIndex locates offsets on the first line, at a newline, on a last line without one, and past the end") {
  LineIndex index("ab\ncd\n\nef");
  CHECK(at(index, 0) == "1:1");
  CHECK(at(index, 1) == "1:2");
  CHECK(at(index, 2) == "1:3");  // the newline ends line 1
  CHECK(at(index, 3) == "2:1");
  CHECK(at(index, 5) == "2:3");
  CHECK(at(index, 6) == "3:1");  // an empty line: only its newline
  CHECK(at(index, 7) == "4:1");
  CHECK(at(index, 8) == "4:2");
  CHECK(at(index, 9) == "4:3");    // the end of a last line without a newline
  CHECK(at(index, 900) == "4:3");  // past the end: the end
  CHECK(at(index, 0) == "1:1");    // asked again after the index is built

  LineIndex ends_with_newline("ab\n");
  CHECK(at(ends_with_newline, 2) == "1:3");
  CHECK(at(ends_with_newline, 3) == "2:1");
  CHECK(at(ends_with_newline, 4) == "2:1");

  LineIndex empty("");
  CHECK(at(empty, 0) == "1:1");
  CHECK(at(empty, 5) == "1:1");
}

TEST_CASE("LineIndex agrees with counting newlines from the start at every offset") {
  const std::string text = "{\n  \"a\": 1,\r\n\n\n  \"b\": [true,\n false]\n}";
  LineIndex index(text);
  for (std::size_t offset = 0; offset <= text.size() + 2; ++offset) {
    std::uint32_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < std::min(offset, text.size()); ++i)
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    const std::size_t column = std::min(offset, text.size()) - line_start + 1;
    INFO("offset " << offset);
    CHECK(at(index, offset) == std::to_string(line) + ":" + std::to_string(column));
  }
}

TEST_CASE("DiagnosticLimiter lists the first of each kind, a kind being a severity and a message template") {
  flagd::DiagnosticLimiter limiter;
  for (std::size_t i = 0; i < kMaxDiagnosticsPerKind; ++i) {
    const std::string key = "k" + std::to_string(i) + "\"quoted\"";
    REQUIRE(limiter.admit(Diagnostic::Severity::Error, "duplicate key \"" + key + "\""));
  }
  CHECK_FALSE(limiter.admit(Diagnostic::Severity::Error, "duplicate key \"another\""));
  CHECK_FALSE(limiter.admit(Diagnostic::Severity::Error, "duplicate key \"\""));
  CHECK(limiter.admit(Diagnostic::Severity::Warning, "duplicate key \"another\""));  // other severity
  CHECK(limiter.admit(Diagnostic::Severity::Error, "a flag key must not be empty"));  // other template
  for (std::size_t i = 0; i < kMaxDiagnosticsPerKind; ++i)  // numbers are set aside too
    limiter.admit(Diagnostic::Severity::Warning, "string of " + std::to_string(i * 7919) + " bytes");
  CHECK_FALSE(limiter.admit(Diagnostic::Severity::Warning, "string of 3 bytes"));

  std::vector<Diagnostic> omitted;
  limiter.report_omitted("f.json", omitted);
  REQUIRE(omitted.size() == 2);  // in the order the kinds first appeared; kinds under the limit have none
  CHECK(flagd::format(omitted[0]) ==
        "f.json: error: 2 more errors not listed, like: duplicate key \"k0\"quoted\"\" (a file lists at most 100 "
        "of each kind)");
  CHECK(flagd::format(omitted[1]) ==
        "f.json: warning: 1 more warning not listed, like: string of 0 bytes (a file lists at most 100 of each "
        "kind)");
}

TEST_CASE("a file with 50,000 warnings loads, listing the first of them where they are and counting the rest") {
  const std::vector<std::string> lines = flag_lines(50'000);
  const auto result = flagd::load_flag_text(document(lines), "flags.json");
  REQUIRE(result.ok());
  CHECK(result.flags.flags.size() == 50'000);
  REQUIRE(result.diagnostics.size() == kMaxDiagnosticsPerKind + 1);
  for (std::size_t i = 0; i < kMaxDiagnosticsPerKind; ++i) {
    INFO("warning " << i);
    CHECK(flagd::format(result.diagnostics[i], flagd::Strictness::Lenient) ==
          "flags.json:" + std::to_string(i + 2) + ":" + column_of(lines[i], "\"x\"") + ": warning: flags.f" +
              std::to_string(i) + ".x: unknown flag member is ignored");
  }
  CHECK(flagd::format(result.diagnostics.back(), flagd::Strictness::Lenient) ==
        "flags.json: warning: 49900 more schema violations not listed, like: unknown flag member is ignored (a file "
        "lists at most 100 of each kind)");
}

TEST_CASE("a file repeating a key 100,000 times fails validation, listing the first repetitions and counting the rest") {
  std::vector<std::string> lines(100'001, R"(  "f": {"state": "ENABLED", "variants": {"on": true}})");
  const auto result = flagd::load_flag_text(document(lines), "flags.json");
  REQUIRE_FALSE(result.ok(flagd::Strictness::Strict));
  REQUIRE(result.diagnostics.size() == kMaxDiagnosticsPerKind + 1);
  for (std::size_t i = 0; i < kMaxDiagnosticsPerKind; ++i) {
    INFO("error " << i);
    CHECK(flagd::format(result.diagnostics[i], flagd::Strictness::Strict) == "flags.json:" + std::to_string(i + 3) +
                                                      ":3: error: flags.f: duplicate key \"f\": the last one counts, as in flagd");
  }
  const Diagnostic& summary = result.diagnostics.back();
  CHECK(summary.severity == Diagnostic::Severity::Violation);  // an error to validate, as the ones it counts
  CHECK(flagd::format(summary, flagd::Strictness::Strict) ==
        "flags.json: error: 99900 more schema violations not listed, like: duplicate key \"f\": the last one counts, "
        "as in flagd (a file lists at most 100 of each kind)");
}

TEST_CASE("each kind and each file has its own count, and errors past the limit still fail the load") {
  std::vector<std::string> lines = flag_lines(150);
  for (std::size_t i = 0; i < 120; ++i)  // a state that is no string besides the unknown member
    lines[i].replace(lines[i].find("\"ENABLED\""), 9, std::to_string(i));
  const std::string text = document(lines);
  const auto one = flagd::load_flag_text(text, "flags.json");
  REQUIRE_FALSE(one.ok());
  std::size_t errors = 0, warnings = 0;
  std::vector<std::string> summaries;
  for (const auto& d : one.diagnostics) {
    if (d.line == 0) summaries.push_back(flagd::format(d, flagd::Strictness::Strict));
    else (d.severity == Diagnostic::Severity::Error ? errors : warnings) += 1;
  }
  CHECK(errors == kMaxDiagnosticsPerKind);
  CHECK(warnings == kMaxDiagnosticsPerKind);
  REQUIRE(summaries.size() == 2);
  CHECK(summaries[0] ==
        "flags.json: error: 50 more schema violations not listed, like: unknown flag member is ignored (a file lists "
        "at most 100 of each kind)");
  CHECK(summaries[1] ==
        "flags.json: error: 20 more errors not listed, like: must be the string \"ENABLED\" or \"DISABLED\", not a "
        "number (a file lists at most 100 of each kind)");
  CHECK(one.flags.flags.size() == 30);  // those with a known state

}

TEST_CASE("each file of a load has its own count") {
  const std::string a = "/tmp/flagd_test_bounds_" + std::to_string(::getpid()) + "_a.json";
  const std::string b = "/tmp/flagd_test_bounds_" + std::to_string(::getpid()) + "_b.json";
  std::ofstream(a) << document(flag_lines(150));
  std::ofstream(b) << document(flag_lines(101));
  const auto result = flagd::load_flag_files({a, b});
  std::remove(a.c_str());
  std::remove(b.c_str());
  REQUIRE(result.ok());
  REQUIRE(result.diagnostics.size() == 2 * (kMaxDiagnosticsPerKind + 1));
  CHECK(result.diagnostics[kMaxDiagnosticsPerKind].message.rfind("50 more schema violations not listed", 0) == 0);
  CHECK(result.diagnostics[kMaxDiagnosticsPerKind + 1].file == b);
  CHECK(result.diagnostics[kMaxDiagnosticsPerKind + 1].line == 2);
  CHECK(result.diagnostics.back().message.rfind("1 more schema violation not listed", 0) == 0);
}
