#include "flag_document.hpp"

#include <simdjson.h>

#include "json_value.hpp"

namespace flagd::serve {

std::optional<Selector> parse_selector(std::string_view text, std::string& error) {
  Selector s;
  if (text.empty()) return s;
  const std::size_t equals = text.find('=');
  if (equals == std::string_view::npos) {
    s.by = Selector::By::Source;
    s.value = std::string(text);
    return s;
  }
  const std::string_view key = text.substr(0, equals);
  s.value = std::string(text.substr(equals + 1));
  if (key == "flagSetId") {
    s.by = Selector::By::FlagSetId;
  } else if (key == "source") {
    s.by = Selector::By::Source;
  } else {
    error = "unknown selector key \"" + std::string(key) + "\": flagSetId or source";
    return std::nullopt;
  }
  return s;
}

bool selector_picks(const Selector& selector, std::optional<std::string_view> flag_set_id, std::string_view source) {
  switch (selector.by) {
    case Selector::By::All: return true;
    case Selector::By::Source: return source == selector.value;
    case Selector::By::FlagSetId: return selector.value.empty() ? !flag_set_id : flag_set_id == selector.value;
  }
  return false;
}

std::shared_ptr<const FlagDocument> FlagDocument::parse(std::string text, std::string& error) {
  auto document = std::make_shared<FlagDocument>();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object flags;
  if (const auto code = parser.parse(text).get(root)) {
    error = std::string("not JSON: ") + simdjson::error_message(code);
    return nullptr;
  }
  if (root["flags"].get_object().get(flags)) {
    error = "no \"flags\" object";
    return nullptr;
  }
  for (const auto member : flags) {
    Flag& flag = document->flags_.emplace_back();
    flagd::append_json_string(flag.key_json, member.key);
    flag.json = simdjson::minify(member.value);
    std::string_view value;
    if (!member.value["source"].get_string().get(value)) flag.source = std::string(value);
    if (!member.value["metadata"]["flagSetId"].get_string().get(value)) flag.flag_set_id = std::string(value);
    document->index_.emplace(std::string(member.key), document->flags_.size() - 1);
  }
  document->text_ = std::move(text);
  return document;
}

const std::string* FlagDocument::source_of(std::string_view key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &flags_[it->second].source;
}

std::string FlagDocument::payload(const Selector& selector) const {
  if (selector.by == Selector::By::All) return text_;
  const std::pair<int, std::string> key{static_cast<int>(selector.by), selector.value};
  {
    const std::lock_guard lock(cache_mutex_);
    if (const auto it = cache_.find(key); it != cache_.end()) return *it->second;
  }
  std::string out = "{\"flags\":{";
  bool first = true;
  for (const Flag& flag : flags_) {
    if (!selector_picks(selector, flag.flag_set_id, flag.source)) continue;
    if (!first) out += ',';
    first = false;
    out += flag.key_json;
    out += ':';
    out += flag.json;
  }
  out += "}}";
  const std::lock_guard lock(cache_mutex_);
  if (cache_.size() < kMaxCachedSelectors) cache_.emplace(key, std::make_shared<const std::string>(out));
  return out;
}

}  // namespace flagd::serve
