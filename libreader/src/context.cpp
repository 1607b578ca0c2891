#include "flagd/context.hpp"

#include <algorithm>
#include <iterator>

#include "flagd/key_hash.hpp"

namespace flagd {

const Context::Attribute* Context::find(std::string_view key, std::uint32_t hash) const noexcept {
  return find_tagged(key_tag(hash, key.size()), [key](const Attribute& a) { return a.key == key; });
}

const Context::Attribute* Context::find(std::string_view key) const noexcept {
  return find(key, key_hash(key));
}

Context::Attribute& Context::slot_for(std::string_view key) {
  const std::uint32_t hash = key_hash(key);
  if (const Attribute* existing = find(key, hash)) return *const_cast<Attribute*>(existing);
  if (!spilled_ && count_ == kInlineAttributes) {
    spill_.assign(inline_, inline_ + count_);
    spilled_ = true;
    std::fill(std::begin(index_), std::end(index_), kSpilledSlot);
  }
  const std::uint64_t tag = key_tag(hash, key.size());
  Attribute* slot;
  if (spilled_) {
    spill_.emplace_back();
    slot = &spill_.back();
  } else {
    slot = &inline_[count_];
    std::uint64_t probe = tag;
    while (index_[probe & (kIndexSlots - 1)] != 0) ++probe;
    index_[probe & (kIndexSlots - 1)] = static_cast<std::uint8_t>(count_ + 1);
  }
  if (key == kTargetingKey) targeting_key_ = count_;
  ++count_;
  *slot = Attribute{};
  slot->tag = tag;
  slot->key = key;
  slot->key_head = head_word(key);
  slot->key_tail = tail_word_of(key);
  return *slot;
}

Context& Context::set(std::string_view key, std::string_view value) {
  Attribute& a = slot_for(key);
  a.type = Type::String;
  a.text = value;
  a.text_head = head_word(value);
  a.text_tail = tail_word_of(value);
  return *this;
}

Context& Context::set(std::string_view key, double value) {
  Attribute& a = slot_for(key);
  a.type = Type::Number;
  a.number = value;
  return *this;
}

Context& Context::set(std::string_view key, bool value) {
  Attribute& a = slot_for(key);
  a.type = Type::Bool;
  a.boolean = value;
  return *this;
}

Context& Context::set_null(std::string_view key) {
  slot_for(key).type = Type::Null;
  return *this;
}

Context& Context::set_object(std::string_view key) {
  slot_for(key).type = Type::Object;
  return *this;
}

Context& Context::set_json(std::string_view key, std::string_view json) {
  Attribute& a = slot_for(key);
  a.type = Type::Json;
  a.text = json;
  return *this;
}

Context& Context::set_list(std::string_view key, std::span<const Item> list) {
  Attribute& a = slot_for(key);
  if (!items_spilled_ && item_count_ + list.size() > kInlineListItems) {
    item_spill_.assign(items_, items_ + item_count_);
    items_spilled_ = true;
  }
  a.type = Type::List;
  a.list_begin = static_cast<std::uint32_t>(item_count_);
  a.list_size = static_cast<std::uint32_t>(list.size());
  for (const Item& item : list) {
    if (items_spilled_) {
      item_spill_.push_back(item);
    } else {
      items_[item_count_] = item;
    }
    ++item_count_;
  }
  return *this;
}

std::span<const Context::Item> Context::list(const Attribute& a) const noexcept {
  if (a.type != Type::List || a.list_begin + a.list_size > item_count_) return {};
  return {items() + a.list_begin, a.list_size};
}

void Context::clear() noexcept {
  std::fill(std::begin(index_), std::end(index_), kEmptySlot);
  count_ = 0;
  targeting_key_ = kNoAttribute;
  spilled_ = false;
  spill_.clear();
  item_count_ = 0;
  items_spilled_ = false;
  item_spill_.clear();
}

}  // namespace flagd
