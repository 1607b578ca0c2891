// One YAML scalar read as flagd reads it. flagd turns a YAML flag file into JSON with
// gopkg.in/yaml.v3 (v3.0.1: resolve.go, decode.go) into Go values, then encoding/json
// (core/pkg/utils/yaml.go), so a scalar's JSON is what yaml.v3's resolver makes of it:
//   plain null, ~, Null, NULL and the empty scalar: null; true/True/TRUE, false/False/FALSE: booleans
//     (yes, no, on, off, y, n stay strings: YAML 1.2's core schema);
//   integers as Go's strconv reads them after yaml.v3 drops every '_': 12, +12, -0x1F, 0o17, 017
//     (octal, YAML 1.1's spelling, which yaml.v3 keeps), 0b101, 1_000; past 64 bits a decimal
//     becomes a float, a hexadecimal a string;
//   floats: 1.5, 1e3, .5, 1. ; .inf, -.inf and .nan are floats encoding/json cannot write, so
//     flagd refuses the file; 1e400 overflows Go's ParseFloat and stays the string "1e400";
//   timestamps (2001-12-14, 2001-12-14T21:59:43.1Z, 2001-12-14 21:59:43): Go time.Time values,
//     which encoding/json writes as RFC 3339 strings ("2001-12-14T00:00:00Z");
//   anything else, and every quoted or block scalar: the string as written.
// A tag forces a type: !!str keeps the text, !!float turns an integer into a float, !!binary
// decodes base64, an unknown tag (!foo) keeps the text; a text that does not fit its tag
// (!!int abc, !!bool yes) is an error, as in yaml.v3.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flagd {

// A scalar's tag as yaml-cpp reports it ("?" plain and untagged, "!" quoted or non-specific,
// "tag:yaml.org,2002:int", "!foo"), sorted into the cases yaml.v3 tells apart.
enum class YamlTag : std::uint8_t {
  Plain,   // a plain scalar, untagged or tagged "!": its text decides
  String,  // quoted or block, or !!str
  Bool,
  Int,
  Float,
  Null,
  Timestamp,
  Binary,
  Merge,  // !!merge
  Other,  // any other tag: yaml.v3 keeps the text as a string
};
YamlTag classify_yaml_tag(std::string_view tag) noexcept;

// A Go time.Time as time.Parse leaves it: the fields as written and the zone's offset.
struct GoTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, nanosecond = 0;
  int offset = 0;    // seconds east of UTC
  bool utc = true;   // "Z" or no zone: time.UTC; otherwise a zone of the offset alone
};

// The Go value yaml.v3 decodes a scalar into.
struct GoScalar {
  enum class Type : std::uint8_t { Null, Bool, Int, Uint, Float, String, Time };
  Type type = Type::String;
  bool boolean = false;
  std::int64_t int_value = 0;
  std::uint64_t uint_value = 0;
  double float_value = 0;
  // String: the decoded bytes of a !!binary (made valid UTF-8 as encoding/json writes them);
  // for every other string the value is the scalar's own text.
  bool decoded = false;
  std::string bytes;
  GoTime time;
  // Whether yaml.v3 tags it !!str or !!merge: a mapping whose keys all are is a string map.
  bool string_tagged = false;
};

// Resolves the scalar `text` under `tag`. False, with the reason in `why`, where yaml.v3
// refuses it (a text that does not fit its tag, invalid base64).
bool resolve_yaml_scalar(YamlTag tag, std::string_view text, GoScalar& out, std::string& why);

// The JSON value encoding/json writes for a resolved scalar, as a double or a string: false for
// the values it refuses (infinities, NaN, a zone offset of 24 hours or more), with the reason.
// `text` is the scalar's own text, used for strings that were not decoded.
enum class JsonScalarKind : std::uint8_t { Null, Bool, Number, String };
JsonScalarKind json_kind(const GoScalar& scalar) noexcept;
bool json_number(const GoScalar& scalar, double& out) noexcept;
bool json_time_text(const GoTime& time, std::string& out, std::string& why);

// The length of the valid UTF-8 sequence at text[at] (at < text.size()), or 0 where it is not
// valid (overlong, a surrogate, past U+10FFFF, cut short): what yaml.v3 refuses in a file and
// what encoding/json replaces, byte by byte, with U+FFFD in a string.
std::size_t utf8_length_at(std::string_view text, std::size_t at) noexcept;

// The key flagd gives a map key it decoded into a Go value other than a string: its
// fmt.Sprintf("%v") (core/pkg/utils/yaml.go convertMapKeys): 1, 1.5, 1e+06, true, <nil>, +Inf,
// "2001-12-14 00:00:00 +0000 UTC". `text` is the scalar's own text, for strings.
std::string go_key_text(const GoScalar& scalar, std::string_view text);

}  // namespace flagd
