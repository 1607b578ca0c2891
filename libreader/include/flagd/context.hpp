// The evaluation context: the attributes targeting rules read ({"var": "email"}).
//
//   flagd::Context ctx;
//   ctx.set_targeting_key(account_id).set("country", country).set("tier", 3.0);
//   reader.get_bool(handle, ctx, false);
//
// Strings are not copied: the caller's strings must outlive every evaluation that uses the
// context. Up to kInlineAttributes attributes (and kInlineListItems list items in all) live inside
// the Context, so building and reusing one allocates nothing; more spill to the heap. Nested
// objects are set with dotted keys ("user.email"), which is also how rules address them; what
// dotted keys and lists of scalars cannot hold is set as JSON text (set_json).
// A Context is not thread-safe to modify; evaluating many flags with one const Context is fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace flagd {

class Context {
 public:
  static constexpr std::size_t kInlineAttributes = 32;
  static constexpr std::size_t kInlineListItems = 64;

  enum class Type : std::uint8_t { Null, Bool, Number, String, List, Object, Json };

  // An item of a list attribute.
  struct Item {
    Type type = Type::Null;  // Null, Bool, Number or String
    bool boolean = false;
    double number = 0;
    std::string_view text;
    static Item of(std::string_view s) noexcept { return Item{Type::String, false, 0, s}; }
    static Item of(const char* s) noexcept { return of(std::string_view(s)); }
    static Item of(double d) noexcept { return Item{Type::Number, false, d, {}}; }
    static Item of(bool b) noexcept { return Item{Type::Bool, b, 0, {}}; }
  };

  // What lookups compare first: key_hash(key) in bits 0..31 and the key's length in 32..47 (keys
  // of 64 KiB or more set bit 48 instead, which no looked-up tag has), so one comparison of words
  // rules out nearly every other key.
  static constexpr std::uint64_t key_tag(std::uint32_t hash, std::size_t length) noexcept {
    return hash | (length <= 0xFFFF ? std::uint64_t{length} << 32 : std::uint64_t{1} << 48);
  }

  struct Attribute {
    std::uint64_t tag = 0;  // key_tag(key_hash(key), key.size()), computed once when set
    Type type = Type::Null;
    bool boolean = false;
    std::string_view key;
    double number = 0;
    std::string_view text;
    std::uint32_t list_begin = 0;  // into the list items
    std::uint32_t list_size = 0;
    // The first 8 bytes of key and text, zero-padded, taken when set: rules compare short keys
    // and values with one word.
    std::uint64_t key_head = 0;
    std::uint64_t key_tail = 0;   // the last 8 bytes (the whole key, as key_head, if shorter)
    std::uint64_t text_head = 0;
    std::uint64_t text_tail = 0;  // the last 8 bytes (the whole text, as text_head, if shorter)
  };

  Context() = default;
  Context(const Context&) = default;
  Context& operator=(const Context&) = default;

  // Setting a key again replaces its value.
  Context& set(std::string_view key, std::string_view value);
  Context& set(std::string_view key, const char* value) { return set(key, std::string_view(value)); }
  Context& set(std::string_view key, double value);
  Context& set(std::string_view key, std::int64_t value) { return set(key, static_cast<double>(value)); }
  Context& set(std::string_view key, int value) { return set(key, static_cast<double>(value)); }
  Context& set(std::string_view key, bool value);
  Context& set_null(std::string_view key);
  Context& set_list(std::string_view key, std::span<const Item> items);
  // Marks `key` as an object whose members are set with dotted keys ("user" for "user.email"),
  // so that {"var": "user"} is an object rather than missing.
  Context& set_object(std::string_view key);
  // Sets `key` to the value the JSON text `json` holds (its text kept in the attribute's `text`),
  // for what dotted keys and lists of scalars cannot hold: an object with a key that has a '.' in
  // it ({"a.b": 1}: no rule's path reaches that member, yet the object holds it), a list of lists
  // or of objects. The text must be as flagd's engine writes JSON (Go's encoding/json: compact,
  // keys sorted by their bytes, one of each), since rules that read the whole value see it as
  // written; a text that is not JSON fails the evaluations that read it (PARSE_ERROR). Paths
  // reach into it: {"var": "key.0.name"}. Like a string value it is not copied. The targeting
  // key `fractional` hashes must be a string attribute (set_targeting_key), not JSON text.
  Context& set_json(std::string_view key, std::string_view json);
  // The bucketing key of `fractional`: the attribute "targetingKey".
  static constexpr std::string_view kTargetingKey = "targetingKey";
  Context& set_targeting_key(std::string_view key) { return set(kTargetingKey, key); }
  void clear() noexcept;

  std::size_t size() const noexcept { return count_; }
  // The attribute stored under `key`, or nullptr. `hash` is key_hash(key).
  const Attribute* find(std::string_view key, std::uint32_t hash) const noexcept;
  const Attribute* find(std::string_view key) const noexcept;
  // The attribute whose tag is `tag` and for which `same_key(attribute)` holds, or nullptr: for
  // callers that compare keys where they lie (an image's words). Up to kInlineAttributes, one probe
  // of a table indexed by the key's hash, usually the only one; beyond, a scan.
  template <class SameKey>
  const Attribute* find_tagged(std::uint64_t tag, SameKey&& same_key) const noexcept {
    // At most half the table's slots are used, so a probe sequence always reaches an empty one;
    // once the attributes spill, every slot says so, and one comparison tells both from a position.
    for (std::uint64_t probe = tag;; ++probe) {
      const std::size_t at = index_[probe & (kIndexSlots - 1)];
      if (at - 1 >= kInlineAttributes) [[unlikely]] {
        if (at == kEmptySlot) return nullptr;
        break;  // kSpilledSlot
      }
      const Attribute& a = inline_[at - 1];
      if (a.tag == tag && same_key(a)) return &a;
    }
    for (const Attribute& a : spill_)
      if (a.tag == tag && same_key(a)) return &a;
    return nullptr;
  }
  std::span<const Item> list(const Attribute& a) const noexcept;
  std::span<const Attribute> attributes_view() const noexcept { return {attributes(), count_}; }
  // The "targetingKey" attribute, found without a search (every rollout reads it), or nullptr.
  const Attribute* targeting_key() const noexcept {
    return targeting_key_ < count_ ? attributes() + targeting_key_ : nullptr;
  }

 private:
  Attribute& slot_for(std::string_view key);
  Attribute* attributes() noexcept { return spilled_ ? spill_.data() : inline_; }
  const Attribute* attributes() const noexcept { return spilled_ ? spill_.data() : inline_; }
  const Item* items() const noexcept { return items_spilled_ ? item_spill_.data() : items_; }

  static constexpr std::size_t kNoAttribute = static_cast<std::size_t>(-1);
  static constexpr std::size_t kIndexSlots = 2 * kInlineAttributes;
  static_assert((kIndexSlots & (kIndexSlots - 1)) == 0 && kInlineAttributes < 256);

  // Open addressing over the inline attributes: position + 1 (kEmptySlot: empty), at
  // key_tag & (slots - 1) or the next free slot after it. kSpilledSlot in every slot once the
  // attributes spill.
  static constexpr std::uint8_t kEmptySlot = 0, kSpilledSlot = 0xFF;
  static_assert(kInlineAttributes < kSpilledSlot);
  std::uint8_t index_[kIndexSlots] = {};
  Attribute inline_[kInlineAttributes];
  std::size_t count_ = 0;
  std::size_t targeting_key_ = kNoAttribute;  // its index among the attributes
  bool spilled_ = false;
  std::vector<Attribute> spill_;
  Item items_[kInlineListItems];
  std::size_t item_count_ = 0;
  bool items_spilled_ = false;
  std::vector<Item> item_spill_;
};

}  // namespace flagd
