// Objects a rule handles are kept as their JSON text, encoded as flagd's Go engine encodes them
// (flagd/go_json.hpp: keys sorted, Go's escapes and number forms; non-finite numbers, which JSON
// lacks, as NaN, +Inf and -Inf): naming a variant after one is then a copy, and reading a member
// a scan. The text is the evaluator's own copy, but may come from torn image bytes: every scan
// here is bounded by the text and reports what does not parse instead of trusting it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace flagd::detail::json {

inline constexpr std::size_t kBad = static_cast<std::size_t>(-1);

inline bool space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The end of the string token whose opening quote is at `at`, past its closing quote; kBad if
// it has none.
inline std::size_t skip_string(std::string_view text, std::size_t at) noexcept {
  for (std::size_t i = at + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return kBad;
}

// The end of the value that starts at `at` (no leading space); kBad if none does.
inline std::size_t skip_value(std::string_view text, std::size_t at) noexcept {
  if (at >= text.size()) return kBad;
  const char c = text[at];
  if (c == '"') return skip_string(text, at);
  if (c == '{' || c == '[') {
    std::size_t depth = 0;
    for (std::size_t i = at; i < text.size(); ++i) {
      const char x = text[i];
      if (x == '"') {
        i = skip_string(text, i);
        if (i == kBad) return kBad;
        --i;
      } else if (x == '{' || x == '[') {
        ++depth;
      } else if (x == '}' || x == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return kBad;
  }
  std::size_t i = at;
  while (i < text.size() && text[i] != ',' && text[i] != ']' && text[i] != '}' && text[i] != ':' && !space(text[i]))
    ++i;
  return i == at ? kBad : i;
}

// Calls `each(key_token, value)` for the members of the object `text` (its whole text), in order;
// `each` returns false to stop. `key_token` keeps its quotes. False if the text does not parse.
template <class Each>
bool members(std::string_view text, Each&& each) {
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return false;
  std::size_t i = 1;
  if (text[i] == '}') return i + 1 == text.size();
  for (;;) {
    if (i >= text.size() || text[i] != '"') return false;
    const std::size_t key_end = skip_string(text, i);
    if (key_end == kBad || key_end >= text.size() || text[key_end] != ':') return false;
    const std::size_t value_end = skip_value(text, key_end + 1);
    if (value_end == kBad || value_end >= text.size()) return false;
    if (!each(text.substr(i, key_end - i), text.substr(key_end + 1, value_end - key_end - 1))) return true;
    if (text[value_end] == '}') return value_end + 1 == text.size();
    if (text[value_end] != ',') return false;
    i = value_end + 1;
  }
}

// The same for the elements of the array `text`.
template <class Each>
bool elements(std::string_view text, Each&& each) {
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') return false;
  std::size_t i = 1;
  if (text[i] == ']') return i + 1 == text.size();
  for (;;) {
    const std::size_t end = skip_value(text, i);
    if (end == kBad || end >= text.size()) return false;
    if (!each(text.substr(i, end - i))) return true;
    if (text[end] == ']') return end + 1 == text.size();
    if (text[end] != ',') return false;
    i = end + 1;
  }
}

namespace detail {
inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
inline bool hex4(std::string_view s, std::size_t at, std::uint32_t& out) noexcept {
  if (at + 4 > s.size()) return false;
  out = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    const int d = hex_digit(s[at + k]);
    if (d < 0) return false;
    out = out * 16 + static_cast<std::uint32_t>(d);
  }
  return true;
}
}  // namespace detail

// Decodes the string token `token` (with its quotes) through `put(std::string_view)` (false to
// stop); false if it does not parse or `put` stopped. \uXXXX escapes, surrogate pairs included,
// become UTF-8; a lone surrogate U+FFFD, as Go decodes it.
template <class Put>
bool decode_string(std::string_view token, Put&& put) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') return false;
  const std::string_view s = token.substr(1, token.size() - 2);
  std::size_t plain = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] != '\\') {
      ++i;
      continue;
    }
    if (i > plain && !put(s.substr(plain, i - plain))) return false;
    if (i + 1 >= s.size()) return false;
    const char e = s[i + 1];
    char one = 0;
    switch (e) {
      case '"': one = '"'; break;
      case '\\': one = '\\'; break;
      case '/': one = '/'; break;
      case 'b': one = '\b'; break;
      case 'f': one = '\f'; break;
      case 'n': one = '\n'; break;
      case 'r': one = '\r'; break;
      case 't': one = '\t'; break;
      case 'u': break;
      default: return false;
    }
    if (e != 'u') {
      if (!put(std::string_view(&one, 1))) return false;
      i += 2;
      plain = i;
      continue;
    }
    std::uint32_t cp;
    if (!detail::hex4(s, i + 2, cp)) return false;
    i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      std::uint32_t low;
      if (i + 1 < s.size() && s[i] == '\\' && s[i + 1] == 'u' && detail::hex4(s, i + 2, low) && low >= 0xDC00 &&
          low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        i += 6;
      } else {
        cp = 0xFFFD;
      }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      cp = 0xFFFD;
    }
    char utf8[4];
    std::size_t n = 0;
    if (cp < 0x80) {
      utf8[n++] = static_cast<char>(cp);
    } else if (cp < 0x800) {
      utf8[n++] = static_cast<char>(0xC0 | (cp >> 6));
      utf8[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      utf8[n++] = static_cast<char>(0xE0 | (cp >> 12));
      utf8[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      utf8[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      utf8[n++] = static_cast<char>(0xF0 | (cp >> 18));
      utf8[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      utf8[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      utf8[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    }
    if (!put(std::string_view(utf8, n))) return false;
    plain = i;
  }
  return plain == s.size() || put(s.substr(plain));
}

// Whether the string token `token` decodes to exactly `s`.
inline bool string_is(std::string_view token, std::string_view s) noexcept {
  std::size_t at = 0;
  const bool whole = decode_string(token, [&](std::string_view piece) {
    if (s.substr(at, piece.size()) != piece) return false;
    at += piece.size();
    return true;
  });
  return whole && at == s.size();
}

// Compares the string token `token`'s decoded bytes with `s`: <0, 0, >0; `ok` false if the
// token does not parse.
inline int compare_string(std::string_view token, std::string_view s, bool& ok) noexcept {
  std::size_t at = 0;
  int order = 0;
  const bool whole = decode_string(token, [&](std::string_view piece) {
    const std::string_view mine = s.substr(at, piece.size());
    const int c = piece.compare(mine);
    if (c != 0 || mine.size() < piece.size()) {
      order = c != 0 ? (c < 0 ? -1 : 1) : 1;
      return false;
    }
    at += piece.size();
    return true;
  });
  ok = whole || order != 0;
  if (order != 0) return order;
  return at == s.size() ? 0 : -1;
}

// Whether `token` is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
inline bool number_token(std::string_view token) noexcept {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t from = i;
    while (i < token.size() && token[i] >= '0' && token[i] <= '9') ++i;
    return i > from;
  };
  if (i < token.size() && token[i] == '-') ++i;
  if (i < token.size() && token[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < token.size() && token[i] == '.' && (++i, !digits())) return false;
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == token.size();
}

namespace detail {

// Where the compact JSON value at `at` ends, each container nested at most `depth` further
// down; kBad if no well-formed value starts there. One pass over the text.
inline std::size_t well_formed_end(std::string_view text, std::size_t at, std::size_t depth) noexcept {
  if (at >= text.size()) return kBad;
  const auto string_end = [&text](std::size_t from) {
    if (from >= text.size() || text[from] != '"') return kBad;
    const std::size_t end = skip_string(text, from);
    if (end == kBad || !decode_string(text.substr(from, end - from), [](std::string_view) { return true; })) return kBad;
    return end;
  };
  const char c = text[at];
  if (c == '"') return string_end(at);
  if (c == '{' || c == '[') {
    const char close = c == '{' ? '}' : ']';
    std::size_t i = at + 1;
    if (i < text.size() && text[i] == close) return i + 1;
    if (depth == 0) return kBad;
    for (;;) {
      if (c == '{') {
        i = string_end(i);
        if (i == kBad || i >= text.size() || text[i] != ':') return kBad;
        ++i;
      }
      i = well_formed_end(text, i, depth - 1);
      if (i == kBad || i >= text.size()) return kBad;
      if (text[i] == close) return i + 1;
      if (text[i] != ',') return kBad;
      ++i;
    }
  }
  for (const std::string_view literal : {std::string_view("true"), std::string_view("false"), std::string_view("null")})
    if (text.substr(at, literal.size()) == literal) return at + literal.size();
  std::size_t end = at;
  while (end < text.size() && ((text[end] >= '0' && text[end] <= '9') || text[end] == '-' || text[end] == '+' ||
                               text[end] == '.' || text[end] == 'e' || text[end] == 'E'))
    ++end;
  return end != at && number_token(text.substr(at, end - at)) ? end : kBad;
}

}  // namespace detail

// Whether `text` is one compact JSON value (no space between tokens), its containers nested at
// most `depth` deep: what the scans above read correctly. For text that comes from outside the
// image; one pass over it.
inline bool well_formed(std::string_view text, std::size_t depth) noexcept {
  return detail::well_formed_end(text, 0, depth) == text.size();
}


}  // namespace flagd::detail::json
