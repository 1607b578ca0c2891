// Parsing a flag file: simdjson validates and parses into its own tape, which is read once into
// JsonValues (json_value.hpp). Source positions are not tracked while parsing: a small scanner of
// our own finds them, only when a diagnostic needs one (and, for text simdjson rejects, finds
// where the problem is).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "diagnostic.hpp"
#include "json_value.hpp"

namespace flagd {

// The text with ".0" after each integer literal simdjson would read otherwise than Go: beyond 64
// bits (which simdjson refuses), and -0 (which it reads as 0). simdjson then reads the double Go
// reads. Offsets into the text move: take them from the original.
std::string with_integers_as_go_reads_them(std::string_view text);

// How many bytes the JSON value starting at `offset` of valid JSON `text` spans, as written
// (white space inside it included).
std::size_t json_value_bytes(std::string_view text, std::size_t offset) noexcept;

class JsonParser {
 public:
  // Bytes that may be read past the end of a text passed as padded (simdjson's padding).
  static constexpr std::size_t kPadding = 64;

  JsonParser();
  ~JsonParser();
  JsonParser(const JsonParser&) = delete;
  JsonParser& operator=(const JsonParser&) = delete;

  // Parses `text` (the contents of `file`). On failure returns null and sets `error`. The
  // document, and every view into it, stays valid until the next parse; `text` must too. With
  // `padded`, kPadding readable bytes follow the text, which spares simdjson a copy of it.
  // The buffers are kept for the next parse: a reload reuses the memory of the one before.
  const JsonValue* parse(std::string_view text, std::string_view file, Diagnostic& error, bool padded = false);

  // Whether an object of the last parsed document repeats a key (JSON allows it; flag files
  // do not, and the loader then finds and names each repetition).
  bool has_duplicate_keys() const noexcept;

  // The byte offset in the last parsed text of the value or member key numbered `token`. The
  // first call after a parse scans the text once.
  std::uint32_t offset_of(std::uint32_t token);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flagd
