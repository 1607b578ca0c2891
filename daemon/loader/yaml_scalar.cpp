#include "yaml_scalar.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "flagd/ascii_case.hpp"
#include "flagd/go_number.hpp"

namespace flagd {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Go's strconv.ParseUint(s, base, 64), for base 0 (a 0b, 0o, 0x or 0 prefix picks the base) or
// an explicit base. yaml.v3 has removed every '_' before it asks.
bool go_parse_uint(std::string_view s, int base, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  if (base == 0) {
    base = 10;
    if (s[0] == '0') {
      if (s.size() >= 3 && ascii_lower(s[1]) == 'b') base = 2, s.remove_prefix(2);
      else if (s.size() >= 3 && ascii_lower(s[1]) == 'o') base = 8, s.remove_prefix(2);
      else if (s.size() >= 3 && ascii_lower(s[1]) == 'x') base = 16, s.remove_prefix(2);
      else base = 8, s.remove_prefix(1);
    }
  }
  std::uint64_t n = 0;
  for (char c : s) {
    int d = 0;
    if (is_digit(c)) d = c - '0';
    else if (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'z') d = ascii_lower(c) - 'a' + 10;
    else return false;
    if (d >= base) return false;
    if (n > (std::numeric_limits<std::uint64_t>::max() - static_cast<unsigned>(d)) / static_cast<unsigned>(base))
      return false;  // out of range
    n = n * static_cast<unsigned>(base) + static_cast<unsigned>(d);
  }
  out = n;
  return true;
}

// Go's strconv.ParseInt(s, base, 64): an optional sign, then ParseUint.
bool go_parse_int(std::string_view s, int base, std::int64_t& out) noexcept {
  if (s.empty()) return false;
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::uint64_t magnitude = 0;
  if (!go_parse_uint(s, base, magnitude)) return false;
  constexpr std::uint64_t kLimit = std::uint64_t{1} << 63;
  if (negative ? magnitude > kLimit : magnitude >= kLimit) return false;
  out = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
  return true;
}

// Go's strconv.ParseFloat(s, 64) on a decimal text already known to be well formed: false only
// when it overflows (Go answers ±Inf and an error; an underflow to zero is no error).
bool parse_decimal(std::string_view s, double& out) {
  const std::string copy(s[0] == '+' ? s.substr(1) : s);
  errno = 0;
  const double d = std::strtod(copy.c_str(), nullptr);
  if (std::isinf(d)) return false;
  out = d;
  return true;
}

// yaml.v3's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool yaml_style_float(std::string_view s) noexcept {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    return i > start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  } else {
    if (!digits()) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

std::string without_underscores(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (c != '_') out += c;
  return out;
}

// Go's time.getnum: one or two digits.
bool get_number(std::string_view& s, int& out) noexcept {
  if (s.empty() || !is_digit(s[0])) return false;
  if (s.size() < 2 || !is_digit(s[1])) {
    out = s[0] - '0';
    s.remove_prefix(1);
    return true;
  }
  out = (s[0] - '0') * 10 + (s[1] - '0');
  s.remove_prefix(2);
  return true;
}

bool take(std::string_view& s, char c) noexcept {
  if (s.empty() || s[0] != c) return false;
  s.remove_prefix(1);
  return true;
}

int days_in_month(int month, int year) noexcept {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// Go's time.Parse of one of yaml.v3's timestamp layouts: "2006-1-2T15:4:5.999999999Z07:00"
// (separator 'T' or 't', zone required), "2006-1-2 15:4:5.999999999" (separator ' ', no zone,
// UTC) or "2006-1-2" (`separator` 0).
bool parse_go_time(std::string_view s, char separator, GoTime& t) noexcept {
  if (s.size() < 4 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) || !is_digit(s[3])) return false;
  t = GoTime{};
  t.year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  s.remove_prefix(4);
  if (!take(s, '-') || !get_number(s, t.month) || !take(s, '-') || !get_number(s, t.day)) return false;
  if (t.month < 1 || t.month > 12) return false;
  if (separator != 0) {
    // A space in a Go layout matches a run of spaces.
    if (!take(s, separator)) return false;
    while (separator == ' ' && take(s, ' ')) {
    }
    if (!get_number(s, t.hour) || !take(s, ':') || !get_number(s, t.minute) ||
        !take(s, ':') || !get_number(s, t.second))
      return false;
    if (t.hour > 23 || t.minute > 59 || t.second > 59) return false;
    // Any number of fraction digits, after '.' or ','; nanoseconds keep the first nine.
    if (s.size() >= 2 && (s[0] == '.' || s[0] == ',') && is_digit(s[1])) {
      std::size_t n = 1;
      while (n < s.size() && is_digit(s[n])) ++n;
      int scale = 100'000'000;
      for (std::size_t i = 1; i < n && i <= 9; ++i, scale /= 10) t.nanosecond += (s[i] - '0') * scale;
      s.remove_prefix(n);
    }
    if (separator != ' ') {
      if (take(s, 'Z')) {
        t.utc = true;
      } else {
        if (s.size() < 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || !is_digit(s[1]) || !is_digit(s[2]) ||
            !is_digit(s[4]) || !is_digit(s[5]))
          return false;
        const int hours = (s[1] - '0') * 10 + (s[2] - '0');
        const int minutes = (s[4] - '0') * 10 + (s[5] - '0');
        if (hours > 24 || minutes > 60) return false;
        t.offset = (hours * 60 + minutes) * 60 * (s[0] == '-' ? -1 : 1);
        // A zero offset is the local zone's when that is UTC, as it is where flagd runs in a
        // container; the output is then the same as for "Z".
        t.utc = t.offset == 0;
        s.remove_prefix(6);
      }
    }
  }
  if (!s.empty()) return false;
  return t.day >= 1 && t.day <= days_in_month(t.month, t.year);
}

// yaml.v3's parseTimestamp: its four layouts, tried in order, after a quick check for "YYYY-".
bool parse_timestamp(std::string_view s, GoTime& t) noexcept {
  std::size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i != 4 || i == s.size() || s[i] != '-') return false;
  for (char separator : {'T', 't', ' ', '\0'})
    if (parse_go_time(s, separator, t)) return true;
  return false;
}

// Go's base64.StdEncoding.DecodeString: padded, newlines ignored.
bool decode_base64(std::string_view text, std::string& out) {
  std::string s;
  for (char c : text)
    if (c != '\n' && c != '\r') s += c;
  if (s.size() % 4 != 0) return false;
  const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (is_digit(c)) return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out.clear();
  for (std::size_t i = 0; i < s.size(); i += 4) {
    const bool last = i + 4 == s.size();
    const std::size_t pad = last ? (s[i + 3] == '=') + (s[i + 2] == '=' && s[i + 3] == '=') : 0;
    std::uint32_t bits = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const int v = j >= 4 - pad ? 0 : value(s[i + j]);
      if (v < 0) return false;
      bits = bits << 6 | static_cast<std::uint32_t>(v);
    }
    out += static_cast<char>(bits >> 16);
    if (pad < 2) out += static_cast<char>(bits >> 8 & 0xFF);
    if (pad < 1) out += static_cast<char>(bits & 0xFF);
  }
  return true;
}

// encoding/json writes each byte that is not part of valid UTF-8 as U+FFFD.
std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_length_at(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

std::string_view tag_name(YamlTag tag) noexcept {
  switch (tag) {
    case YamlTag::Bool: return "!!bool";
    case YamlTag::Int: return "!!int";
    case YamlTag::Float: return "!!float";
    case YamlTag::Null: return "!!null";
    case YamlTag::Timestamp: return "!!timestamp";
    default: return "!!str";
  }
}

std::string_view type_tag_name(GoScalar::Type type) noexcept {
  switch (type) {
    case GoScalar::Type::Null: return "!!null";
    case GoScalar::Type::Bool: return "!!bool";
    case GoScalar::Type::Int:
    case GoScalar::Type::Uint: return "!!int";
    case GoScalar::Type::Float: return "!!float";
    case GoScalar::Type::Time: return "!!timestamp";
    case GoScalar::Type::String: break;
  }
  return "!!str";
}

// yaml.v3's resolve() on a plain scalar, or one whose tag asks for a type: the value its text
// reads as, before the tag is checked.
void resolve_text(YamlTag tag, std::string_view in, GoScalar& out) {
  out.type = GoScalar::Type::String;
  const auto as_float = [&](double d) {
    out.type = GoScalar::Type::Float;
    out.float_value = d;
  };
  const auto as_int = [&](std::int64_t v) {
    out.type = GoScalar::Type::Int;
    out.int_value = v;
  };
  if (in == "true" || in == "True" || in == "TRUE" || in == "false" || in == "False" || in == "FALSE") {
    out.type = GoScalar::Type::Bool;
    out.boolean = in[0] == 't' || in[0] == 'T';
    return;
  }
  if (in.empty() || in == "~" || in == "null" || in == "Null" || in == "NULL") {
    out.type = GoScalar::Type::Null;
    return;
  }
  for (std::string_view nan : {".nan", ".NaN", ".NAN"})
    if (in == nan) return as_float(std::numeric_limits<double>::quiet_NaN());
  for (std::string_view inf : {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"})
    if (in == inf) return as_float(in[0] == '-' ? -HUGE_VAL : HUGE_VAL);
  if (in == "<<") {
    out.string_tagged = true;  // !!merge
    return;
  }
  double d = 0;
  if (in[0] == '.') {
    // ParseFloat on the text itself: Go's syntax, where '_' may only stand between digits.
    const std::string plain = without_underscores(in);
    if (go::underscores_ok(in) && yaml_style_float(plain) && parse_decimal(plain, d)) as_float(d);
    return;
  }
  if (!is_digit(in[0]) && in[0] != '+' && in[0] != '-') return;
  if (tag == YamlTag::Plain || tag == YamlTag::Timestamp) {
    if (parse_timestamp(in, out.time)) {
      out.type = GoScalar::Type::Time;
      return;
    }
  }
  const std::string plain = without_underscores(in);
  std::int64_t i = 0;
  std::uint64_t u = 0;
  if (go_parse_int(plain, 0, i)) return as_int(i);
  if (go_parse_uint(plain, 0, u)) {
    out.type = GoScalar::Type::Uint;
    out.uint_value = u;
    return;
  }
  if (yaml_style_float(plain) && parse_decimal(plain, d)) return as_float(d);
  const std::string_view p = plain;
  // Binary and octal prefixes again, on what follows them (so "0b-1" is -1, as in yaml.v3).
  for (const auto& [prefix, base] : {std::pair<std::string_view, int>{"0b", 2}, {"0o", 8}}) {
    if (p.substr(0, 2) == prefix) {
      if (go_parse_int(p.substr(2), base, i)) return as_int(i);
      if (go_parse_uint(p.substr(2), base, u)) {
        out.type = GoScalar::Type::Uint;
        out.uint_value = u;
      }
      return;
    }
    if (p.substr(0, 1) == "-" && p.substr(1, 2) == prefix) {
      if (go_parse_int("-" + std::string(p.substr(3)), base, i)) as_int(i);
      return;
    }
  }
}

void append_two(std::string& out, int v) {
  out += static_cast<char>('0' + v / 10 % 10);
  out += static_cast<char>('0' + v % 10);
}

// "2006-01-02" then `separator` then "15:04:05" and the fraction without its trailing zeros.
std::string date_and_time(const GoTime& t, char separator) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d%c%02d:%02d:%02d", t.year, t.month, t.day, separator, t.hour, t.minute,
                t.second);
  std::string out = buf;
  if (t.nanosecond != 0) {
    std::snprintf(buf, sizeof buf, ".%09d", t.nanosecond);
    std::string fraction = buf;
    while (fraction.back() == '0') fraction.pop_back();
    out += fraction;
  }
  return out;
}

}  // namespace

std::size_t utf8_length_at(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) { return b(k) >= lo && b(k) <= hi; };
  const unsigned c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const bool first = c == 0xE0 ? cont(1, 0xA0) : c == 0xED ? cont(1, 0x80, 0x9F) : cont(1);
    return first && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const bool first = c == 0xF0 ? cont(1, 0x90) : c == 0xF4 ? cont(1, 0x80, 0x8F) : cont(1);
    return first && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

YamlTag classify_yaml_tag(std::string_view tag) noexcept {
  if (tag == "?" || tag.empty()) return YamlTag::Plain;
  if (tag == "!") return YamlTag::String;
  constexpr std::string_view kCore = "tag:yaml.org,2002:";
  if (tag.substr(0, kCore.size()) != kCore) return YamlTag::Other;
  const std::string_view name = tag.substr(kCore.size());
  if (name == "str") return YamlTag::String;
  if (name == "bool") return YamlTag::Bool;
  if (name == "int") return YamlTag::Int;
  if (name == "float") return YamlTag::Float;
  if (name == "null") return YamlTag::Null;
  if (name == "timestamp") return YamlTag::Timestamp;
  if (name == "binary") return YamlTag::Binary;
  if (name == "merge") return YamlTag::Merge;
  return YamlTag::Other;
}

bool resolve_yaml_scalar(YamlTag tag, std::string_view text, GoScalar& out, std::string& why) {
  out = GoScalar{};
  switch (tag) {
    case YamlTag::String:
    case YamlTag::Merge:
      out.string_tagged = true;
      return true;
    case YamlTag::Other: return true;
    case YamlTag::Binary:
      if (!decode_base64(text, out.bytes)) {
        why = "the !!binary value holds invalid base64";
        return false;
      }
      out.bytes = valid_utf8(out.bytes);
      out.decoded = true;
      return true;
    default: break;
  }
  resolve_text(tag, text, out);
  if (tag == YamlTag::Plain) {
    out.string_tagged = out.string_tagged || out.type == GoScalar::Type::String;
    return true;
  }
  const std::string_view got = type_tag_name(out.type);
  if (got == tag_name(tag)) return true;
  if (tag == YamlTag::Float && out.type == GoScalar::Type::Int) {
    out.type = GoScalar::Type::Float;
    out.float_value = static_cast<double>(out.int_value);
    return true;
  }
  why = "cannot read " + std::string(got) + " `" + std::string(text.substr(0, 40)) + "` as " +
        std::string(tag_name(tag));
  return false;
}

JsonScalarKind json_kind(const GoScalar& scalar) noexcept {
  switch (scalar.type) {
    case GoScalar::Type::Null: return JsonScalarKind::Null;
    case GoScalar::Type::Bool: return JsonScalarKind::Bool;
    case GoScalar::Type::Int:
    case GoScalar::Type::Uint:
    case GoScalar::Type::Float: return JsonScalarKind::Number;
    case GoScalar::Type::String:
    case GoScalar::Type::Time: break;
  }
  return JsonScalarKind::String;
}

bool json_number(const GoScalar& scalar, double& out) noexcept {
  switch (scalar.type) {
    case GoScalar::Type::Int: out = static_cast<double>(scalar.int_value); return true;
    case GoScalar::Type::Uint: out = static_cast<double>(scalar.uint_value); return true;
    case GoScalar::Type::Float: out = scalar.float_value; return std::isfinite(out);
    default: return false;
  }
}

bool json_time_text(const GoTime& t, std::string& out, std::string& why) {
  out = date_and_time(t, 'T');
  if (t.utc || t.offset == 0) {
    out += 'Z';
    return true;
  }
  const int minutes = std::abs(t.offset) / 60;
  if (minutes / 60 >= 24) {
    why = "its zone offset is 24 hours or more, which Go's JSON encoder refuses";
    return false;
  }
  out += t.offset < 0 ? '-' : '+';
  append_two(out, minutes / 60);
  out += ':';
  append_two(out, minutes % 60);
  return true;
}

std::string go_key_text(const GoScalar& scalar, std::string_view text) {
  switch (scalar.type) {
    case GoScalar::Type::Null: return "<nil>";
    case GoScalar::Type::Bool: return scalar.boolean ? "true" : "false";
    case GoScalar::Type::Int: return std::to_string(scalar.int_value);
    case GoScalar::Type::Uint: return std::to_string(scalar.uint_value);
    case GoScalar::Type::String: return scalar.decoded ? scalar.bytes : std::string(text);
    case GoScalar::Type::Time: {
      // time.Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST"; a zone known only by
      // its offset has the offset for a name.
      std::string out = date_and_time(scalar.time, ' ');
      if (scalar.time.utc) return out + " +0000 UTC";
      const int minutes = std::abs(scalar.time.offset) / 60;
      std::string zone(1, scalar.time.offset < 0 ? '-' : '+');
      append_two(zone, minutes / 60);
      append_two(zone, minutes % 60);
      return out + " " + zone + " " + zone;
    }
    case GoScalar::Type::Float: break;
  }
  // %v of a float64: strconv's 'g' with the shortest digits, in exponent form when the
  // exponent is below -4 or at least 6 (1e+06, 1.5e-05); +Inf, -Inf, NaN.
  const double v = scalar.float_value;
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));  // "-d.ddde+XX"
  const std::size_t e = sci.find('e');
  std::string_view mantissa = sci.substr(0, e);
  int exponent = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+'), sci.data() + sci.size(), exponent);
  std::string sign;
  if (!mantissa.empty() && mantissa[0] == '-') {
    sign = "-";
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  if (exponent < -4 || exponent >= 6) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += exponent < 0 ? "e-" : "e+";
    const int a = std::abs(exponent);
    if (a < 10) out += '0';
    return out + std::to_string(a);
  }
  if (exponent < 0) return sign + "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  const auto point = static_cast<std::size_t>(exponent) + 1;
  if (digits.size() <= point) return sign + digits + std::string(point - digits.size(), '0');
  return sign + digits.substr(0, point) + "." + digits.substr(point);
}

}  // namespace flagd
