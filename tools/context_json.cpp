#include "context_json.hpp"

#include <simdjson.h>

#include <algorithm>
#include <utility>

#include "flagd/go_json.hpp"
#include "flagd/go_number.hpp"
#include "json_parse.hpp"

namespace flagd::cli {

namespace {

bool reachable(std::string_view key) { return key.find('.') == std::string_view::npos; }

// Whether dotted keys and lists of scalars can hold `value`: no key in it has a '.', no list in
// it holds a list or an object.
bool flattens(simdjson::dom::element value) {
  using T = simdjson::dom::element_type;
  if (value.type() == T::OBJECT) {
    for (auto field : simdjson::dom::object(value))
      if (!reachable(field.key) || !flattens(field.value)) return false;
  } else if (value.type() == T::ARRAY) {
    for (auto item : simdjson::dom::array(value))
      if (item.type() == T::OBJECT || item.type() == T::ARRAY) return false;
  }
  return true;
}

// `value` as flagd's engine writes it (Go's encoding/json over what it decoded): compact, numbers
// as float64, keys sorted by their bytes, the last of a repeated key.
void append_go_json(std::string& out, simdjson::dom::element value) {
  using T = simdjson::dom::element_type;
  const auto append_string = [&out](std::string_view s) {
    out += '"';
    go::escape_json(s, [&out](std::string_view piece) { return out.append(piece), true; });
    out += '"';
  };
  switch (value.type()) {
    case T::OBJECT: {
      std::vector<std::pair<std::string_view, simdjson::dom::element>> members;
      for (auto field : simdjson::dom::object(value)) members.emplace_back(field.key, field.value);
      std::stable_sort(members.begin(), members.end(),
                       [](const auto& a, const auto& b) { return go::key_before(a.first, b.first); });
      out += '{';
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i + 1 < members.size() && members[i + 1].first == members[i].first) continue;  // a later one wins
        if (out.back() != '{') out += ',';
        append_string(members[i].first);
        out += ':';
        append_go_json(out, members[i].second);
      }
      out += '}';
      return;
    }
    case T::ARRAY: {
      out += '[';
      for (auto item : simdjson::dom::array(value)) {
        if (out.back() != '[') out += ',';
        append_go_json(out, item);
      }
      out += ']';
      return;
    }
    case T::STRING: append_string(std::string_view(value)); return;
    case T::BOOL: out += bool(value) ? "true" : "false"; return;
    case T::NULL_VALUE: out += "null"; return;
    default: {
      char text[go::kNumberTextBytes];
      out.append(text, go::format_json(double(value), text));
      return;
    }
  }
}

// Nested objects become dotted keys ("user.tier"), and the object's own key is marked, so that
// rules address them as flagd's engine does; lists keep their scalar items. What dotted keys
// cannot hold (a key with a '.', which flagd's var never reaches, since it splits every path at
// dots, yet the object holds; a list of lists or objects) is given to the context as JSON text.
class Flattener {
 public:
  Flattener(Context& context, std::deque<std::string>& strings) : context_(context), strings_(strings) {}

  void add(const std::string& key, simdjson::dom::element value) {
    using T = simdjson::dom::element_type;
    const std::string_view k = keep(key);
    if (!flattens(value)) {
      std::string json;
      append_go_json(json, value);
      context_.set_json(k, keep(json));
      return;
    }
    switch (value.type()) {
      case T::OBJECT:
        context_.set_object(k);
        for (auto field : simdjson::dom::object(value)) add(key + "." + std::string(field.key), field.value);
        break;
      case T::ARRAY: {
        std::vector<Context::Item> items;
        for (auto item : simdjson::dom::array(value)) items.push_back(scalar(item));
        context_.set_list(k, items);
        break;
      }
      case T::STRING: context_.set(k, keep(std::string_view(value))); break;
      case T::BOOL: context_.set(k, bool(value)); break;
      case T::NULL_VALUE: context_.set_null(k); break;
      default: context_.set(k, double(value)); break;
    }
  }

 private:
  Context::Item scalar(simdjson::dom::element value) {
    using T = simdjson::dom::element_type;
    switch (value.type()) {
      case T::STRING: return Context::Item::of(keep(std::string_view(value)));
      case T::BOOL: return Context::Item::of(bool(value));
      case T::INT64:
      case T::UINT64:
      case T::DOUBLE: return Context::Item::of(double(value));
      default: return Context::Item{};  // null (lists of lists or objects are JSON text)
    }
  }
  std::string_view keep(std::string_view s) { return strings_.emplace_back(s); }

  Context& context_;
  std::deque<std::string>& strings_;
};

}  // namespace

bool JsonContext::parse(std::string_view json, std::string& error) {
  context_.clear();
  strings_.clear();
  // Numbers as Go reads them: an integer beyond 64 bits is a double, and -0 keeps its sign (a
  // request's context arrives rewritten so already; a --context one does not).
  const std::string go_numbers = with_integers_as_go_reads_them(json);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto code = parser.parse(go_numbers.data(), go_numbers.size()).get(root)) {
    error = std::string("the context is not valid JSON: ") + simdjson::error_message(code);
    return false;
  }
  if (!root.is_object()) {
    error = "the context must be a JSON object";
    return false;
  }
  Flattener flattener(context_, strings_);
  for (auto field : simdjson::dom::object(root)) {
    if (field.key == "$flagd" || !reachable(field.key)) continue;  // flagd replaces $flagd
    flattener.add(std::string(field.key), field.value);
  }
  return true;
}

}  // namespace flagd::cli
