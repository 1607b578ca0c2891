// An open-addressing hash table keyed by string views, for the loader's large key sets (a file's
// flag map, the image's interned strings, a segment's stable indices). The caller keeps the text
// alive. Entries cost no allocation, and a probe compares stored hashes before it reads any
// text: with 100,000 keys, node-based maps spent most of a reload missing the cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace flagd {

template <class Value>
class StringViewTable {
 public:
  explicit StringViewTable(std::size_t expected = 0) { clear(expected); }

  // Empties the table, sized for `expected` keys; keeps its memory when that is enough.
  void clear(std::size_t expected = 0) {
    std::size_t slots = 16;
    while (slots < expected * 2) slots *= 2;
    slots_.assign(slots, Slot{});
    count_ = 0;
  }

  // The value stored for `key`, or null.
  Value* find(std::string_view key) noexcept {
    Slot& s = probe(slots_, key, hash_of(key));
    return s.hash != 0 ? &s.value : nullptr;
  }
  const Value* find(std::string_view key) const noexcept {
    return const_cast<StringViewTable*>(this)->find(key);
  }

  // Stores `value` for `key` unless the key is there already. The stored value and whether it
  // was inserted.
  std::pair<Value*, bool> insert(std::string_view key, Value value) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    const std::uint64_t hash = hash_of(key);
    Slot& s = probe(slots_, key, hash);
    if (s.hash != 0) return {&s.value, false};
    s = Slot{hash, key, std::move(value)};
    ++count_;
    return {&s.value, true};
  }

  std::size_t size() const noexcept { return count_; }

 private:
  struct Slot {
    std::uint64_t hash = 0;  // 0: empty
    std::string_view key;
    Value value{};
  };

  static std::uint64_t hash_of(std::string_view key) noexcept {
    return std::hash<std::string_view>{}(key) | 1;  // never 0
  }
  // The slot holding `key`, or the empty slot where it belongs.
  static Slot& probe(std::vector<Slot>& slots, std::string_view key, std::uint64_t hash) noexcept {
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots[i];
      if (s.hash == 0 || (s.hash == hash && s.key == key)) return s;
    }
  }
  void grow() {
    std::vector<Slot> bigger(slots_.size() * 2);
    for (Slot& s : slots_)
      if (s.hash != 0) probe(bigger, s.key, s.hash) = std::move(s);
    slots_.swap(bigger);
  }

  std::vector<Slot> slots_;
  std::size_t count_ = 0;
};

}  // namespace flagd
