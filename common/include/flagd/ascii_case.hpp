// ASCII letters without regard to case: member names, operator and extension guesses.
#pragma once

namespace flagd {

constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace flagd
