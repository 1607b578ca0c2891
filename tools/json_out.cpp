#include "json_out.hpp"

#include "json_value.hpp"

namespace flagd::cli {

std::string result_line(std::string_view value_json, const std::string* variant, Reason reason,
                        ErrorCode error, const std::vector<MetadataValue>& metadata) {
  std::string line = "{\"value\":";
  line += value_json;
  line += ",\"variant\":";
  if (variant) {
    append_json_string(line, *variant);
  } else {
    line += "null";
  }
  line += ",\"reason\":";
  append_json_string(line, to_string(reason));
  line += ",\"errorCode\":";
  if (error == ErrorCode::None) {
    line += "null";
  } else {
    append_json_string(line, to_string(error));
  }
  line += ",\"flagMetadata\":";
  append_metadata_json(line, metadata);
  line += '}';
  return line;
}

void append_metadata_json(std::string& out, const std::vector<MetadataValue>& metadata) {
  out += '{';
  for (std::size_t i = 0; i < metadata.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, metadata[i].key);
    out += ':';
    if (const auto* b = std::get_if<bool>(&metadata[i].value)) {
      out += *b ? "true" : "false";
    } else if (const auto* s = std::get_if<std::string>(&metadata[i].value)) {
      append_json_string(out, *s);
    } else if (const auto* json = std::get_if<MetadataJson>(&metadata[i].value)) {
      out += json->text;
    } else {
      append_json_number(out, std::get<double>(metadata[i].value));
    }
  }
  out += '}';
}

}  // namespace flagd::cli
