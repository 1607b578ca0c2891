#include "context_json.hpp"

#include <simdjson.h>

#include "json_parse.hpp"

namespace flagd::cli {

namespace {

bool reachable(std::string_view key) { return key.find('.') == std::string_view::npos; }

// Nested objects become dotted keys ("user.tier"), and the object's own key is marked, so that
// rules address them as flagd's engine does. Lists keep their scalar items. A member whose key
// holds a '.' is left out: flagd's var splits every path at dots, so no rule reaches it, while
// here its dotted key would be read as a path into objects.
class Flattener {
 public:
  Flattener(Context& context, std::deque<std::string>& strings) : context_(context), strings_(strings) {}

  void add(const std::string& key, simdjson::dom::element value) {
    using T = simdjson::dom::element_type;
    const std::string_view k = keep(key);
    switch (value.type()) {
      case T::OBJECT:
        context_.set_object(k);
        for (auto field : simdjson::dom::object(value))
          if (reachable(field.key)) add(key + "." + std::string(field.key), field.value);
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
      default: return Context::Item{};  // null, and nested lists or objects (not addressable)
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
