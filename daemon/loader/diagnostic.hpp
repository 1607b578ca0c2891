// Load errors and warnings: what, where (file, JSON path, line:column) and why.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace flagd {

struct Diagnostic {
  // Error: the document cannot be loaded as flagd would load it (flagd refuses it too).
  // Violation: it breaks flagd's schema, or is surely not what its author meant, yet flagd loads
  //   it; so does the daemon (the flag answers as flagd's engine answers it), while
  //   `flagctl validate` and `flagd --strict` treat it as an error.
  // Warning: worth saying, never an error.
  enum class Severity : std::uint8_t { Error, Violation, Warning };
  Severity severity = Severity::Error;
  std::string file;
  std::string json_path;   // e.g. "flags.new-checkout.variants"; empty for the whole file
  std::uint32_t line = 0;  // 1-based; 0 when unknown
  std::uint32_t column = 0;
  std::string message;
};

// How violations are treated: as warnings (what flagd loads, loads) or as errors.
enum class Strictness : std::uint8_t { Lenient, Strict };

// `s` in double quotes: how a message quotes text from the file (which DiagnosticLimiter sets
// aside when it sorts messages into kinds).
inline std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// "flags.json:12:7: error: flags.new-checkout.variants: <message>"
// Violations as errors unless said: as `flagctl validate` prints them.
std::string format(const Diagnostic& d, Strictness strictness = Strictness::Strict);

// Whether a diagnostic, or any of them, is an error under `strictness`.
bool is_error(const Diagnostic& d, Strictness strictness) noexcept;
bool has_errors(const std::vector<Diagnostic>& diagnostics, Strictness strictness) noexcept;

// Positions in one text. The line starts are found on the first call to locate (a text without
// diagnostics never pays for them), and each position after is a binary search: locating every
// diagnostic by scanning from the start took minutes for a file with 50,000 warnings.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text) noexcept : text_(text) {}

  // Line and column (1-based, columns counted in bytes) of byte `offset`. A newline belongs to the
  // line it ends; an offset past the end is the end. Texts are under 4 GiB, as parser offsets are.
  void locate(std::size_t offset, std::uint32_t& line, std::uint32_t& column);

 private:
  std::string_view text_;
  std::vector<std::uint32_t> starts_;  // of every line, in order; empty until first asked
};

// Bounds what one file reports: the first limits::kMaxDiagnosticsPerKind of each kind are listed
// and the rest only counted, so that a mistake repeated 100,000 times still gives a report one can
// read, in bounded time. A kind is a severity and a message template: the message with its quoted
// text and its numbers set aside, so "duplicate key \"a\"" and "duplicate key \"b\"" are one kind.
// That keeps the number of kinds bounded too, as long as messages quote every piece of text
// that comes from the file.
class DiagnosticLimiter {
 public:
  // Whether a diagnostic of this severity and message is to be listed; counted either way.
  bool admit(Diagnostic::Severity severity, std::string_view message);

  // For each kind over the limit, in the order the kinds first appeared, one diagnostic of its
  // severity that counts what was left out (an error kind's count is an error: a summary never
  // makes a failing file look clean).
  void report_omitted(std::string_view file, std::vector<Diagnostic>& out) const;

 private:
  struct Kind {
    Diagnostic::Severity severity;
    std::string example;  // the first message of the kind
    std::size_t count = 0;
  };
  std::unordered_map<std::string, std::size_t> index_;  // template -> position in kinds_
  std::vector<Kind> kinds_;
};

// A JSON path with `key` appended: ".key", or ["key"] when the key is not a plain identifier.
std::string path_join(std::string_view path, std::string_view key);
std::string path_index(std::string_view path, std::size_t index);

// A JSON path kept as a chain of steps on the stack and spelled out only when a diagnostic names
// it: building every value's path as a string took a third of a large file's load.
class JsonPath {
 public:
  JsonPath() noexcept = default;  // the document itself
  JsonPath member(std::string_view key) const noexcept { return JsonPath(this, key, 0, false); }
  JsonPath element(std::size_t index) const noexcept { return JsonPath(this, {}, index, true); }
  std::string spelled() const;  // "flags.new-checkout.targeting.if[0]"

 private:
  JsonPath(const JsonPath* parent, std::string_view key, std::size_t index, bool is_index) noexcept
      : parent_(parent), key_(key), index_(index), is_index_(is_index) {}
  const JsonPath* parent_ = nullptr;  // null: the document
  std::string_view key_;
  std::size_t index_ = 0;
  bool is_index_ = false;
};

}  // namespace flagd
