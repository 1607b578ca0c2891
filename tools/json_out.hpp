// Writing the JSON lines flagctl prints.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flagd/reader.hpp"

namespace flagd::cli {

// {"value":...,"variant":...,"reason":...,"errorCode":...,"flagMetadata":{...}}; `value_json`
// is the value already written as JSON.
std::string result_line(std::string_view value_json, const std::string* variant, Reason reason,
                        ErrorCode error, const std::vector<MetadataValue>& metadata);

// {"key":value,...}: a flag's metadata as flagd writes it.
void append_metadata_json(std::string& out, const std::vector<MetadataValue>& metadata);

}  // namespace flagd::cli
