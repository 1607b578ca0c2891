// The vocabulary of an evaluation result, as flagd and OpenFeature name it.
#pragma once

#include <cstdint>
#include <string_view>

namespace flagd {

enum class Reason : std::uint8_t { Static, Default, TargetingMatch, Disabled, Error };

enum class ErrorCode : std::uint8_t { None, FlagNotFound, ParseError, TypeMismatch, General };

// "STATIC", "DEFAULT", "TARGETING_MATCH", "DISABLED", "ERROR".
std::string_view to_string(Reason reason) noexcept;
// "" for None, else "FLAG_NOT_FOUND", "PARSE_ERROR", "TYPE_MISMATCH", "GENERAL".
std::string_view to_string(ErrorCode code) noexcept;

}  // namespace flagd
