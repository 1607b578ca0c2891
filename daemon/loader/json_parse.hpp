// Parsing a flag file: simdjson validates and parses; a small scanner of our own then finds the
// source offset of every value (and, for text simdjson rejects, where the problem is).
#pragma once

#include <optional>
#include <string_view>

#include "diagnostic.hpp"
#include "json_value.hpp"

namespace flagd {

// Parses `text` (the contents of `file`). On failure, returns nullopt and sets `error`.
std::optional<JsonValue> parse_json(std::string_view text, std::string_view file, Diagnostic& error);

}  // namespace flagd
