#include "json_tree.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace flagd::oracle {

Json Json::of(bool b) {
  Json j;
  j.kind = Kind::Bool;
  j.boolean = b;
  return j;
}

Json Json::number(std::string text) {
  Json j;
  j.kind = Kind::Number;
  j.text = std::move(text);
  return j;
}

Json Json::number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  return number(std::string(buf));
}

Json Json::string(std::string value) {
  Json j;
  j.kind = Kind::String;
  j.text = std::move(value);
  return j;
}

Json Json::array(std::vector<Json> elements) {
  Json j;
  j.kind = Kind::Array;
  j.items = std::move(elements);
  return j;
}

Json Json::object() {
  Json j;
  j.kind = Kind::Object;
  return j;
}

Json& Json::add(std::string key, Json value) {
  keys.push_back(std::move(key));
  items.push_back(std::move(value));
  return items.back();
}

const Json* Json::find(std::string_view key) const {
  for (std::size_t i = keys.size(); i-- > 0;)
    if (keys[i] == key) return &items[i];
  return nullptr;
}

Json* Json::find(std::string_view key) {
  return const_cast<Json*>(static_cast<const Json*>(this)->find(key));
}

void Json::erase(std::string_view key) {
  for (std::size_t i = keys.size(); i-- > 0;) {
    if (keys[i] != key) continue;
    keys.erase(keys.begin() + static_cast<std::ptrdiff_t>(i));
    items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

Json& Json::push(Json value) {
  items.push_back(std::move(value));
  return items.back();
}

double Json::to_double() const { return std::strtod(text.c_str(), nullptr); }

namespace {

void dump_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  std::optional<Json> document(std::string* error) {
    Json value;
    skip_space();
    if (!parse_value(value, 0)) return fail(error);
    skip_space();
    if (pos_ != s_.size()) {
      why_ = "text after the value";
      return fail(error);
    }
    return value;
  }

 private:
  std::optional<Json> fail(std::string* error) const {
    if (error) *error = why_ + " at byte " + std::to_string(pos_);
    return std::nullopt;
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) {
      why_ = "unknown literal";
      return false;
    }
    pos_ += word.size();
    return true;
  }
  bool parse_value(Json& out, int depth) {
    if (depth > 512) {
      why_ = "nesting deeper than 512";
      return false;
    }
    if (pos_ >= s_.size()) {
      why_ = "end of text where a value belongs";
      return false;
    }
    const char c = s_[pos_];
    if (c == '{') return parse_object(out, depth);
    if (c == '[') return parse_array(out, depth);
    if (c == '"') {
      out = Json::string("");
      return parse_string(out.text);
    }
    if (c == 't') return (out = Json::of(true), literal("true"));
    if (c == 'f') return (out = Json::of(false), literal("false"));
    if (c == 'n') return (out = Json::null(), literal("null"));
    return parse_number(out);
  }
  bool parse_number(Json& out) {
    const std::size_t start = pos_;
    const auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ > from;
    };
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      why_ = "not a JSON value";
      return false;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) {
        why_ = "a fraction without digits";
        return false;
      }
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) {
        why_ = "an exponent without digits";
        return false;
      }
    }
    out = Json::number(std::string(s_.substr(start, pos_ - start)));
    return true;
  }
  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(unsigned& cp) {
    if (pos_ + 4 > s_.size()) return false;
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') cp |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') cp |= static_cast<unsigned>(h - 'A' + 10);
      else return false;
    }
    return true;
  }
  bool parse_string(std::string& out) {
    ++pos_;  // the opening quote
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) {
        why_ = "a control character inside a string";
        return false;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) break;
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = 0;
          if (!hex4(cp)) {
            why_ = "a bad \\u escape";
            return false;
          }
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(pos_, 2) == "\\u") {
            const std::size_t back = pos_;
            pos_ += 2;
            unsigned low = 0;
            if (hex4(low) && low >= 0xDC00 && low < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              pos_ = back;
            }
          }
          append_utf8(out, cp);
          break;
        }
        default:
          why_ = "an unknown escape";
          return false;
      }
    }
    why_ = "an unterminated string";
    return false;
  }
  bool parse_array(Json& out, int depth) {
    out = Json::array();
    ++pos_;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == ']') return ++pos_, true;
    for (;;) {
      skip_space();
      if (!parse_value(out.push(Json()), depth + 1)) return false;
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') return ++pos_, true;
      why_ = "expected , or ] in an array";
      return false;
    }
  }
  bool parse_object(Json& out, int depth) {
    out = Json::object();
    ++pos_;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, true;
    for (;;) {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != '"') {
        why_ = "expected a member name";
        return false;
      }
      std::string key;
      if (!parse_string(key)) return false;
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != ':') {
        why_ = "expected : after a member name";
        return false;
      }
      ++pos_;
      skip_space();
      if (!parse_value(out.add(std::move(key), Json()), depth + 1)) return false;
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, true;
      why_ = "expected , or } in an object";
      return false;
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::string why_;
};

}  // namespace

void dump_to(std::string& out, const Json& value) {
  switch (value.kind) {
    case Json::Kind::Null: out += "null"; break;
    case Json::Kind::Bool: out += value.boolean ? "true" : "false"; break;
    case Json::Kind::Number: out += value.text; break;
    case Json::Kind::String: dump_string(out, value.text); break;
    case Json::Kind::Array:
      out += '[';
      for (std::size_t i = 0; i < value.items.size(); ++i) {
        if (i) out += ',';
        dump_to(out, value.items[i]);
      }
      out += ']';
      break;
    case Json::Kind::Object:
      out += '{';
      for (std::size_t i = 0; i < value.items.size(); ++i) {
        if (i) out += ',';
        dump_string(out, value.keys[i]);
        out += ':';
        dump_to(out, value.items[i]);
      }
      out += '}';
      break;
  }
}

std::string dump(const Json& value) {
  std::string out;
  dump_to(out, value);
  return out;
}

std::optional<Json> parse_json(std::string_view text, std::string* error) { return Parser(text).document(error); }

bool same_value(const Json& a, const Json& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Json::Kind::Null: return true;
    case Json::Kind::Bool: return a.boolean == b.boolean;
    case Json::Kind::Number: return a.to_double() == b.to_double();
    case Json::Kind::String: return a.text == b.text;
    case Json::Kind::Array:
      if (a.items.size() != b.items.size()) return false;
      for (std::size_t i = 0; i < a.items.size(); ++i)
        if (!same_value(a.items[i], b.items[i])) return false;
      return true;
    case Json::Kind::Object: {
      if (a.keys.size() != b.keys.size()) return false;
      for (std::size_t i = 0; i < a.keys.size(); ++i) {
        const Json* other = b.find(a.keys[i]);
        if (!other || !same_value(*a.find(a.keys[i]), *other)) return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace flagd::oracle
