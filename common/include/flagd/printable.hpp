// Text from flag files made safe to print: the one escaping every printer uses (the daemon's log,
// flagctl's listings, statuses and diagnostics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace flagd {

// `text` as it may go to a terminal or a log: flag keys, variant names, paths and messages come
// from flag files that others write, and a key holding "\x1b[2J" or a newline would clear the
// operator's screen or forge a log line. Control characters (C0, DEL, and C1, which terminals
// also obey), bidirectional overrides and line separators are escaped, and so are bytes that are
// not UTF-8 (as \xNN), and the backslash itself, so that an escape in the output is never text
// of the input.
inline std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto continuation = [&](std::size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = byte(i);
    if (c < 0x80) {
      switch (c) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == 0x7F) {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence, checked as Go's utf8.DecodeRune checks it: no overlong forms, no
    // surrogates, nothing above U+10FFFF.
    std::size_t length = 0;
    std::uint32_t point = 0;
    if (c >= 0xC2 && c <= 0xDF && continuation(i + 1)) {
      length = 2;
      point = (c & 0x1Fu) << 6 | (byte(i + 1) & 0x3Fu);
    } else if (c >= 0xE0 && c <= 0xEF && continuation(i + 1) && continuation(i + 2) &&
               !(c == 0xE0 && byte(i + 1) < 0xA0) && !(c == 0xED && byte(i + 1) > 0x9F)) {
      length = 3;
      point = (c & 0x0Fu) << 12 | (byte(i + 1) & 0x3Fu) << 6 | (byte(i + 2) & 0x3Fu);
    } else if (c >= 0xF0 && c <= 0xF4 && continuation(i + 1) && continuation(i + 2) && continuation(i + 3) &&
               !(c == 0xF0 && byte(i + 1) < 0x90) && !(c == 0xF4 && byte(i + 1) > 0x8F)) {
      length = 4;
    }
    if (length == 0) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
      continue;
    }
    const bool control = (point >= 0x80 && point <= 0x9F) || point == 0x200E || point == 0x200F ||
                         (point >= 0x2028 && point <= 0x202E) || (point >= 0x2066 && point <= 0x2069);
    if (control) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(point >> shift) & 15];
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

}  // namespace flagd
