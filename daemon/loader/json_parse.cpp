#include "json_parse.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <span>

#include "flagd/limits.hpp"
#include "string_view_table.hpp"

namespace flagd {

namespace {

// Whether an integer literal lies outside simdjson's integers, -2^63 to 2^64-1.
bool beyond_64_bits(const std::string& literal) {
  errno = 0;
  if (literal[0] == '-') {
    (void)std::strtoll(literal.c_str(), nullptr, 10);
  } else {
    (void)std::strtoull(literal.c_str(), nullptr, 10);
  }
  return errno == ERANGE;
}

// Whether the text may hold the integer literal -0 (a "-0" between JSON delimiters): a quick look
// that spares the common file a rewrite; a string that looks so only costs the rewrite.
bool may_hold_negative_zero(std::string_view text) noexcept {
  const auto before = [](char c) { return c == ':' || c == '[' || c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  const auto after = [](char c) { return c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  for (std::size_t at = text.find("-0"); at != std::string_view::npos; at = text.find("-0", at + 2))
    if ((at == 0 || before(text[at - 1])) && (at + 2 == text.size() || after(text[at + 2]))) return true;
  return false;
}

}  // namespace

std::string with_integers_as_go_reads_them(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 64);
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"') {  // copy a string whole, escapes included
      std::size_t end = i + 1;
      while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, text.size());
      out.append(text.substr(i, end - i));
      i = end;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i + 1;
      bool integer = true;
      while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.' ||
                                   text[end] == 'e' || text[end] == 'E' || text[end] == '+' || text[end] == '-')) {
        integer = integer && std::isdigit(static_cast<unsigned char>(text[end]));
        ++end;
      }
      const std::string literal(text.substr(i, end - i));
      out += literal;
      if (integer && (literal == "-0" || beyond_64_bits(literal))) out += ".0";
      i = end;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

namespace {

// Walks JSON text the way the DOM will be walked (pre-order: each value, and each member's key
// before its value), recording offsets. Stops at the first problem, remembering where it is.
class OffsetScanner {
 public:
  explicit OffsetScanner(std::string_view text) : s_(text) {}

  bool run() {
    if (!value(0)) return false;
    skip_space();
    if (pos_ != s_.size()) return fail("unexpected text after the end of the JSON document");
    return true;
  }

  std::vector<std::uint32_t> offsets;
  std::string problem;
  std::size_t problem_at = 0;
  bool big_integers = false;  // an integer literal beyond what 64 bits hold, which simdjson refuses

 private:
  bool fail(std::string why) {
    problem = std::move(why);
    problem_at = pos_;
    return false;
  }
  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }

  bool value(std::size_t depth) {
    skip_space();
    if (pos_ >= s_.size()) return fail("unexpected end of the file: a value is missing");
    offsets.push_back(static_cast<std::uint32_t>(pos_));
    const char c = s_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= limits::kMaxJsonDepth)
        return fail("nesting deeper than " + std::to_string(limits::kMaxJsonDepth) + " levels");
      return c == '{' ? object(depth + 1) : array(depth + 1);
    }
    if (c == '"') return string();
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    for (std::string_view word : {"true", "false", "null"})
      if (s_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return true;
      }
    return fail(std::string("unexpected character '") + printable(c) + "'");
  }

  static std::string printable(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", u);
    return buf;
  }

  bool object(std::size_t depth) {
    ++pos_;
    skip_space();
    if (at('}')) return ++pos_, true;
    for (;;) {
      skip_space();
      if (!at('"')) return fail("expected a member name in double quotes");
      offsets.push_back(static_cast<std::uint32_t>(pos_));
      if (!string()) return false;
      skip_space();
      if (!at(':')) return fail("expected ':' after a member name");
      ++pos_;
      if (!value(depth)) return false;
      skip_space();
      if (at(',')) {
        ++pos_;
        continue;
      }
      if (at('}')) return ++pos_, true;
      return fail("expected ',' or '}' after an object member");
    }
  }

  bool array(std::size_t depth) {
    ++pos_;
    skip_space();
    if (at(']')) return ++pos_, true;
    for (;;) {
      if (!value(depth)) return false;
      skip_space();
      if (at(',')) {
        ++pos_;
        continue;
      }
      if (at(']')) return ++pos_, true;
      return fail("expected ',' or ']' after an array element");
    }
  }

  bool string() {
    ++pos_;
    while (pos_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') return ++pos_, true;
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) break;
        const char e = s_[pos_ + 1];
        if (e == 'u') {
          unsigned unit = 0;
          if (!hex4(pos_ + 2, unit)) return fail("invalid \\u escape in a string");
          if (unit >= 0xDC00 && unit <= 0xDFFF) return fail("unpaired UTF-16 surrogate in a \\u escape");
          if (unit >= 0xD800 && unit <= 0xDBFF) {
            unsigned low = 0;
            if (s_.substr(pos_ + 6, 2) != "\\u" || !hex4(pos_ + 8, low) || low < 0xDC00 || low > 0xDFFF)
              return fail("unpaired UTF-16 surrogate in a \\u escape");
            pos_ += 6;
          }
          pos_ += 6;
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos)
          return fail(std::string("invalid escape '\\") + printable(e) + "' in a string");
        pos_ += 2;
        continue;
      }
      if (c < 0x20) return fail("control character " + printable(static_cast<char>(c)) + " in a string");
      if (c < 0x80) {
        ++pos_;
        continue;
      }
      const std::size_t n = utf8_sequence_length(pos_);
      if (n == 0) return fail("invalid UTF-8 byte " + printable(static_cast<char>(c)));
      pos_ += n;
    }
    return fail("a string is not closed before the end of the file");
  }

  // Reads four hex digits at `at` into `unit`.
  bool hex4(std::size_t at, unsigned& unit) const {
    unit = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      if (at + i >= s_.size()) return false;
      const char c = s_[at + i];
      unit <<= 4;
      if (c >= '0' && c <= '9') unit |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') unit |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') unit |= static_cast<unsigned>(c - 'A' + 10);
      else return false;
    }
    return true;
  }

  // Length of the valid UTF-8 sequence starting at `at` (a byte >= 0x80), or 0 if invalid.
  std::size_t utf8_sequence_length(std::size_t at) const {
    const auto b = [&](std::size_t i) {
      return at + i < s_.size() ? static_cast<unsigned char>(s_[at + i]) : 0u;
    };
    const unsigned c = b(0);
    const auto cont = [&](std::size_t i) { return (b(i) & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(1) || !cont(2)) return 0;
      if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
      if (c == 0xED && b(1) > 0x9F) return 0;   // surrogate
      return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(1) || !cont(2) || !cont(3)) return 0;
      if (c == 0xF0 && b(1) < 0x90) return 0;
      if (c == 0xF4 && b(1) > 0x8F) return 0;
      return 4;
    }
    return 0;
  }

  bool number() {
    const std::size_t start = pos_;
    if (at('-')) ++pos_;
    if (at('0')) {
      ++pos_;
    } else if (pos_ < s_.size() && s_[pos_] >= '1' && s_[pos_] <= '9') {
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    } else {
      return fail("invalid number");
    }
    bool integer = true;
    if (at('.')) {
      integer = false;
      ++pos_;
      if (!(pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))))
        return fail("invalid number: digits must follow '.'");
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    if (at('e') || at('E')) {
      integer = false;
      ++pos_;
      if (at('+') || at('-')) ++pos_;
      if (!(pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))))
        return fail("invalid number: digits must follow the exponent");
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    const std::string literal(s_.substr(start, pos_ - start));
    // Go reads every number as a double: an integer beyond 64 bits is one, rounded. Only a
    // number no double holds is an error (flagd refuses it too); underflow (1e-400) is zero.
    if (integer && beyond_64_bits(literal)) big_integers = true;
    if (std::isinf(std::strtod(literal.c_str(), nullptr))) {
      pos_ = start;
      return fail("number " + literal.substr(0, 40) + (literal.size() > 40 ? "..." : "") +
                  " is out of range");
    }
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// Fixed blocks handed out in runs that never move, so that spans into them stay valid; kept
// between parses.
template <class T>
class Arena {
 public:
  std::span<T> take(std::size_t n) {
    while (block_ < blocks_.size() && blocks_[block_].size - used_ < n) {
      ++block_;
      used_ = 0;
    }
    if (block_ == blocks_.size()) {
      const std::size_t size = std::max(n, kBlock);
      blocks_.push_back(Block{std::make_unique<T[]>(size), size});
      used_ = 0;
    }
    T* run = blocks_[block_].items.get() + used_;
    used_ += n;
    return {run, n};
  }
  void reset() noexcept { block_ = used_ = 0; }

 private:
  static constexpr std::size_t kBlock = 16384;
  struct Block {
    std::unique_ptr<T[]> items;
    std::size_t size;
  };
  std::vector<Block> blocks_;
  std::size_t block_ = 0, used_ = 0;
};

}  // namespace

struct JsonParser::Impl {
  simdjson::dom::parser parser;
  Arena<JsonValue> values;
  Arena<JsonMember> members;
  JsonValue root;
  std::string_view text;
  std::uint32_t next_token = 0;
  std::vector<std::uint32_t> offsets;
  bool offsets_known = false;
  bool duplicate_keys = false;
  StringViewTable<bool> seen;  // kept: its memory serves every large object

  // Reads simdjson's element into `v`, numbering tokens as OffsetScanner meets them: each value,
  // and each member's key before its value. False if the nesting passes the limit.
  bool convert(simdjson::dom::element e, JsonValue& v, std::size_t depth) {
    const std::uint32_t token = next_token++;
    switch (e.type()) {
      case simdjson::dom::element_type::OBJECT: {
        if (depth >= limits::kMaxJsonDepth) return false;
        const simdjson::dom::object object(e);
        const std::span<JsonMember> run = members.take(object.size());
        std::size_t i = 0;
        for (auto field : object) {
          JsonMember& m = run[i++];
          m.key_token = next_token++;
          m.key = field.key;
          if (!convert(field.value, m.value, depth + 1)) return false;
        }
        v = JsonValue::of_object(run, token);
        if (!duplicate_keys) duplicate_keys = repeats_a_key(run, seen);
        return true;
      }
      case simdjson::dom::element_type::ARRAY: {
        if (depth >= limits::kMaxJsonDepth) return false;
        const simdjson::dom::array array(e);
        const std::span<JsonValue> run = values.take(array.size());
        std::size_t i = 0;
        for (auto item : array)
          if (!convert(item, run[i++], depth + 1)) return false;
        v = JsonValue::of_array(run, token);
        return true;
      }
      case simdjson::dom::element_type::STRING: v = JsonValue::of_string(std::string_view(e), token); return true;
      case simdjson::dom::element_type::INT64:
        v = JsonValue::of_number(static_cast<double>(std::int64_t(e)), token);
        return true;
      case simdjson::dom::element_type::UINT64:
        v = JsonValue::of_number(static_cast<double>(std::uint64_t(e)), token);
        return true;
      case simdjson::dom::element_type::DOUBLE: v = JsonValue::of_number(double(e), token); return true;
      case simdjson::dom::element_type::BOOL: v = JsonValue::of_bool(bool(e), token); return true;
      case simdjson::dom::element_type::NULL_VALUE: v = JsonValue::null(token); return true;
    }
    return true;
  }
};

static_assert(JsonParser::kPadding == simdjson::SIMDJSON_PADDING);

JsonParser::JsonParser() : impl_(std::make_unique<Impl>()) {}
JsonParser::~JsonParser() = default;

const JsonValue* JsonParser::parse(std::string_view text, std::string_view file, Diagnostic& error, bool padded) {
  Impl& p = *impl_;
  p.text = text;
  p.values.reset();
  p.members.reset();
  p.next_token = 0;
  p.offsets.clear();
  p.offsets_known = false;
  p.duplicate_keys = false;

  error = Diagnostic{};
  error.file = std::string(file);
  // Where simdjson found fault, or where the nesting passed the limit: the scanner says where.
  const auto located = [&](std::string_view unplaced) -> const JsonValue* {
    OffsetScanner scanner(text);
    if (scanner.run()) {
      error.message = "invalid JSON: " + std::string(unplaced);
      return nullptr;
    }
    LineIndex(text).locate(scanner.problem_at, error.line, error.column);
    error.message = "invalid JSON: " + scanner.problem;
    return nullptr;
  };
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    error.message = text.empty() ? "the file is empty" : "the file holds only white space";
    return nullptr;
  }
  simdjson::dom::element root;
  auto code = may_hold_negative_zero(text) ? simdjson::NUMBER_ERROR : p.parser.parse(text.data(), text.size(), !padded).get(root);
  if (code == simdjson::NUMBER_ERROR) {
    OffsetScanner scanner(text);
    if (scanner.run() && (scanner.big_integers || may_hold_negative_zero(text))) {
      const std::string widened = with_integers_as_go_reads_them(text);
      code = p.parser.parse(widened.data(), widened.size(), true).get(root);
    }
  }
  if (code != simdjson::SUCCESS) return located(simdjson::error_message(code));
  if (!p.convert(root, p.root, 0))
    return located("nesting deeper than " + std::to_string(limits::kMaxJsonDepth) + " levels");
  return &p.root;
}

std::size_t json_value_bytes(std::string_view text, std::size_t offset) noexcept {
  const auto delimiter = [](char c) { return c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::size_t i = offset, depth = 0;
  do {
    const char c = text[i];
    if (c == '"') {  // a string, escapes and all
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
      ++i;
    } else if (c == '{' || c == '[') {
      ++depth;
      ++i;
    } else if (c == '}' || c == ']') {
      --depth;
      ++i;
    } else if (depth == 0) {  // a number or a word
      while (i < text.size() && !delimiter(text[i])) ++i;
    } else {
      ++i;
    }
  } while (depth > 0 && i < text.size());
  return std::min(i, text.size()) - offset;
}

bool JsonParser::has_duplicate_keys() const noexcept { return impl_->duplicate_keys; }

std::uint32_t JsonParser::offset_of(std::uint32_t token) {
  Impl& p = *impl_;
  if (!p.offsets_known) {
    OffsetScanner scanner(p.text);
    scanner.run();
    p.offsets = std::move(scanner.offsets);
    p.offsets_known = true;
  }
  return token < p.offsets.size() ? p.offsets[token] : 0;
}

}  // namespace flagd
