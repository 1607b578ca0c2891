#include "document_loader.hpp"

#include <algorithm>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "closest_name.hpp"
#include "evaluator_reference.hpp"
#include "expiry.hpp"
#include "flagd/go_json.hpp"
#include "flagd/limits.hpp"
#include "go_struct.hpp"
#include "rule_compiler.hpp"
#include "rule_results.hpp"

namespace flagd {

namespace {

using Kind = JsonValue::Kind;
using Severity = Diagnostic::Severity;

// A copy of a document in which each object keeps only the last of a repeated key, where the
// first stood: what Go's decoding into maps and structs sees. Built only for a document that
// repeats a key.
class LastKeyWins {
 public:
  JsonValue copy(const JsonValue& v) {
    if (v.kind() == Kind::Array) {
      auto& items = arena_.items(v.items().size());
      for (const JsonValue& item : v.items()) items.push_back(copy(item));
      return JsonValue::of_array(items, v.token());
    }
    if (v.kind() != Kind::Object) return v;
    std::unordered_map<std::string_view, std::size_t> last;
    const auto members = v.members();
    for (std::size_t i = 0; i < members.size(); ++i) last[members[i].key] = i;
    auto& kept = arena_.members(last.size());
    std::unordered_set<std::string_view> placed;
    for (const JsonMember& m : members) {
      if (!placed.insert(m.key).second) continue;
      const JsonMember& winner = members[last[m.key]];
      kept.push_back(JsonMember{winner.key, winner.key_token, copy(winner.value)});
    }
    return JsonValue::of_object(kept, v.token());
  }

 private:
  JsonArena arena_;
};

// What a variant value is to the image: its kind and payload.
FlagValue variant_value(const JsonValue& v) {
  FlagValue value;
  switch (v.kind()) {
    case Kind::Bool:
      value.kind = layout::ValueKind::Boolean;
      value.boolean = v.boolean();
      return value;
    case Kind::Number:
      value.kind = layout::ValueKind::Number;
      value.number = v.number();
      return value;
    case Kind::String:
      value.kind = layout::ValueKind::String;
      value.text = v.text();
      return value;
    case Kind::Object:
      value.kind = layout::ValueKind::Object;
      value.text = to_json(v);
      return value;
    case Kind::Array:
    case Kind::Null:
      value.kind = layout::ValueKind::Other;
      value.text = to_json(v);
      return value;
  }
  return value;
}

class DocumentLoader {
 public:
  DocumentLoader(std::string_view file, TokenLocator& locator, std::vector<Diagnostic>& out)
      : file_(file), locator_(locator), out_(out) {}

  void load(const JsonValue& root, RepeatedKeys repeated, std::vector<FlagDefinition>& flags) {
    if (repeated == RepeatedKeys::Refused) {
      report_duplicate_keys(root, JsonPath(), Severity::Error);
    } else if (repeated == RepeatedKeys::LastCounts) {
      report_duplicate_keys(root, JsonPath(), Severity::Violation);
      LastKeyWins copies;
      check(copies.copy(root), flags);
    } else {
      check(root, flags);
    }
    limiter_.report_omitted(file_, out_);
  }

 private:
  void check(const JsonValue& root, std::vector<FlagDefinition>& flags) {
    const JsonPath document;
    if (root.kind() != Kind::Object) {
      error(document, root.token(),
            "the document must be an object with a \"flags\" member, not " + std::string(kind_name(root.kind())));
      return;
    }
    // flags and metadata from the document flagd re-encodes; $evaluators from its text as written.
    static constexpr std::string_view kTop[] = {"flags", "metadata", "$evaluators"};
    const GoStruct top(root, kTop);
    const GoStruct written(root, kTop, GoStruct::Order::AsWritten);
    for (const JsonMember* m : top.unknown())
      if (m->key != "$schema")
        warning(document.member(m->key), m->key_token,
                "unknown top-level member is ignored" + did_you_mean(m->key, {"flags", "metadata", "$evaluators"}));
    bool typed = true;
    for (std::size_t f = 0; f < std::size(kTop); ++f)
      for (const GoFieldValue& value : top.values(f)) {
        const JsonMember& m = *value.member;
        if (!value.exact_name) check_case(document, m, kTop[f]);
        if (f == 0 || m.value.kind() == Kind::Null || m.value.kind() == Kind::Object) continue;
        typed = false;
        error(document.member(m.key), m.value.token(),
              f == 1 ? "metadata must be an object, not " + std::string(kind_name(m.value.kind()))
                     : "must be an object of named rules, not " + std::string(kind_name(m.value.kind())));
      }
    if (!typed) return;
    evaluators_ = maps_.merge(written.values(2));
    if (evaluators_ != nullptr) check_evaluators(*evaluators_, document.member("$evaluators"));
    ReferenceExpander references(evaluators_, [this](const JsonPath& where, std::uint32_t token, std::string_view name) {
      warning(where, token,
              "flagd puts evaluator \"" + std::string(name) +
                  "\" in the place of this $ref: it substitutes references anywhere in the file, not only in rules");
    });
    std::vector<MetadataItem> set_metadata;
    if (!load_set_metadata(top.values(1), references, document.member("metadata"), set_metadata)) return;
    const JsonValue* flag_map = top.last_raw(0);
    if (flag_map == nullptr) {
      error(document, root.token(), "the required member \"flags\" is missing");
      return;
    }
    load_flag_map(*flag_map, document.member("flags"), references, set_metadata, flags);
  }

  // "flags", as flagd reads it: an object keyed by flag key, or an array of flags that name
  // their keys. A reference it is, or one a flag is, stands for its evaluator, taken as written.
  void load_flag_map(const JsonValue& written_map, const JsonPath& flags_path, ReferenceExpander& references,
                     const std::vector<MetadataItem>& set_metadata, std::vector<FlagDefinition>& flags) {
    bool flags_from_evaluator = false;
    const JsonValue* flag_map = &references.expand_reference(written_map, flags_path, flags_from_evaluator);
    // The flags of one evaluator are taken as written, as each flag an evaluator stands for.
    const auto written_flag = [&](const JsonValue& flag, const JsonPath& path, bool& from_evaluator) -> const JsonValue& {
      from_evaluator = flags_from_evaluator;
      return flags_from_evaluator ? flag : references.expand_flag(flag, path, from_evaluator);
    };
    switch (flag_map->kind()) {
      case Kind::Null:
        violation(flags_path, flag_map->token(), "\"flags\" is null: the file has no flags");
        return;
      case Kind::Object:
        flags.reserve(flags.size() + flag_map->members().size());
        for (const auto& m : flag_map->members()) {
          FlagDefinition flag;
          flag.key = m.key;
          const JsonPath path = flags_path.member(m.key);
          bool from_evaluator = false;
          const JsonValue& value = written_flag(m.value, path, from_evaluator);
          if (load_flag(value, m.key_token, path, set_metadata, false, from_evaluator, flag))
            flags.push_back(std::move(flag));
        }
        return;
      case Kind::Array: {
        // flagd also reads "flags" as an array of flags, each naming its key in "key".
        // A key named twice: the later flag counts, where the first stood, as in the object form.
        const auto items = flag_map->items();
        flags.reserve(flags.size() + items.size());
        std::unordered_map<std::string, std::size_t> position;
        for (std::size_t i = 0; i < items.size(); ++i) {
          FlagDefinition flag;
          const JsonPath path = flags_path.element(i);
          bool from_evaluator = false;
          const JsonValue& item = written_flag(items[i], path, from_evaluator);
          if (!load_flag(item, item.token(), path, set_metadata, true, from_evaluator, flag)) continue;
          const auto [at, first] = position.try_emplace(flag.key, flags.size());
          if (first) {
            flags.push_back(std::move(flag));
          } else {
            violation(flags_path.element(i), items[i].token(),
                      "a second flag of key \"" + flag.key + "\": the last one counts, as in flagd");
            flags[at->second] = std::move(flag);
          }
        }
        return;
      }
      default:
        error(flags_path, flag_map->token(),
              "must be an object keyed by flag key (or an array of flags), not " +
                  std::string(kind_name(flag_map->kind())));
        return;
    }
  }

  // The top-level metadata: each "metadata" member (of any case) with its references
  // substituted, then merged, as flagd substitutes before it decodes. False if the file is
  // refused.
  bool load_set_metadata(std::span<const GoFieldValue> values, ReferenceExpander& references, const JsonPath& path,
                         std::vector<MetadataItem>& out) {
    std::vector<JsonMember> members;
    std::vector<GoFieldValue> expanded_values;
    members.reserve(values.size());
    for (const GoFieldValue& value : values) {
      const JsonMember& m = *value.member;
      const JsonValue& expanded = references.expand(m.value, path);
      if (expanded.kind() != Kind::Null && expanded.kind() != Kind::Object) {
        error(path, m.value.token(),
              "metadata must be an object, not " + std::string(kind_name(expanded.kind())) + " (its evaluator's)");
        return false;
      }
      members.push_back(JsonMember{m.key, m.key_token, expanded});
      expanded_values.push_back(GoFieldValue{&members.back(), value.exact_name});
    }
    if (const JsonValue* metadata = maps_.merge(expanded_values)) load_metadata(*metadata, path, out);
    return true;
  }

  void report(Severity severity, const JsonPath& path, std::uint32_t token, std::string message) {
    errors_ += severity == Severity::Error;
    if (!limiter_.admit(severity, message)) return;
    Diagnostic d;
    d.severity = severity;
    d.file = file_;
    d.json_path = path.spelled();
    locator_.locate(token, d.line, d.column);
    d.message = std::move(message);
    out_.push_back(std::move(d));
  }
  void error(const JsonPath& path, std::uint32_t token, std::string message) {
    report(Severity::Error, path, token, std::move(message));
  }
  void violation(const JsonPath& path, std::uint32_t token, std::string message) {
    report(Severity::Violation, path, token, std::move(message));
  }
  void warning(const JsonPath& path, std::uint32_t token, std::string message) {
    report(Severity::Warning, path, token, std::move(message));
  }

  // A member Go matched to a field of another case ("State" for "state").
  void check_case(const JsonPath& parent, const JsonMember& m, std::string_view field) {
    if (m.key != field)
      violation(parent.member(m.key), m.key_token,
                "is read as \"" + std::string(field) + "\": flagd matches member names regardless of case");
  }

  // JSON allows repeated keys and flagd keeps the last; in a flag file that hides a mistake. YAML
  // does not allow them, and flagd refuses such a file.
  void report_duplicate_keys(const JsonValue& v, const JsonPath& path, Severity severity) {
    if (v.kind() == Kind::Object) {
      // Small objects compare their keys pairwise; large ones (the flag map) through a hash set.
      constexpr std::size_t kPairwise = 16;
      const auto members = v.members();
      std::unordered_set<std::string_view> seen;
      if (members.size() > kPairwise) seen.reserve(members.size());
      for (std::size_t i = 0; i < members.size(); ++i) {
        const JsonMember& m = members[i];
        bool duplicate = false;
        if (members.size() > kPairwise) {
          duplicate = !seen.insert(m.key).second;
        } else {
          for (std::size_t j = 0; j < i && !duplicate; ++j) duplicate = members[j].key == m.key;
        }
        const JsonPath step = path.member(m.key);
        if (duplicate)
          report(severity, step, m.key_token,
                 "duplicate key \"" + std::string(m.key) + "\"" +
                     (severity == Severity::Error ? "; YAML forbids it, and flagd refuses the file"
                                                  : ": the last one counts, as in flagd"));
        report_duplicate_keys(m.value, step, severity);
      }
    } else if (v.kind() == Kind::Array) {
      const auto items = v.items();
      for (std::size_t i = 0; i < items.size(); ++i) report_duplicate_keys(items[i], path.element(i), severity);
    }
  }

  void check_evaluators(const JsonValue& v, const JsonPath& path) {
    if (v.kind() == Kind::Null) return;
    if (v.kind() != Kind::Object) {
      error(path, v.token(), "must be an object of named rules, not " + std::string(kind_name(v.kind())));
      return;
    }
    // flagd refuses a file with an evaluator whose text is under three bytes: as written in a
    // JSON file (so "{ }" and 1.0 pass), as flagd writes it for YAML.
    for (const auto& m : v.members())
      if (locator_.source_bytes(m.value.token()).value_or(to_json(m.value).size()) < 3)
        error(path.member(m.key), m.value.token(), "an evaluator must be a rule; flagd refuses an empty one");
  }

  void load_metadata(const JsonValue& v, const JsonPath& path, std::vector<MetadataItem>& out) {
    if (v.kind() == Kind::Null) return;
    if (v.kind() != Kind::Object) {
      error(path, v.token(), "metadata must be an object, not " + std::string(kind_name(v.kind())));
      return;
    }
    if (v.members().size() > limits::kMaxMetadataEntries) {
      error(path, v.token(), "more than " + std::to_string(limits::kMaxMetadataEntries) + " metadata entries");
      return;
    }
    for (const auto& m : v.members()) {
      if (m.key == "expires" && (m.value.kind() != Kind::String || !parse_instant(m.value.text())))
        warning(path.member(m.key), m.value.token(),
                "not an ISO-8601 date or date-time (2026-06-30, 2026-06-30T17:00:00Z); the flag is not checked "
                "for expiry");
      MetadataItem item;
      item.key = m.key;
      bool kept = true;
      switch (m.value.kind()) {
        case Kind::Bool:
          item.kind = layout::MetadataKind::Boolean;
          item.boolean = m.value.boolean();
          break;
        case Kind::Number:
          item.kind = layout::MetadataKind::Number;
          item.number = m.value.number();
          break;
        case Kind::String:
          if (!check_string_size(m.value, path.member(m.key))) continue;
          item.kind = layout::MetadataKind::String;
          item.text = m.value.text();
          break;
        case Kind::Null:  // flagd leaves a null value out of the answer: it hides a set's value too
          kept = false;
          break;
        case Kind::Object:
        case Kind::Array:
          violation(path.member(m.key), m.value.token(),
                    "metadata values must be strings, numbers or booleans (OpenFeature's flag metadata), not " +
                        std::string(kind_name(m.value.kind())) + "; flagd passes it on as it is");
          item.kind = layout::MetadataKind::Json;
          item.text = to_json(m.value);
          if (item.text.size() > limits::kMaxStringBytes) {
            error(path.member(m.key), m.value.token(),
                  "the value exceeds the limit of " + std::to_string(limits::kMaxStringBytes) + " bytes");
            continue;
          }
          break;
      }
      // A flag's value replaces the set's where it stood; null removes it.
      const auto existing = std::find_if(out.begin(), out.end(), [&](const MetadataItem& e) { return e.key == item.key; });
      if (existing == out.end()) {
        if (kept) out.push_back(std::move(item));
      } else if (kept) {
        *existing = std::move(item);
      } else {
        out.erase(existing);
      }
    }
  }

  // String constants of a rule that name one of the flag's variants carry its index, so that a
  // rule answering with one needs no string comparison. Names JSON would escape never match in
  // flagd (it names variants after the JSON text of the result), so they get no index.
  static void name_variants(FlagDefinition& flag) {
    for (auto& node : flag.rule) {
      if (node.op != layout::RuleOp::String) continue;
      const bool plain = go::escapes_to_itself(node.text);
      for (std::size_t v = 0; plain && v < flag.variants.size(); ++v)
        if (flag.variants[v].key == node.text) node.variant_hint = static_cast<std::uint16_t>(v + 1);
    }
  }

  // flagd loads a rule that can answer a constant naming no variant, and answers ERROR, GENERAL
  // when it does: surely a typo, so validate names it.
  void check_result_constants(const JsonValue& targeting, const JsonValue* evaluators, const JsonPath& path,
                              const FlagDefinition& flag) {
    if (flag.variants.empty()) return;  // reported already
    std::vector<std::string_view> keys;
    for (const Variant& v : flag.variants) keys.push_back(v.key);
    for_each_result_constant(targeting, evaluators, path, [&](const JsonValue& constant, const JsonPath& where) {
      const std::optional<std::string> name = variant_named_by(constant);
      if (!name || std::find(keys.begin(), keys.end(), *name) != keys.end()) return;
      violation(where, constant.token(),
                "the rule can answer \"" + *name + "\", which names no variant of flag \"" + flag.key +
                    "\" (flagd answers ERROR, GENERAL there)" + did_you_mean(*name, keys));
    });
  }

  bool check_string_size(const JsonValue& v, const JsonPath& path) {
    if (v.text().size() <= limits::kMaxStringBytes) return true;
    error(path, v.token(), "string of " + std::to_string(v.text().size()) + " bytes exceeds the limit of " +
                               std::to_string(limits::kMaxStringBytes));
    return false;
  }

  // The members of a flag, as Go's decoding fills its struct (go_struct.hpp). Each value is
  // type-checked, as Go checks each; one of the wrong JSON type refuses the file.
  struct FlagMembers {
    const JsonValue* key = nullptr;
    const JsonValue* state = nullptr;
    const JsonValue* variants = nullptr;
    const JsonValue* default_variant = nullptr;
    const JsonValue* targeting = nullptr;
    const JsonValue* metadata = nullptr;
  };

  FlagMembers flag_members(const JsonValue& v, const JsonPath& path, bool keyed_inside) {
    enum Field : std::size_t { kState, kVariants, kDefaultVariant, kTargeting, kMetadata, kKey, kSource };
    static constexpr std::string_view kFields[] = {"state",    "variants", "defaultVariant", "targeting",
                                                   "metadata", "key",      "source"};
    const GoStruct members(v, kFields);
    for (const JsonMember* m : members.unknown())
      violation(path.member(m->key), m->key_token,
                "unknown flag member is ignored" +
                    did_you_mean(m->key, {"state", "variants", "defaultVariant", "targeting", "metadata"}));
    bool typed = true;
    for (std::size_t f = 0; f < std::size(kFields); ++f) {
      const bool is_map = f == kVariants || f == kMetadata;
      for (const GoFieldValue& value : members.values(f)) {
        const JsonMember& m = *value.member;
        if (!value.exact_name) check_case(path, m, kFields[f]);
        const Kind kind = m.value.kind();
        if (f != kTargeting && kind != Kind::Null && kind != (is_map ? Kind::Object : Kind::String)) {
          typed = false;
          error(path.member(m.key), m.value.token(),
                f == kState ? "must be the string \"ENABLED\" or \"DISABLED\", not " + std::string(kind_name(kind))
                : f == kVariants ? "must be an object of variant values, not " + std::string(kind_name(kind))
                : f == kDefaultVariant ? "must be a variant key (a string) or null, not " + std::string(kind_name(kind))
                : f == kMetadata ? "metadata must be an object, not " + std::string(kind_name(kind))
                                 : "must be a string, not " + std::string(kind_name(kind)));
        } else if ((f == kKey && !keyed_inside) || f == kSource) {
          violation(path.member(m.key), m.key_token,
                    f == kSource ? std::string("is ignored: flagd sets a flag's source itself")
                                 : std::string("is ignored: \"key\" names a flag only in the array form of \"flags\", "
                                               "and here the member's name is the flag's key"));
        }
      }
    }
    FlagMembers found;
    if (!typed) return found;  // the file is refused: nothing more to say of this flag
    found.state = members.last_scalar(kState);
    found.default_variant = members.last_scalar(kDefaultVariant);
    found.key = keyed_inside ? members.last_scalar(kKey) : nullptr;
    found.targeting = members.last_raw(kTargeting);
    found.variants = maps_.merge(members.values(kVariants));
    found.metadata = maps_.merge(members.values(kMetadata));
    return found;
  }

  // `from_evaluator`: the flag is (in) an evaluator flagd put in a $ref's place, whose own
  // references it leaves as written.
  bool load_flag(const JsonValue& v, std::uint32_t key_token, const JsonPath& path,
                 const std::vector<MetadataItem>& set_metadata, bool keyed_inside, bool from_evaluator,
                 FlagDefinition& flag) {
    const std::size_t errors_before = errors_;
    if (v.kind() != Kind::Object && v.kind() != Kind::Null) {
      error(path, v.token(), "a flag must be an object, not " + std::string(kind_name(v.kind())));
      return false;
    }
    const FlagMembers m = flag_members(v, path, keyed_inside);
    if (v.kind() == Kind::Null)
      violation(path, v.token(), "a flag must be an object; flagd loads null as a flag with no variants");
    if (errors_ != errors_before) return false;
    if (keyed_inside && (m.key == nullptr || m.key->kind() == Kind::Null)) {
      violation(path, v.token(), "a flag in the array form needs a \"key\"; flagd gives this one the key \"\"");
    } else if (keyed_inside) {
      flag.key = m.key->text();
      key_token = m.key->token();
      if (flag.key.empty()) violation(path, key_token, "the flag key is empty");
    } else if (flag.key.empty()) {
      violation(path, key_token, "the flag key is empty");
    }
    if (flag.key.size() > limits::kMaxFlagKeyBytes)
      error(path, key_token, "flag key is longer than " + std::to_string(limits::kMaxFlagKeyBytes) + " bytes");

    load_state(m.state, v, path, flag);
    load_variants(m.variants, v, path, flag);
    load_default_variant(m.default_variant, path, flag);

    if (m.targeting != nullptr) {
      // Absent or {}: no rule (STATIC). Anything else is compiled (rule_compiler.cpp), null too:
      // flagd's Go engine runs it as a rule that answers null, so its reason is DEFAULT.
      const bool empty = m.targeting->kind() == Kind::Object && m.targeting->members().empty();
      if (!empty) {
        const RuleReporter reporter = [this](Severity severity, const JsonPath& where, std::uint32_t token,
                                             std::string message) { report(severity, where, token, std::move(message)); };
        compile_rule(*m.targeting, evaluators_, from_evaluator, path.member("targeting"), reporter, flag.rule);
        flag.targeting_json = to_json(*m.targeting, [&](const JsonValue& node) -> const JsonValue* {
          const JsonValue* name = reference_name(node);
          return name != nullptr ? resolve_reference(*name, evaluators_, from_evaluator).evaluator : nullptr;
        });
        name_variants(flag);
        check_result_constants(*m.targeting, from_evaluator ? nullptr : evaluators_, path.member("targeting"), flag);
      }
    }

    flag.metadata = set_metadata;
    if (m.metadata != nullptr) load_metadata(*m.metadata, path.member("metadata"), flag.metadata);
    return errors_ == errors_before;
  }

  // Only "DISABLED" disables a flag in flagd: a missing, null or unknown state serves it.
  void load_state(const JsonValue* state, const JsonValue& flag_value, const JsonPath& path, FlagDefinition& flag) {
    flag.enabled = true;
    if (state == nullptr) {
      violation(path, flag_value.token(), "the required member \"state\" is missing; flagd serves the flag as ENABLED");
    } else if (state->kind() == Kind::Null) {
      violation(path.member("state"), state->token(), "is null; flagd serves the flag as ENABLED");
    } else if (state->text() == "DISABLED") {
      flag.enabled = false;
    } else if (state->text() != "ENABLED") {
      violation(path.member("state"), state->token(),
                "unknown state \"" + std::string(state->text()) +
                    "\"; flagd serves the flag as ENABLED (only \"DISABLED\" disables it)" +
                    did_you_mean(state->text(), {"ENABLED", "DISABLED"}));
    }
  }

  void load_variants(const JsonValue* variants, const JsonValue& flag_value, const JsonPath& flag_path,
                     FlagDefinition& flag) {
    const JsonPath path = flag_path.member("variants");
    flag.kind = layout::ValueKind::Boolean;
    if (variants == nullptr || variants->kind() == Kind::Null || variants->members().empty()) {
      if (variants != nullptr && variants->kind() != Kind::Null && variants->kind() != Kind::Object) {
        error(path, variants->token(),
              "must be an object of variant values, not " + std::string(kind_name(variants->kind())));
      } else {
        violation(variants != nullptr ? path : flag_path, variants != nullptr ? variants->token() : flag_value.token(),
                  "a flag needs at least one variant; without one it never answers a variant (the caller's default, or "
                  "ERROR where a rule names one)");
      }
      return;
    }
    const auto members = variants->members();
    if (members.size() > limits::kMaxVariants) {
      error(path, variants->token(),
            std::to_string(members.size()) + " variants exceed the limit of " + std::to_string(limits::kMaxVariants));
      return;
    }
    flag.variants.reserve(members.size());
    const JsonMember* first = nullptr;
    for (const auto& m : members) {
      const JsonPath variant_path = path.member(m.key);
      if (m.key.size() > limits::kMaxStringBytes) {
        error(variant_path, m.key_token, "variant key is too long");
        continue;
      }
      if (m.value.kind() == Kind::String && !check_string_size(m.value, variant_path)) continue;
      Variant variant;
      variant.key = m.key;
      variant.value = variant_value(m.value);
      if (variant.value.text.size() > limits::kMaxStringBytes) {
        error(variant_path, m.value.token(),
              std::string(m.value.kind() == Kind::Object ? "object" : "array") + " value exceeds the limit of " +
                  std::to_string(limits::kMaxStringBytes) + " bytes");
        continue;
      }
      if (variant.value.kind == layout::ValueKind::Other)
        violation(variant_path, m.value.token(),
                  "a variant value must be a boolean, string, number or object, not " +
                      std::string(kind_name(m.value.kind())) + "; flagd answers TYPE_MISMATCH for it");
      if (first == nullptr) {
        first = &m;
        flag.kind = variant.value.kind;
      } else if (variant.value.kind != flag.kind && flag.kind != layout::ValueKind::Mixed) {
        violation(variant_path, m.value.token(),
                  "variant \"" + std::string(m.key) + "\" is " + std::string(kind_name(m.value.kind())) +
                      " but variant \"" + std::string(first->key) + "\" is " +
                      std::string(kind_name(first->value.kind())) +
                      "; flagd answers TYPE_MISMATCH when the type asked for is not the chosen variant's");
        flag.kind = layout::ValueKind::Mixed;
      }
      flag.variants.push_back(std::move(variant));
    }
  }

  void load_default_variant(const JsonValue* default_variant, const JsonPath& flag_path, FlagDefinition& flag) {
    if (default_variant == nullptr || default_variant->kind() == Kind::Null) return;
    const JsonPath path = flag_path.member("defaultVariant");
    if (default_variant->kind() != Kind::String) {
      error(path, default_variant->token(),
            "must be a variant key (a string) or null, not " + std::string(kind_name(default_variant->kind())));
      return;
    }
    if (default_variant->text().empty()) {  // flagd reads "" as no default variant
      violation(path, default_variant->token(), "an empty defaultVariant means none; write null");
      return;
    }
    for (std::size_t i = 0; i < flag.variants.size(); ++i)
      if (flag.variants[i].key == default_variant->text()) flag.default_variant = static_cast<std::uint16_t>(i);
    if (!flag.default_variant)
      error(path, default_variant->token(),
            "\"" + std::string(default_variant->text()) + "\" is not one of the flag's variants; flagd refuses the file");
  }

  std::string file_;
  TokenLocator& locator_;
  std::vector<Diagnostic>& out_;
  DiagnosticLimiter limiter_;
  std::size_t errors_ = 0;  // listed or not
  const JsonValue* evaluators_ = nullptr;
  GoMapMerger maps_;  // variants and metadata merged from members of several cases
};

}  // namespace

void load_document_flags(const JsonValue& root, RepeatedKeys repeated, std::string_view file, TokenLocator& locator,
                         std::vector<FlagDefinition>& flags, std::vector<Diagnostic>& out) {
  DocumentLoader(file, locator, out).load(root, repeated, flags);
}

}  // namespace flagd
