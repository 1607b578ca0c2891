// A JSON object read into a Go struct the way flagd's encoding/json reads it.
//
// flagd re-encodes a flag file through Go maps before it decodes it (so members arrive in byte
// order of their keys), then decodes each object into a struct: a key fills the field of its
// name, or else one whose name it equals but for case (Unicode folding: "ſ" is "s", "K" is "k");
// a scalar or raw field keeps the last value given to it (a null leaves a string field as it
// was), and a map field merges every object given to it (a null empties it).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "json_value.hpp"

namespace flagd {

struct GoFieldValue {
  const JsonMember* member;  // in the order Go decodes them
  bool exact_name;           // false: the key matched the field only by folding case
};

class GoStruct {
 public:
  // In which order Go meets the members: sorted (a document flagd re-encoded through a map), or
  // as written (the one object flagd decodes from the text itself: the top level's $evaluators).
  enum class Order : std::uint8_t { Sorted, AsWritten };

  // Sorts the members of `object` to fields named `fields`; members no field takes go to
  // `unknown`, in the same order.
  GoStruct(const JsonValue& object, std::span<const std::string_view> fields, Order order = Order::Sorted);

  // The values given to field `i`, in decoding order.
  std::span<const GoFieldValue> values(std::size_t i) const noexcept { return values_[i]; }
  std::span<const JsonMember* const> unknown() const noexcept { return unknown_; }

  // What a scalar field ends up holding: the last non-null value, or the last null if all are
  // null; nullptr if the member is absent.
  const JsonValue* last_scalar(std::size_t i) const noexcept;
  // What a raw (json.RawMessage) field holds: the last value, null included.
  const JsonValue* last_raw(std::size_t i) const noexcept;

 private:
  std::vector<std::vector<GoFieldValue>> values_;
  std::vector<const JsonMember*> unknown_;
};

// Which of `fields` a key fills, as encoding/json decides: the exact name first, else a name equal
// to it under Go's case folding; fields.size() if none.
std::size_t go_field_of(std::string_view key, std::span<const std::string_view> fields) noexcept;

// Objects decoded one after another into the same Go map: members merged (a later one replacing
// an earlier of its key, where that one stood), a null emptying the map. Values live as long as
// the merger.
class GoMapMerger {
 public:
  // The merge of `values` (objects and nulls); the one value itself when there is one.
  const JsonValue* merge(std::span<const GoFieldValue> values);

 private:
  JsonArena arena_;
};

}  // namespace flagd
