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

}  // namespace flagd
