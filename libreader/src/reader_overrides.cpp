// Overrides: what set_override and FLAGD_OVERRIDE_* make a reader answer (reader.hpp).
#include <algorithm>

#include "flagd/reader.hpp"
#include "overrides.hpp"

extern char** environ;

namespace flagd {

namespace {

constexpr std::string_view kPrefix = "FLAGD_OVERRIDE_";

char spelled(char c) noexcept {
  if (c >= 'a' && c <= 'z') return static_cast<char>(c - 'a' + 'A');
  if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return c;
  return '_';
}

}  // namespace

namespace detail {

std::vector<std::pair<std::string, std::string>> environment_overrides() {
  std::vector<std::pair<std::string, std::string>> found;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::size_t equals = entry.find('=');
    if (equals == std::string_view::npos || entry.substr(0, kPrefix.size()) != kPrefix || equals == kPrefix.size())
      continue;
    found.emplace_back(entry.substr(kPrefix.size(), equals - kPrefix.size()), entry.substr(equals + 1));
  }
  return found;
}

bool key_spells(std::string_view key, std::string_view name) noexcept {
  if (key.size() != name.size()) return false;
  for (std::size_t i = 0; i < key.size(); ++i)
    if (spelled(key[i]) != name[i]) return false;
  return true;
}

}  // namespace detail

std::string Reader::override_variable(std::string_view key) {
  std::string name(kPrefix);
  for (char c : key) name += spelled(c);
  return name;
}

const std::string* Reader::find_override(const detail::Overrides& overrides, std::string_view key) noexcept {
  for (const auto& [k, value] : overrides.by_key)
    if (k == key) return &value;
  for (const auto& [name, value] : overrides.by_name)
    if (detail::key_spells(key, name)) return &value;
  return nullptr;
}

void Reader::publish_overrides(std::unique_ptr<detail::Overrides> next) {
  // The inline path looks for no override: while any is set, its bound is 0, which sends every
  // evaluation to the general path. The table is published before the bound drops, and
  // withdrawn before it is restored.
  if (next != nullptr && next->empty()) next.reset();
  if (next != nullptr) {
    overrides_.store(next.get(), std::memory_order_release);
    override_tables_->push_back(std::move(next));
    hot_limit_.store(0, std::memory_order_release);
  } else {
    overrides_.store(nullptr, std::memory_order_release);
    hot_limit_.store(mapping_.load(std::memory_order_acquire)->segment_bytes, std::memory_order_release);
  }
}

void Reader::set_override(std::string_view key, std::string_view value) {
  std::lock_guard lock(*resolve_mutex_);
  const detail::Overrides* now = overrides_.load(std::memory_order_acquire);
  auto next = std::make_unique<detail::Overrides>(now != nullptr ? *now : detail::Overrides{});
  bool replaced = false;
  for (auto& [k, v] : next->by_key)
    if (k == key) {
      v.assign(value);
      replaced = true;
    }
  if (!replaced) next->by_key.emplace_back(key, value);
  publish_overrides(std::move(next));
}

void Reader::clear_override(std::string_view key) {
  std::lock_guard lock(*resolve_mutex_);
  const detail::Overrides* now = overrides_.load(std::memory_order_acquire);
  if (now == nullptr) return;
  auto next = std::make_unique<detail::Overrides>(*now);
  std::erase_if(next->by_key, [&](const auto& entry) { return entry.first == key; });
  publish_overrides(std::move(next));
}

void Reader::clear_overrides() {
  std::lock_guard lock(*resolve_mutex_);
  publish_overrides(nullptr);
}

}  // namespace flagd
