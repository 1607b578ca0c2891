// Text as flagd's Go engine encodes it in JSON (encoding/json, HTML escaping on, as the encoder
// flagd names variants with): the escapes, and the order of an object's keys. The loader encodes
// the literal objects of rules with it, the reader every object or array a rule gives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace flagd::go {

// The length of the valid UTF-8 sequence `s` starts with, 0 if it starts with none (Go's
// utf8.DecodeRuneInString: no overlong forms, no surrogates, nothing above U+10FFFF).
inline std::size_t utf8_sequence(std::string_view s) noexcept {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto tail = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  if (s.empty()) return 0;
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return tail(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!tail(1) || !tail(2)) return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F)) return 0;  // overlong, surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!tail(1) || !tail(2) || !tail(3)) return 0;
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F)) return 0;  // overlong, > U+10FFFF
    return 4;
  }
  return 0;
}

// Appends the JSON escape of `s` (without its quotes) through `put(std::string_view)`, which
// returns false to stop; false if it did. Go's escapes: \" \\ \n \r \t, \u00XX for the other
// control characters and < > &, \u2028 and \u2029, \ufffd for each byte of invalid UTF-8.
template <class Put>
bool escape_json(std::string_view s, Put&& put) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t plain = 0;  // start of the run of bytes copied as they are
  for (std::size_t k = 0; k < s.size();) {
    const auto c = static_cast<unsigned char>(s[k]);
    const char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
    std::string_view piece;
    std::size_t advance = 1;
    if (c == '"') piece = "\\\"";
    else if (c == '\\') piece = "\\\\";
    else if (c == '\n') piece = "\\n";
    else if (c == '\r') piece = "\\r";
    else if (c == '\t') piece = "\\t";
    else if (c < 0x20 || c == '<' || c == '>' || c == '&') piece = {escape, 6};
    else if (c >= 0x80) {
      advance = utf8_sequence(s.substr(k));
      if (advance == 0) {
        piece = "\\ufffd";
        advance = 1;
      } else if (s.substr(k, advance) == "\xe2\x80\xa8") {
        piece = "\\u2028";
      } else if (s.substr(k, advance) == "\xe2\x80\xa9") {
        piece = "\\u2029";
      }
    }
    if (piece.empty()) {
      k += advance;
      continue;
    }
    if (k > plain && !put(s.substr(plain, k - plain))) return false;
    if (!put(piece)) return false;
    k += advance;
    plain = k;
  }
  return plain == s.size() || put(s.substr(plain));
}

// Whether `s` is its own JSON escape (nothing in it escapes).
inline bool escapes_to_itself(std::string_view s) noexcept {
  bool same = true;
  escape_json(s, [&](std::string_view piece) {
    same = piece.data() >= s.data() && piece.data() < s.data() + s.size();
    return same;
  });
  return same;
}

// Go sorts an object's keys by their bytes before encoding it.
inline bool key_before(std::string_view a, std::string_view b) noexcept { return a < b; }

}  // namespace flagd::go
