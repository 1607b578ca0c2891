// Reading one parsed flagd document into flag definitions, as flagd reads it.
//
// flagd decodes a flag file with Go's encoding/json into typed structs, so what it refuses and
// what it loads follows from that decoding, not from its JSON schema (whose violations it only
// logs). This loader draws the same line:
//   - Error: flagd refuses the whole file too: a member of the wrong JSON type (`"state": 1`, a
//     flag that is a number, `variants` that is an array), a `defaultVariant` that names no variant,
//     an empty evaluator; and this project's own limits.
//   - Violation: flagd loads it and the flag answers as flagd's engine answers it: a missing or
//     unknown `state` (served ENABLED), no variants, variants of mixed types or that are arrays or
//     null (TYPE_MISMATCH when asked for), unknown flag members (ignored), member names in another
//     case (Go matches them regardless of case), repeated keys (the last one counts), an unknown
//     operator in a rule (PARSE_ERROR when reached).
//   - Warning: worth saying only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "diagnostic.hpp"
#include "flag_model.hpp"
#include "json_value.hpp"

namespace flagd {

// Where a token of the parsed document (json_value.hpp) is in its text, JSON or YAML.
class TokenLocator {
 public:
  virtual void locate(std::uint32_t token, std::uint32_t& line, std::uint32_t& column) = 0;
  // The bytes the value numbered `token` spans in the text as written, where that is the text
  // flagd reads; nullopt where flagd reads another (YAML, which it converts to JSON first).
  virtual std::optional<std::size_t> source_bytes(std::uint32_t token) = 0;

 protected:
  ~TokenLocator() = default;
};

// What the parser saw of keys repeated in an object, and what flagd makes of them: JSON's last
// one counts (Go's encoding/json), YAML's are refused (yaml.v3).
enum class RepeatedKeys : std::uint8_t { None, LastCounts, Refused };

// Validates one parsed document and appends its flags to `flags`; every problem goes to `out`.
// Repeated keys, if any, are found and named.
void load_document_flags(const JsonValue& root, RepeatedKeys repeated, std::string_view file, TokenLocator& locator,
                         std::vector<FlagDefinition>& flags, std::vector<Diagnostic>& out);

}  // namespace flagd
