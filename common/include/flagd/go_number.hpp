// Numbers as flagd's Go engine reads and prints them: strconv.ParseFloat, strconv.FormatFloat
// (the 'f' and %v forms), encoding/json's float encoding, and the float-to-int conversion of
// the amd64 compiler. The loader prints numbers of rules it compiles (var paths, literal
// objects); the reader parses and prints them at evaluation. Nothing allocates or throws.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace flagd::go {

// Enough for any double in any of the forms below ('f' of 5e-324 is 327 bytes).
inline constexpr std::size_t kNumberTextBytes = 400;

// ParseFloat's verdict: Ok; Range (the value overflowed: +-Inf); Syntax (not a number: 0).
enum class ParseStatus : std::uint8_t { Ok, Range, Syntax };

namespace detail {

inline char lower(char c) noexcept { return static_cast<char>(c | 0x20); }

inline bool digit(char c, bool hex) noexcept {
  return (c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f');
}

// Go's underscoreOK: underscores only between digits, or between a base prefix and a digit.
inline bool underscores_ok(std::string_view s) noexcept {
  char saw = '^';
  std::size_t i = 0;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' && (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    if (digit(s[i], hex)) {
      saw = '0';
      continue;
    }
    if (s[i] == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

// For a literal from_chars found out of range: whether it overflows rather than underflows, from
// the place of its first significant digit and its exponent (decimal, or binary for hex).
inline bool overflows(std::string_view digits, bool hex) noexcept {
  std::int64_t magnitude = 0;
  bool seen = false, after_point = false;
  std::size_t i = 0;
  const char exponent_char = hex ? 'p' : 'e';
  const std::int64_t per_digit = hex ? 4 : 1;
  for (; i < digits.size() && lower(digits[i]) != exponent_char; ++i) {
    if (digits[i] == '.') {
      after_point = true;
    } else if (!seen && digits[i] == '0') {
      if (after_point) magnitude -= per_digit;
    } else if (!seen) {
      seen = true;
      if (after_point) magnitude -= per_digit;
    } else if (!after_point) {
      magnitude += per_digit;
    }
  }
  std::int64_t exponent = 0;
  if (i < digits.size()) {
    ++i;
    bool negative = false;
    if (i < digits.size() && (digits[i] == '+' || digits[i] == '-')) negative = digits[i++] == '-';
    for (; i < digits.size() && exponent < 100'000'000; ++i) exponent = exponent * 10 + (digits[i] - '0');
    if (negative) exponent = -exponent;
  }
  return magnitude + exponent > 0;
}

// Go's special(): an optional sign and "inf" or "infinity", or "nan", in any case.
inline bool special(std::string_view s, double& out) noexcept {
  const auto is = [&](std::string_view t, std::string_view word) {
    if (t.size() != word.size()) return false;
    for (std::size_t i = 0; i < t.size(); ++i)
      if (lower(t[i]) != word[i]) return false;
    return true;
  };
  if (is(s, "nan")) {
    out = std::nan("");
    return true;
  }
  double sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  if (is(s, "inf") || is(s, "infinity")) {
    out = sign * HUGE_VAL;
    return true;
  }
  return false;
}

}  // namespace detail

// Go's strconv.underscoreOK, for readers of Go's number syntax beyond ParseFloat (YAML's integers).
using detail::underscores_ok;

// strconv.ParseFloat(s, 64): a sign; decimal digits with '.' and an e exponent, or 0x hex digits
// with a mandatory p exponent; underscores between digits; "inf", "infinity", "nan" in any case.
// A value out of range is +-Inf with Range (an underflow is 0, as Go rounds it); no number at all
// is 0 with Syntax. A number with underscores longer than kNumberTextBytes reads as Syntax (its
// copy without them would not fit).
inline ParseStatus parse_float(std::string_view s, double& out) noexcept {
  out = 0;
  if (detail::special(s, out)) return ParseStatus::Ok;
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  bool hex = false;
  if (body.size() >= 2 && body[0] == '0' && detail::lower(body[1]) == 'x') {
    hex = true;
    body.remove_prefix(2);
  }
  // Go's readFloat grammar, checked here: from_chars accepts a little more (and no underscores).
  bool digits = false, point = false, underscores = false, exponent = false;
  std::size_t i = 0;
  for (; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '_') {
      underscores = true;
    } else if (c == '.') {
      if (point) break;
      point = true;
    } else if (detail::digit(c, hex)) {
      digits = true;
    } else {
      break;
    }
  }
  if (!digits) return ParseStatus::Syntax;
  if (i < body.size() && detail::lower(body[i]) == (hex ? 'p' : 'e')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    bool exponent_digits = false;
    for (; i < body.size() && ((body[i] >= '0' && body[i] <= '9') || body[i] == '_'); ++i) {
      underscores = underscores || body[i] == '_';
      exponent_digits = exponent_digits || body[i] != '_';
    }
    if (!exponent_digits) return ParseStatus::Syntax;
    exponent = true;
  }
  if (i != body.size() || (hex && !exponent)) return ParseStatus::Syntax;
  if (underscores && !detail::underscores_ok(s)) return ParseStatus::Syntax;
  char copy[kNumberTextBytes];
  std::string_view text = body;
  if (underscores) {
    std::size_t n = 0;
    for (char c : body) {
      if (c == '_') continue;
      if (n == sizeof copy) return ParseStatus::Syntax;
      copy[n++] = c;
    }
    text = std::string_view(copy, n);
  }
  double value = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value,
                                 hex ? std::chars_format::hex : std::chars_format::general);
  ParseStatus status = ParseStatus::Ok;
  if (r.ec == std::errc::result_out_of_range) {
    const bool over = detail::overflows(text, hex);
    value = over ? HUGE_VAL : 0.0;
    status = over ? ParseStatus::Range : ParseStatus::Ok;
  } else if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return ParseStatus::Syntax;
  }
  out = negative ? -value : value;
  return status;
}

// int(d) as Go's amd64 code converts it: truncation; NaN and anything outside int64 give the
// "integer indefinite" INT64_MIN.
inline std::int64_t to_int(double d) noexcept {
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<std::int64_t>(d);
}

namespace detail {

// The shortest digits that read back as `d` (finite, not zero), and the decimal exponent of the
// first: d = 0.D1D2... * 10^(point) with point = exponent + 1.
struct Digits {
  char digits[24];
  std::size_t count = 0;
  int exponent = 0;  // of the first digit
};

inline Digits shortest_digits(double d) noexcept {
  Digits out;
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific);
  const char* p = buf;
  for (; p < r.ptr && *p != 'e'; ++p)
    if (*p != '.') out.digits[out.count++] = *p;
  int exponent = 0;
  std::from_chars(p + 1 + (p[1] == '+' ? 1 : 0), r.ptr, exponent);
  out.exponent = exponent;
  return out;
}

inline std::size_t special_text(double d, char* buf) noexcept {
  const char* s = std::isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf";
  const std::size_t n = std::strlen(s);
  std::memcpy(buf, s, n);
  return n;
}

// Go's %e digits: d.ddd, 'e', a sign and at least two exponent digits.
inline std::size_t exponent_text(double d, char* buf) noexcept {
  std::size_t n = 0;
  if (std::signbit(d)) buf[n++] = '-';
  const Digits g = shortest_digits(d);
  buf[n++] = g.digits[0];
  if (g.count > 1) {
    buf[n++] = '.';
    for (std::size_t i = 1; i < g.count; ++i) buf[n++] = g.digits[i];
  }
  buf[n++] = 'e';
  buf[n++] = g.exponent < 0 ? '-' : '+';
  const int e = g.exponent < 0 ? -g.exponent : g.exponent;
  if (e < 10) buf[n++] = '0';
  const auto r = std::to_chars(buf + n, buf + n + 8, e);
  return static_cast<std::size_t>(r.ptr - buf);
}

}  // namespace detail

// strconv.FormatFloat(d, 'f', -1, 64): the shortest digits that read back as d, never an
// exponent ("1000000000000000000000", "0.0000001", "-0", "+Inf", "NaN"). `buf` holds
// kNumberTextBytes.
inline std::size_t format_fixed(double d, char* buf) noexcept {
  if (!std::isfinite(d)) return detail::special_text(d, buf);
  std::size_t n = 0;
  if (std::signbit(d)) buf[n++] = '-';
  if (d == 0) {
    buf[n++] = '0';
    return n;
  }
  const detail::Digits g = detail::shortest_digits(d);
  const auto count = static_cast<int>(g.count);
  if (g.exponent < 0) {
    buf[n++] = '0';
    buf[n++] = '.';
    for (int z = -1; z > g.exponent; --z) buf[n++] = '0';
    for (int i = 0; i < count; ++i) buf[n++] = g.digits[i];
    return n;
  }
  for (int i = 0; i <= g.exponent; ++i) buf[n++] = i < count ? g.digits[i] : '0';
  if (count > g.exponent + 1) {
    buf[n++] = '.';
    for (int i = g.exponent + 1; i < count; ++i) buf[n++] = g.digits[i];
  }
  return n;
}

// encoding/json's float: 'f' from 1e-6 to 1e21, else 'e' without a leading exponent zero
// ("1e+21", "1e-7"). A non-finite number has no JSON text (encoding fails); NaN/+Inf/-Inf here.
inline std::size_t format_json(double d, char* buf) noexcept {
  if (!std::isfinite(d)) return detail::special_text(d, buf);
  const double a = std::fabs(d);
  if (a == 0 || (a >= 1e-6 && a < 1e21)) return format_fixed(d, buf);
  std::size_t n = detail::exponent_text(d, buf);
  if (n >= 4 && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
    buf[n - 2] = buf[n - 1];
    --n;
  }
  return n;
}

// fmt's %v of a float64 (flagd's sem_ver prints numbers so): the shortest digits, with an
// exponent when it is below -4 or at least 6, as 'g' decides for the shortest form: "100000",
// "1e+06", "1.234567e+06", "1e-05".
inline std::size_t format_general(double d, char* buf) noexcept {
  if (!std::isfinite(d)) return detail::special_text(d, buf);
  if (d == 0) return format_fixed(d, buf);
  const detail::Digits g = detail::shortest_digits(d);
  if (g.exponent < -4 || g.exponent >= 6) return detail::exponent_text(d, buf);
  return format_fixed(d, buf);
}

}  // namespace flagd::go
