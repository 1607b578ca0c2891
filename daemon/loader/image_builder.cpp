#include "image_builder.hpp"

#include <bit>
#include <cstring>
#include <string>
#include <string_view>

#include "flagd/fast_form.hpp"
#include "flagd/key_hash.hpp"
#include "flagd/layout.hpp"
#include "flagd/murmur3.hpp"
#include "flagd/rule_layout.hpp"
#include "fast_form_compiler.hpp"
#include "flag_fingerprint.hpp"
#include "string_view_table.hpp"

namespace flagd {

namespace {

using namespace layout;

class ImageWriter {
 public:
  // Lays the image out in `bytes`, reusing its capacity: `fixed_bytes` of zeros to begin with.
  ImageWriter(std::vector<std::byte>& bytes, std::size_t fixed_bytes, std::size_t expected_strings)
      : bytes_(bytes), strings_(expected_strings) {
    bytes_.assign(fixed_bytes, std::byte{0});
  }

  template <class T>
  void put(std::uint64_t offset, const T& value) {
    std::memcpy(bytes_.data() + offset, &value, sizeof value);
  }
  void put_bytes(std::uint64_t offset, const void* data, std::size_t n) {
    std::memcpy(bytes_.data() + offset, data, n);
  }

  // Appends `text` to the string area (8-aligned, zero-padded), once per distinct string. The
  // text must outlive the writer.
  StringRef intern(std::string_view text) {
    const auto [ref, added] = strings_.insert(text, StringRef{static_cast<std::uint32_t>(bytes_.size()),
                                                              static_cast<std::uint32_t>(text.size())});
    if (added) append_text(text);
    return *ref;
  }

  // Appends a string no other will share (a flag key: keys are distinct).
  StringRef unique(std::string_view text) {
    const StringRef ref{static_cast<std::uint32_t>(bytes_.size()), static_cast<std::uint32_t>(text.size())};
    append_text(text);
    return ref;
  }

  // Appends `n` bytes (a multiple of 8) after everything written so far; their offset.
  std::uint64_t append(const void* data, std::size_t n) {
    const std::uint64_t at = bytes_.size();
    bytes_.resize(at + n);
    std::memcpy(bytes_.data() + at, data, n);
    return at;
  }

  std::size_t size() const { return bytes_.size(); }

 private:
  void append_text(std::string_view text) {
    const std::size_t at = bytes_.size();
    bytes_.resize(at + round_up8(text.size()));
    std::memcpy(bytes_.data() + at, text.data(), text.size());
  }

  std::vector<std::byte>& bytes_;
  StringViewTable<StringRef> strings_;
};

std::uint64_t payload_of(const FlagValue& value, ImageWriter& w) {
  switch (value.kind) {
    case ValueKind::Boolean: return value.boolean ? 1 : 0;
    case ValueKind::Number: return std::bit_cast<std::uint64_t>(value.number);
    case ValueKind::String:
    case ValueKind::Object:
    case ValueKind::Other: return pack_string_ref(w.intern(value.text));
    case ValueKind::Mixed: break;  // a flag's kind, never a value's
  }
  return 0;
}

RuleNode rule_node(const RuleDraftNode& draft, std::string_view flag_key, ImageWriter& w) {
  RuleNode node{};
  node.op = draft.op;
  node.argc = draft.argc;
  node.first = draft.first;
  switch (draft.op) {
    case RuleOp::Bool: node.a = draft.boolean ? 1 : 0; break;
    case RuleOp::Number: node.a = std::bit_cast<std::uint64_t>(draft.number); break;
    case RuleOp::String:
      node.a = pack_string_ref(w.intern(draft.text));
      node.b = draft.variant_hint;  // the variant it names, + 1; 0 if none
      break;
    case RuleOp::Object:
      node.a = pack_string_ref(w.intern(draft.text));
      node.b = draft.boolean ? 1 : 0;  // non-empty
      break;
    case RuleOp::Var:
      node.a = pack_string_ref(w.intern(draft.text));
      node.b = key_hash(draft.text);
      node.flags = path_may_name_list_element(draft.text) ? layout::kPathMayNameListElement : 0;
      break;
    case RuleOp::Fractional: {
      const Murmur3Prefix prefix = murmur3_prefix(flag_key);
      node.flags = layout::kFlagKeyHashed;
      node.a = prefix.h | std::uint64_t{prefix.carry} << 32 | std::uint64_t{prefix.carry_bytes} << 56;
      node.b = prefix.length;
      break;
    }
    case RuleOp::AttrTest:
      node.flags = path_may_name_list_element(draft.text) ? layout::kPathMayNameListElement : 0;
      node.a = pack_string_ref(w.intern(draft.text));
      node.b = key_hash(draft.text) | std::uint64_t{static_cast<std::uint8_t>(draft.fused)} << 32;
      break;
    default: break;
  }
  return node;
}

// A power-of-two table in which no key is more than kMaxKeyProbes slots from its home.
std::vector<NameSlot> key_table(const StableIndex& index) {
  const auto& keys = index.keys();
  std::uint32_t slots = 8;
  while (slots < keys.size() * 2) slots *= 2;
  for (;;) {
    std::vector<NameSlot> table(slots, NameSlot{0, 0});
    bool fits = true;
    for (std::uint32_t i = 0; i < keys.size() && fits; ++i) {
      const std::uint32_t hash = index.key_hash_of(i);
      std::uint32_t position = hash & (slots - 1);
      std::uint32_t probe = 0;
      while (table[position].index_plus_one != 0) {
        position = (position + 1) & (slots - 1);
        if (++probe >= kMaxKeyProbes) fits = false;
      }
      table[position] = NameSlot{i + 1, hash};
    }
    if (fits) return table;
    slots *= 2;
  }
}

}  // namespace

std::vector<std::byte> build_image(const FlagSet& flags, StableIndex& index, ImageStamp stamp) {
  std::vector<std::byte> image;
  build_image(flags, index, stamp, image);
  return image;
}

void build_image(const FlagSet& flags, StableIndex& index, ImageStamp stamp, std::vector<std::byte>& image) {
  std::vector<const FlagDefinition*> by_index;
  for (const auto& flag : flags.flags) {
    const std::uint32_t i = index.assign(flag.key);
    if (by_index.size() <= i) by_index.resize(i + 1, nullptr);
    by_index[i] = &flag;
  }
  by_index.resize(index.size(), nullptr);

  const std::vector<NameSlot> table = key_table(index);
  std::uint64_t tables = 0;  // variant and metadata blocks
  for (const auto* flag : by_index)
    if (flag != nullptr) {
      tables += flag->variants.size() * sizeof(VariantRecord);
      if (flag->kind == ValueKind::Mixed)
        tables += layout::variant_kinds_bytes(static_cast<std::uint16_t>(flag->variants.size()));
      if (!flag->metadata.empty())
        tables += sizeof(MetadataBlock) + flag->metadata.size() * sizeof(MetadataEntry);
      tables += flag->rule.size() * sizeof(RuleNode);
    }
  const std::uint64_t names_offset = kRecordsOffset + by_index.size() * sizeof(FlagRecord);
  const std::uint64_t rules_offset = names_offset + table.size() * sizeof(NameSlot);
  std::uint64_t next_table = rules_offset + by_index.size() * sizeof(RuleRef);
  ImageWriter w(image, next_table + tables, by_index.size() / 2);

  std::uint32_t present = 0;
  std::vector<std::uint64_t> fingerprints(by_index.size(), 0);
  for (std::uint32_t i = 0; i < by_index.size(); ++i) {
    FlagRecord record{};
    record.key = w.unique(index.keys()[i]);
    const FlagDefinition* flag = by_index[i];
    if (flag == nullptr) {
      record.state = FlagState::Absent;
      record.default_variant = kNoDefaultVariant;
      w.put(kRecordsOffset + i * sizeof(FlagRecord), record);
      continue;
    }
    ++present;
    fingerprints[i] = fingerprint(*flag);
    record.state = flag->enabled ? FlagState::Enabled : FlagState::Disabled;
    record.kind = flag->kind;
    record.variant_count = static_cast<std::uint16_t>(flag->variants.size());
    record.default_variant = flag->default_variant.value_or(kNoDefaultVariant);
    record.variants_offset = static_cast<std::uint32_t>(next_table);
    std::vector<std::uint64_t> payloads;
    for (const auto& variant : flag->variants) {
      const VariantRecord v{w.intern(variant.key), payload_of(variant.value, w)};
      payloads.push_back(v.payload);
      w.put(next_table, v);
      next_table += sizeof v;
    }
    if (flag->kind == ValueKind::Mixed) {
      std::vector<ValueKind> kinds(layout::variant_kinds_bytes(record.variant_count), ValueKind::Boolean);
      for (std::size_t v = 0; v < flag->variants.size(); ++v) kinds[v] = flag->variants[v].value.kind;
      w.put_bytes(next_table, kinds.data(), kinds.size());
      next_table += kinds.size();
    }
    if (!flag->rule.empty()) {
      record.has_targeting = 1;
      RuleRef ref{static_cast<std::uint32_t>(next_table), static_cast<std::uint32_t>(flag->rule.size()), 0, 0};
      for (const auto& draft : flag->rule) {
        w.put(next_table, rule_node(draft, flag->key, w));
        next_table += sizeof(RuleNode);
      }
      const std::vector<std::uint64_t> fast = compile_fast_form(*flag, payloads);
      if (!fast.empty()) {
        ref.fast_offset = static_cast<std::uint32_t>(w.append(fast.data(), fast.size() * sizeof(std::uint64_t)));
        ref.fast_words_log2 = static_cast<std::uint32_t>(std::countr_zero(fast.size() - layout::kFastGuardWords));
        if (flag->enabled && flag->kind == ValueKind::Boolean) {
          record.static_bool = kTargetedNullFallback;
          if (flag->default_variant)
            record.static_bool =
                flag->variants[*flag->default_variant].value.boolean ? kTargetedNullTrue : kTargetedNullFalse;
        }
      }
      w.put(rules_offset + i * sizeof(RuleRef), ref);
    }
    if (flag->default_variant) {  // interned above: the same reference again
      record.default_payload = payload_of(flag->variants[*flag->default_variant].value, w);
      if (flag->enabled && flag->kind == ValueKind::Boolean && flag->rule.empty())
        record.static_bool = flag->variants[*flag->default_variant].value.boolean ? kStaticTrue : kStaticFalse;
    }
    if (!flag->metadata.empty()) {
      record.metadata_offset = static_cast<std::uint32_t>(next_table);
      w.put(next_table, MetadataBlock{static_cast<std::uint32_t>(flag->metadata.size()), 0});
      next_table += sizeof(MetadataBlock);
      for (const auto& item : flag->metadata) {
        MetadataEntry e{};
        e.key = w.intern(item.key);
        e.kind = item.kind;
        switch (item.kind) {
          case MetadataKind::Boolean: e.payload = item.boolean ? 1 : 0; break;
          case MetadataKind::Number: e.payload = std::bit_cast<std::uint64_t>(item.number); break;
          case MetadataKind::String:
          case MetadataKind::Json: e.payload = pack_string_ref(w.intern(item.text)); break;
        }
        w.put(next_table, e);
        next_table += sizeof e;
      }
    }
    w.put(kRecordsOffset + i * sizeof(FlagRecord), record);
  }
  for (std::size_t i = 0; i < table.size(); ++i) w.put(names_offset + i * sizeof(NameSlot), table[i]);
  const std::uint64_t fingerprints_offset =
      fingerprints.empty() ? 0 : w.append(fingerprints.data(), fingerprints.size() * sizeof(std::uint64_t));

  ImageHeader header{};
  header.generation = stamp.generation;
  header.published_unix_ns = stamp.published_unix_ns;
  std::memcpy(header.source_sha256, flags.sha256.data(), sizeof header.source_sha256);
  header.image_bytes = static_cast<std::uint32_t>(w.size());
  header.flag_count = static_cast<std::uint32_t>(by_index.size());
  header.present_count = present;
  header.name_slots_offset = static_cast<std::uint32_t>(names_offset);
  header.name_slot_count = static_cast<std::uint32_t>(table.size());
  header.rules_offset = static_cast<std::uint32_t>(rules_offset);
  header.fingerprints_offset = static_cast<std::uint32_t>(fingerprints_offset);
  w.put(0, header);
}

}  // namespace flagd
