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
  line += ",\"flagMetadata\":{";
  for (std::size_t i = 0; i < metadata.size(); ++i) {
    if (i) line += ',';
    append_json_string(line, metadata[i].key);
    line += ':';
    if (const auto* b = std::get_if<bool>(&metadata[i].value)) {
      line += *b ? "true" : "false";
    } else if (const auto* s = std::get_if<std::string>(&metadata[i].value)) {
      append_json_string(line, *s);
    } else if (const auto* json = std::get_if<MetadataJson>(&metadata[i].value)) {
      line += json->text;
    } else {
      append_json_number(line, std::get<double>(metadata[i].value));
    }
  }
  line += "}}";
  return line;
}

}  // namespace flagd::cli
