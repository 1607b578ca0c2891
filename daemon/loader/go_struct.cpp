#include "go_struct.hpp"

#include <algorithm>

#include "flagd/ascii_case.hpp"

namespace flagd {

namespace {

// Whether a key equals an ASCII field name under Go's case folding, which also folds "ſ"
// (U+017F) to "s" and the Kelvin sign "K" (U+212A) to "k".
bool folds_to(std::string_view key, std::string_view field) noexcept {
  std::size_t at = 0;
  for (const char f : field) {
    const char want = ascii_lower(f);
    const std::string_view rest = key.substr(std::min(at, key.size()));
    if (want == 's' && rest.starts_with("\xC5\xBF")) {
      at += 2;
    } else if (want == 'k' && rest.starts_with("\xE2\x84\xAA")) {
      at += 3;
    } else if (!rest.empty() && ascii_lower(rest[0]) == want) {
      at += 1;
    } else {
      return false;
    }
  }
  return at == key.size();
}

}  // namespace

std::size_t go_field_of(std::string_view key, std::span<const std::string_view> fields) noexcept {
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i] == key) return i;
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (folds_to(key, fields[i])) return i;
  return fields.size();
}

GoStruct::GoStruct(const JsonValue& object, std::span<const std::string_view> fields, Order order)
    : values_(fields.size()) {
  std::vector<const JsonMember*> members;
  for (const JsonMember& m : object.members()) members.push_back(&m);
  if (order == Order::Sorted)
    std::stable_sort(members.begin(), members.end(), [](const JsonMember* a, const JsonMember* b) { return a->key < b->key; });
  for (const JsonMember* m : members) {
    const std::size_t field = go_field_of(m->key, fields);
    if (field == fields.size()) {
      unknown_.push_back(m);
    } else {
      values_[field].push_back(GoFieldValue{m, m->key == fields[field]});
    }
  }
}

const JsonValue* GoStruct::last_scalar(std::size_t i) const noexcept {
  const JsonValue* last = nullptr;
  for (const GoFieldValue& v : values_[i])
    if (last == nullptr || last->kind() == JsonValue::Kind::Null || v.member->value.kind() != JsonValue::Kind::Null)
      last = &v.member->value;
  return last;
}

const JsonValue* GoStruct::last_raw(std::size_t i) const noexcept {
  return values_[i].empty() ? nullptr : &values_[i].back().member->value;
}

const JsonValue* GoMapMerger::merge(std::span<const GoFieldValue> values) {
  if (values.empty()) return nullptr;
  if (values.size() == 1) return &values[0].member->value;
  auto& members = arena_.members(0);
  bool null = false;
  for (const GoFieldValue& v : values) {
    if (v.member->value.kind() != JsonValue::Kind::Object) {  // null; other kinds are the caller's errors
      members.clear();
      null = true;
      continue;
    }
    null = false;
    for (const JsonMember& m : v.member->value.members()) {
      const auto same = std::find_if(members.begin(), members.end(), [&](const JsonMember& e) { return e.key == m.key; });
      if (same == members.end()) members.push_back(m);
      else *same = m;
    }
  }
  const std::uint32_t token = values.back().member->value.token();
  return &arena_.keep(null ? JsonValue::null(token) : JsonValue::of_object(members, token));
}

}  // namespace flagd
