// The flags sync clients are sent, as the daemon last wrote them (its --sync-document), and the
// part of them a selector picks.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flagd::serve {

// Which flags a client asks for, as flagd reads its selector: "" all of them; "flagSetId=ID"
// those whose metadata's flagSetId is ID ("flagSetId=": those with none); "source=NAME" or a
// bare "NAME" those of that source.
struct Selector {
  enum class By : std::uint8_t { All, FlagSetId, Source } by = By::All;
  std::string value;

  auto operator<=>(const Selector&) const = default;
};

// The selector, or why it is not one (an unknown key).
std::optional<Selector> parse_selector(std::string_view text, std::string& error);

// Whether `selector` picks a flag of flag set `flag_set_id` (none: it has no flagSetId) from
// `source`. The one definition of a selector's meaning: the sync document and OFREP both ask it.
bool selector_picks(const Selector& selector, std::optional<std::string_view> flag_set_id, std::string_view source);

// Clients choose their selectors: past this many, what a selector picks is made for each call,
// not kept with the document.
inline constexpr std::size_t kMaxCachedSelectors = 64;

class FlagDocument {
 public:
  // Parses a document as sync_document() writes it; null and `error` if it is not one.
  static std::shared_ptr<const FlagDocument> parse(std::string text, std::string& error);

  // {"flags":{...}} with the flags `selector` picks: the document as written for all of them.
  std::string payload(const Selector& selector) const;
  const std::string& text() const noexcept { return text_; }
  // The source of flag `key` as the document names it; null if it has no such flag.
  const std::string* source_of(std::string_view key) const;

 private:
  struct Flag {
    std::string key_json;  // the key as a JSON string
    std::string json;      // the flag, compact
    std::string source;
    std::optional<std::string> flag_set_id;
  };

  std::string text_;
  std::vector<Flag> flags_;
  std::map<std::string, std::size_t, std::less<>> index_;  // key: its flag in flags_
  // Payloads of the selectors asked for, made once per document (bounded: see payload()).
  mutable std::mutex cache_mutex_;
  mutable std::map<std::pair<int, std::string>, std::shared_ptr<const std::string>> cache_;
};

}  // namespace flagd::serve
