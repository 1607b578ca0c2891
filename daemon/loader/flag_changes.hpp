// What a publication changed, flag by flag: the one definition the daemon's journal lines and
// audit log (--audit-log) and `flagctl watch` share. Each side describes its flags as FlagFacts,
// from what it knows: the daemon from the definitions it compiled, every part known; a reader of
// the segment from the image, without rule texts or variant values, which it then judges by the
// flag's fingerprint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flag_model.hpp"
#include "flagd/layout.hpp"

namespace flagd {

// A flag as the differ compares it.
struct FlagFacts {
  std::string key;
  bool enabled = true;
  layout::ValueKind kind = layout::ValueKind::Boolean;  // of its variants (Mixed: of several kinds)
  std::optional<std::string> default_variant;           // its name; none when the flag has none
  // Sorted by name; each value as compact JSON, none where it is not known.
  std::vector<std::pair<std::string, std::optional<std::string>>> variants;
  // The targeting as compact JSON, "" when the flag has none; none where it is not known.
  std::optional<std::string> rule;
  std::vector<std::pair<std::string, std::string>> metadata;  // sorted by key; values as compact JSON
  std::uint64_t fingerprint = 0;  // of the whole definition (flag_fingerprint.hpp); 0 if not known
};

FlagFacts flag_facts(const FlagDefinition& flag);
// Every flag of the set, sorted by key, as diff_flags wants them.
std::vector<FlagFacts> flag_facts(const FlagSet& set);
// Sorts facts gathered otherwise (by a reader) by key.
void sort_facts(std::vector<FlagFacts>& facts);

// A variant or a metadata key that a change added, removed or gave another value.
struct PartChange {
  enum class Kind : std::uint8_t { Added, Removed, Changed };
  Kind kind = Kind::Changed;
  std::string name;
  std::optional<std::string> before, after;  // compact JSON; none where absent or not known
  bool operator==(const PartChange&) const = default;
};

// A value of a flag before and after: none where it had none (a flag added, no default variant).
struct TextChange {
  std::optional<std::string> before, after;
  bool operator==(const TextChange&) const = default;
};

// How one flag differs between two publications. An added flag carries its state and default
// variant, a removed one nothing: the rest of a definition is in its source document.
struct FlagDiff {
  enum class Kind : std::uint8_t { Added, Removed, Changed };
  std::string key;
  Kind kind = Kind::Changed;
  std::optional<TextChange> state;            // "ENABLED", "DISABLED"
  std::optional<TextChange> default_variant;  // its name
  std::optional<TextChange> type;             // "boolean", "string", "number", "object", "other", "mixed"
  std::vector<PartChange> variants;           // sorted by name
  std::optional<TextChange> rule;             // the targeting texts, "" for none; both known
  std::vector<PartChange> metadata;           // sorted by key
  // The fingerprints differ and no part the facts hold does: the rule or a variant's value, which
  // the facts did not know, changed.
  bool unseen = false;
  std::uint64_t fingerprint_before = 0, fingerprint_after = 0;
  bool operator==(const FlagDiff&) const = default;
};

// What changed from `before` to `after` (both sorted by key, as flag_facts gives them), sorted by
// key. A flag is unchanged when its fingerprints are equal, or when every part is known on both
// sides and equal (variants or metadata in another order answer the same). Where parts are
// unknown, fingerprints that differ make the change `unseen`, and so does a fingerprint missing
// on either side: nothing says the flag did not change.
std::vector<FlagDiff> diff_flags(const std::vector<FlagFacts>& before, const std::vector<FlagFacts>& after);

// The first 16 hex digits of the SHA-256 of a rule's compact JSON text ("none" for no rule): what
// a rule that is too long to show is named by.
std::string rule_fingerprint(std::string_view rule);
std::string fingerprint_hex(std::uint64_t fingerprint);  // 16 hex digits
std::string_view value_kind_name(layout::ValueKind kind) noexcept;

// One line for an operator (the daemon's journal, flagctl watch), unescaped: the caller escapes
// it as its output needs (printable()). Values are shown where short, rules where both texts fit
// kShownRuleBytes; otherwise by name and fingerprint:
//   flag 'new-ui' added: ENABLED, default variant 'off'
//   flag 'checkout' changed: state ENABLED -> DISABLED; default variant 'a' -> 'b'; variants ~a (1 -> 2), +c (3);
//     rule {"if":[true,"a"]} -> none; metadata ~owner ("x" -> "y")
//   flag 'old' removed
std::string describe(const FlagDiff& diff);
inline constexpr std::size_t kShownRuleBytes = 120;
inline constexpr std::size_t kShownValueBytes = 40;

// The change as the audit log's JSON object (docs/operations.md): {"key","change","state":[old,new],
// "defaultVariant", "type", "variants", "rule", "metadata", "fingerprint"}, each part present only
// when it changed. Rule texts longer than kLoggedRuleBytes are left out; their fingerprints stay.
void append_json(std::string& out, const FlagDiff& diff);
inline constexpr std::size_t kLoggedRuleBytes = 4096;

}  // namespace flagd
