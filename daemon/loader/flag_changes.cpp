#include "flag_changes.hpp"

#include <algorithm>
#include <cstdio>

#include "flag_fingerprint.hpp"
#include "json_value.hpp"
#include "sha256.hpp"

namespace flagd {

namespace {

std::string value_json(const FlagValue& value) {
  std::string out;
  switch (value.kind) {
    case layout::ValueKind::Boolean: out = value.boolean ? "true" : "false"; break;
    case layout::ValueKind::Number: append_json_number(out, value.number); break;
    case layout::ValueKind::String: append_json_string(out, value.text); break;
    case layout::ValueKind::Object:
    case layout::ValueKind::Other:
    case layout::ValueKind::Mixed: out = value.text; break;  // compact JSON already
  }
  return out;
}

std::string metadata_json(const MetadataItem& item) {
  std::string out;
  switch (item.kind) {
    case layout::MetadataKind::Boolean: out = item.boolean ? "true" : "false"; break;
    case layout::MetadataKind::Number: append_json_number(out, item.number); break;
    case layout::MetadataKind::String: append_json_string(out, item.text); break;
    case layout::MetadataKind::Json: out = item.text; break;
  }
  return out;
}

template <class Pairs>
void sort_by_name(Pairs& pairs) {
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

const char* state_name(bool enabled) { return enabled ? "ENABLED" : "DISABLED"; }

// The parts (variants, metadata) that differ between two lists sorted by name. Values that either
// side does not know are not compared.
template <class Value>
std::vector<PartChange> diff_parts(const std::vector<std::pair<std::string, Value>>& before,
                                   const std::vector<std::pair<std::string, Value>>& after) {
  const auto known = [](const Value& v) -> std::optional<std::string> { return v; };
  std::vector<PartChange> changes;
  std::size_t i = 0, j = 0;
  while (i < before.size() || j < after.size()) {
    if (j == after.size() || (i < before.size() && before[i].first < after[j].first)) {
      changes.push_back({PartChange::Kind::Removed, before[i].first, known(before[i].second), std::nullopt});
      ++i;
    } else if (i == before.size() || after[j].first < before[i].first) {
      changes.push_back({PartChange::Kind::Added, after[j].first, std::nullopt, known(after[j].second)});
      ++j;
    } else {
      const std::optional<std::string> was = known(before[i].second), is = known(after[j].second);
      if (was && is && *was != *is) changes.push_back({PartChange::Kind::Changed, before[i].first, was, is});
      ++i;
      ++j;
    }
  }
  return changes;
}

// Whether the facts leave out a part the fingerprint covers.
bool partial(const FlagFacts& f) {
  return !f.rule || std::any_of(f.variants.begin(), f.variants.end(), [](const auto& v) { return !v.second; });
}

std::optional<FlagDiff> diff_flag(const FlagFacts& before, const FlagFacts& after) {
  if (before.fingerprint != 0 && before.fingerprint == after.fingerprint) return std::nullopt;
  FlagDiff d;
  d.key = after.key;
  d.kind = FlagDiff::Kind::Changed;
  d.fingerprint_before = before.fingerprint;
  d.fingerprint_after = after.fingerprint;
  if (before.enabled != after.enabled) d.state = TextChange{state_name(before.enabled), state_name(after.enabled)};
  if (before.default_variant != after.default_variant) d.default_variant = TextChange{before.default_variant, after.default_variant};
  if (before.kind != after.kind)
    d.type = TextChange{std::string(value_kind_name(before.kind)), std::string(value_kind_name(after.kind))};
  d.variants = diff_parts(before.variants, after.variants);
  if (before.rule && after.rule && *before.rule != *after.rule) d.rule = TextChange{before.rule, after.rule};
  d.metadata = diff_parts(before.metadata, after.metadata);
  const bool seen = d.state || d.default_variant || d.type || !d.variants.empty() || d.rule || !d.metadata.empty();
  if (seen) return d;
  // Every part compared equal: a fingerprint that moved saw at most an order of variants or
  // metadata, which answers nothing differently.
  if (!partial(before) && !partial(after)) return std::nullopt;
  // Parts the facts do not hold: the fingerprints differ (equal ones returned above), or one is
  // missing and nothing says the flag did not change.
  d.unseen = true;
  return d;
}

// A value in a journal line: as it is where short, left out otherwise.
std::string shown(const std::optional<std::string>& value) {
  if (!value || value->size() > kShownValueBytes) return "";
  return *value;
}

std::string quoted_or_none(const std::optional<std::string>& name) { return name ? "'" + *name + "'" : "none"; }

void describe_parts(std::string& out, std::string_view what, const std::vector<PartChange>& parts) {
  if (parts.empty()) return;
  out += out.empty() ? "" : "; ";
  out += what;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const PartChange& p = parts[i];
    out += i == 0 ? " " : ", ";
    switch (p.kind) {
      case PartChange::Kind::Added: {
        out += "+" + p.name;
        if (const std::string v = shown(p.after); !v.empty()) out += " (" + v + ")";
        break;
      }
      case PartChange::Kind::Removed: out += "-" + p.name; break;
      case PartChange::Kind::Changed: {
        out += "~" + p.name;
        const std::string was = shown(p.before), is = shown(p.after);
        if (!was.empty() && !is.empty()) out += " (" + was + " -> " + is + ")";
        break;
      }
    }
  }
}

void append_pair(std::string& out, const std::optional<std::string>& before, const std::optional<std::string>& after,
                 bool as_strings) {
  const auto one = [&](const std::optional<std::string>& v) {
    if (!v) out += "null";
    else if (as_strings) append_json_string(out, *v);
    else out += *v;
  };
  out += '[';
  one(before);
  out += ',';
  one(after);
  out += ']';
}

void append_text_change(std::string& out, std::string_view name, const std::optional<TextChange>& change) {
  if (!change) return;
  out += ",\"";
  out += name;
  out += "\":";
  append_pair(out, change->before, change->after, true);
}

// {"added":{NAME:VALUE},"removed":{NAME:VALUE},"changed":{NAME:[OLD,NEW]}}, empty groups left out.
void append_parts(std::string& out, std::string_view name, const std::vector<PartChange>& parts) {
  if (parts.empty()) return;
  out += ",\"";
  out += name;
  out += "\":{";
  bool first_group = true;
  for (const auto& [kind, group] : {std::pair{PartChange::Kind::Added, "added"}, std::pair{PartChange::Kind::Removed, "removed"},
                                    std::pair{PartChange::Kind::Changed, "changed"}}) {
    bool first = true;
    for (const PartChange& p : parts) {
      if (p.kind != kind) continue;
      if (first) {
        out += first_group ? "\"" : ",\"";
        out += group;
        out += "\":{";
        first_group = false;
      }
      if (!first) out += ',';
      first = false;
      append_json_string(out, p.name);
      out += ':';
      if (kind == PartChange::Kind::Changed) append_pair(out, p.before, p.after, false);
      else out += (kind == PartChange::Kind::Added ? p.after : p.before).value_or("null");
    }
    if (!first) out += '}';
  }
  out += '}';
}

}  // namespace

FlagFacts flag_facts(const FlagDefinition& flag) {
  FlagFacts f;
  f.key = flag.key;
  f.enabled = flag.enabled;
  f.kind = flag.kind;
  if (flag.default_variant && *flag.default_variant < flag.variants.size())
    f.default_variant = flag.variants[*flag.default_variant].key;
  f.variants.reserve(flag.variants.size());
  for (const Variant& v : flag.variants) f.variants.emplace_back(v.key, value_json(v.value));
  sort_by_name(f.variants);
  f.rule = flag.targeting_json;
  f.metadata.reserve(flag.metadata.size());
  for (const MetadataItem& item : flag.metadata) f.metadata.emplace_back(item.key, metadata_json(item));
  sort_by_name(f.metadata);
  f.fingerprint = fingerprint(flag);
  return f;
}

std::vector<FlagFacts> flag_facts(const FlagSet& set) {
  std::vector<FlagFacts> facts;
  facts.reserve(set.flags.size());
  for (const FlagDefinition& flag : set.flags) facts.push_back(flag_facts(flag));
  sort_facts(facts);
  return facts;
}

void sort_facts(std::vector<FlagFacts>& facts) {
  std::sort(facts.begin(), facts.end(), [](const FlagFacts& a, const FlagFacts& b) { return a.key < b.key; });
}

std::vector<FlagDiff> diff_flags(const std::vector<FlagFacts>& before, const std::vector<FlagFacts>& after) {
  std::vector<FlagDiff> diffs;
  std::size_t i = 0, j = 0;
  while (i < before.size() || j < after.size()) {
    if (j == after.size() || (i < before.size() && before[i].key < after[j].key)) {
      FlagDiff& d = diffs.emplace_back();
      d.key = before[i].key;
      d.kind = FlagDiff::Kind::Removed;
      d.fingerprint_before = before[i].fingerprint;
      ++i;
    } else if (i == before.size() || after[j].key < before[i].key) {
      const FlagFacts& f = after[j];
      FlagDiff& d = diffs.emplace_back();
      d.key = f.key;
      d.kind = FlagDiff::Kind::Added;
      d.state = TextChange{std::nullopt, state_name(f.enabled)};
      if (f.default_variant) d.default_variant = TextChange{std::nullopt, f.default_variant};
      d.fingerprint_after = f.fingerprint;
      ++j;
    } else {
      if (std::optional<FlagDiff> d = diff_flag(before[i], after[j])) diffs.push_back(std::move(*d));
      ++i;
      ++j;
    }
  }
  return diffs;
}

std::string rule_fingerprint(std::string_view rule) {
  if (rule.empty()) return "none";
  Sha256 digest;
  digest.update(rule);
  return to_hex(digest.finish()).substr(0, 16);
}

std::string fingerprint_hex(std::uint64_t fingerprint) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(fingerprint));
  return text;
}

std::string_view value_kind_name(layout::ValueKind kind) noexcept {
  switch (kind) {
    case layout::ValueKind::Boolean: return "boolean";
    case layout::ValueKind::String: return "string";
    case layout::ValueKind::Number: return "number";
    case layout::ValueKind::Object: return "object";
    case layout::ValueKind::Other: return "other";
    case layout::ValueKind::Mixed: return "mixed";
  }
  return "?";
}

std::string describe(const FlagDiff& d) {
  const std::string flag = "flag '" + d.key + "' ";
  if (d.kind == FlagDiff::Kind::Removed) return flag + "removed";
  if (d.kind == FlagDiff::Kind::Added) {
    const bool enabled = d.state && d.state->after == std::string(state_name(true));
    return flag + "added: " + state_name(enabled) + ", " +
           (d.default_variant && d.default_variant->after ? "default variant '" + *d.default_variant->after + "'"
                                                          : std::string("no default variant"));
  }
  std::string parts;
  const auto add = [&](const std::string& part) { parts += (parts.empty() ? "" : "; ") + part; };
  if (d.state) add("state " + d.state->before.value_or("none") + " -> " + d.state->after.value_or("none"));
  if (d.default_variant)
    add("default variant " + quoted_or_none(d.default_variant->before) + " -> " + quoted_or_none(d.default_variant->after));
  if (d.type) add("type " + d.type->before.value_or("none") + " -> " + d.type->after.value_or("none"));
  describe_parts(parts, "variants", d.variants);
  if (d.rule) {
    const std::string was = d.rule->before.value_or(""), is = d.rule->after.value_or("");
    if (was.size() <= kShownRuleBytes && is.size() <= kShownRuleBytes)
      add("rule " + (was.empty() ? "none" : was) + " -> " + (is.empty() ? "none" : is));
    else
      add("rule changed (fingerprint " + rule_fingerprint(was) + " -> " + rule_fingerprint(is) + ")");
  }
  describe_parts(parts, "metadata", d.metadata);
  if (d.unseen) {
    if (d.fingerprint_before == 0 || d.fingerprint_after == 0)
      add("rule or values may have changed (the image has no fingerprints)");
    else
      add("rule or values changed (fingerprint " + fingerprint_hex(d.fingerprint_before) + " -> " +
          fingerprint_hex(d.fingerprint_after) + ")");
  }
  return flag + "changed: " + parts;
}

void append_json(std::string& out, const FlagDiff& d) {
  out += "{\"key\":";
  append_json_string(out, d.key);
  out += d.kind == FlagDiff::Kind::Added ? ",\"change\":\"added\"" : d.kind == FlagDiff::Kind::Removed ? ",\"change\":\"removed\"" : ",\"change\":\"changed\"";
  append_text_change(out, "state", d.state);
  append_text_change(out, "defaultVariant", d.default_variant);
  append_text_change(out, "type", d.type);
  append_parts(out, "variants", d.variants);
  if (d.rule) {
    const std::string was = d.rule->before.value_or(""), is = d.rule->after.value_or("");
    const auto print = [](const std::string& rule) { return rule.empty() ? std::optional<std::string>() : rule_fingerprint(rule); };
    out += ",\"rule\":{\"fingerprint\":";
    append_pair(out, print(was), print(is), true);
    // The texts are compact JSON already; "" is no rule.
    if (was.size() <= kLoggedRuleBytes) out += ",\"before\":" + (was.empty() ? std::string("null") : was);
    if (is.size() <= kLoggedRuleBytes) out += ",\"after\":" + (is.empty() ? std::string("null") : is);
    out += '}';
  }
  append_parts(out, "metadata", d.metadata);
  if (d.kind == FlagDiff::Kind::Changed) {
    const auto hex = [](std::uint64_t f) { return f == 0 ? std::optional<std::string>() : fingerprint_hex(f); };
    out += ",\"fingerprint\":";
    append_pair(out, hex(d.fingerprint_before), hex(d.fingerprint_after), true);
  }
  out += '}';
}

}  // namespace flagd
