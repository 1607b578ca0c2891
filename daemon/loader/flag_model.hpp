// Flag definitions after loading and validation: what the image builder compiles.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flagd/layout.hpp"
#include "flagd/rule_layout.hpp"

namespace flagd {

struct FlagValue {
  layout::ValueKind kind = layout::ValueKind::Boolean;
  bool boolean = false;
  double number = 0;
  std::string text;  // a string, or an object as compact JSON text
};

struct Variant {
  std::string key;
  FlagValue value;
};

struct MetadataItem {
  std::string key;
  layout::MetadataKind kind = layout::MetadataKind::String;
  bool boolean = false;
  double number = 0;
  std::string text;
};

// One node of a compiled targeting rule, before it is laid out in an image (rule_layout.hpp).
struct RuleDraftNode {
  layout::RuleOp op = layout::RuleOp::Null;
  std::uint16_t argc = 0;
  std::uint32_t first = 0;
  bool boolean = false;
  double number = 0;
  std::string text;  // String constant, Var path, Object literal (JSON text)
  std::uint16_t variant_hint = 0;  // String constant naming a variant of the flag: its index + 1
  layout::RuleOp fused = layout::RuleOp::Null;  // AttrTest: the operator it stands for
};

struct FlagDefinition {
  std::string key;
  bool enabled = true;
  layout::ValueKind kind = layout::ValueKind::Boolean;
  std::vector<Variant> variants;
  std::optional<std::uint16_t> default_variant;  // index into variants
  std::vector<MetadataItem> metadata;             // set metadata overlaid by the flag's own
  std::vector<RuleDraftNode> rule;                // empty: no targeting
  // The rule as compact JSON, each $ref flagd substitutes replaced by its evaluator: what a flagd
  // sync client is sent (sync_document.hpp). Empty when `rule` is.
  std::string targeting_json;
  std::uint32_t source = 0;  // index into FlagSet::sources of the document it came from
};

struct SourceFile {
  std::string path;
  std::string sha256;  // hex
};

struct FlagSet {
  std::vector<FlagDefinition> flags;  // one per key; a later file's flag replaced an earlier one
  std::vector<SourceFile> sources;
  std::array<std::uint8_t, 32> sha256{};  // over all source bytes, in load order
};

}  // namespace flagd
