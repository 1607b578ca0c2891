#include "sync_document.hpp"

#include "json_value.hpp"

namespace flagd {

namespace {

void append_value(std::string& out, const FlagValue& value) {
  switch (value.kind) {
    case layout::ValueKind::Boolean: out += value.boolean ? "true" : "false"; break;
    case layout::ValueKind::Number: append_json_number(out, value.number); break;
    case layout::ValueKind::String: append_json_string(out, value.text); break;
    case layout::ValueKind::Object:
    case layout::ValueKind::Other:
    case layout::ValueKind::Mixed: out += value.text; break;  // compact JSON already
  }
}

void append_metadata(std::string& out, const std::vector<MetadataItem>& metadata) {
  out += '{';
  for (std::size_t i = 0; i < metadata.size(); ++i) {
    const MetadataItem& item = metadata[i];
    if (i) out += ',';
    append_json_string(out, item.key);
    out += ':';
    switch (item.kind) {
      case layout::MetadataKind::Boolean: out += item.boolean ? "true" : "false"; break;
      case layout::MetadataKind::Number: append_json_number(out, item.number); break;
      case layout::MetadataKind::String: append_json_string(out, item.text); break;
      case layout::MetadataKind::Json: out += item.text; break;
    }
  }
  out += '}';
}

// One flag, as it stands inside "flags" (without its key).
void append_sync_flag(std::string& out, const FlagDefinition& flag, const FlagSet& set) {
  // An in-process provider drops the whole payload for a state it does not know, and flagd
  // serves any state but "DISABLED" as enabled: the state is written as it is served.
  out += flag.enabled ? "{\"state\":\"ENABLED\",\"defaultVariant\":" : "{\"state\":\"DISABLED\",\"defaultVariant\":";
  if (flag.default_variant) {
    append_json_string(out, flag.variants[*flag.default_variant].key);
  } else {
    out += "null";
  }
  out += ",\"variants\":{";
  for (std::size_t i = 0; i < flag.variants.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, flag.variants[i].key);
    out += ':';
    append_value(out, flag.variants[i].value);
  }
  out += '}';
  if (!flag.targeting_json.empty()) {
    out += ",\"targeting\":";
    out += flag.targeting_json;
  }
  if (flag.source < set.sources.size()) {
    out += ",\"source\":";
    append_json_string(out, set.sources[flag.source].path);
  }
  if (!flag.metadata.empty()) {
    out += ",\"metadata\":";
    append_metadata(out, flag.metadata);
  }
  out += '}';
}

}  // namespace

std::string sync_document(const FlagSet& set) {
  std::string out = "{\"flags\":{";
  for (std::size_t i = 0; i < set.flags.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, set.flags[i].key);
    out += ':';
    append_sync_flag(out, set.flags[i], set);
  }
  out += "}}";
  return out;
}

}  // namespace flagd
