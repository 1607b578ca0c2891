#include "json_out.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace flagd::cli {

void append_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
}

std::string result_line(std::string_view value_json, const std::string* variant, Reason reason,
                        ErrorCode error, const std::vector<MetadataValue>& metadata) {
  std::string line = "{\"value\":";
  line += value_json;
  line += ",\"variant\":";
  if (variant) {
    append_string(line, *variant);
  } else {
    line += "null";
  }
  line += ",\"reason\":";
  append_string(line, to_string(reason));
  line += ",\"errorCode\":";
  if (error == ErrorCode::None) {
    line += "null";
  } else {
    append_string(line, to_string(error));
  }
  line += ",\"flagMetadata\":{";
  for (std::size_t i = 0; i < metadata.size(); ++i) {
    if (i) line += ',';
    append_string(line, metadata[i].key);
    line += ':';
    if (const auto* b = std::get_if<bool>(&metadata[i].value)) {
      line += *b ? "true" : "false";
    } else if (const auto* s = std::get_if<std::string>(&metadata[i].value)) {
      append_string(line, *s);
    } else {
      append_number(line, std::get<double>(metadata[i].value));
    }
  }
  line += "}}";
  return line;
}

}  // namespace flagd::cli
