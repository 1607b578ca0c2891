// Load errors and warnings: what, where (file, JSON path, line:column) and why.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flagd {

struct Diagnostic {
  enum class Severity : std::uint8_t { Error, Warning };
  Severity severity = Severity::Error;
  std::string file;
  std::string json_path;   // e.g. "flags.new-checkout.variants"; empty for the whole file
  std::uint32_t line = 0;  // 1-based; 0 when unknown
  std::uint32_t column = 0;
  std::string message;
};

// "flags.json:12:7: error: flags.new-checkout.variants: <message>"
std::string format(const Diagnostic& d);

bool has_errors(const std::vector<Diagnostic>& diagnostics) noexcept;

// Line and column (1-based, columns counted in bytes) of byte `offset` in `text`.
void line_column(std::string_view text, std::size_t offset, std::uint32_t& line, std::uint32_t& column);

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
