// Evaluating requests against a reader and writing flagd-style result lines: `flagctl eval`
// (JSON lines in, JSON lines out) and `flagctl get`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "context_json.hpp"
#include "flagd/reader.hpp"

namespace flagd::cli {

// An answer in whatever type the flag's chosen variant has: what `flagctl get` prints and what
// OFREP serves.
struct AnyAnswer {
  std::string value_json;  // the value written as JSON (the type's zero value on an error)
  std::optional<std::string> variant;
  Reason reason = Reason::Error;
  ErrorCode error = ErrorCode::None;
  std::vector<MetadataValue> metadata;
};

// What `flagctl get` prints, and what its exit status says.
struct GetAnswer {
  std::string line;         // the result line, as `flagctl eval` writes one
  ErrorCode error = ErrorCode::None;
  std::string usage_error;  // a type or context that is not one: nothing was evaluated
};

class RequestEvaluator {
 public:
  // `remember_unknown`: keep a handle for a key the image does not have, which finds the flag
  // once it appears (and applies an override of it). A server says no: its clients' unknown
  // keys, however many, cost it nothing but their answers.
  explicit RequestEvaluator(Reader& reader, bool remember_unknown = true)
      : reader_(reader), remember_unknown_(remember_unknown) {}

  // Answers one request line {"flag","type","context","default"} with one result line.
  std::string answer(std::string_view request_line);

  // Evaluates `flag` as `type_name` (boolean, string, integer, float, object) or, when it is
  // empty, as the type of its variants (of the variant chosen, when they are of several types),
  // with that type's zero value as the default. `context_json` is the evaluation context (an
  // object) or empty.
  GetAnswer get(std::string_view flag, std::string_view type_name, std::string_view context_json);

  // The same as an answer, in `context`.
  AnyAnswer evaluate_any(std::string_view flag, const Context& context);

 private:
  enum class Type { Boolean, String, Integer, Float, Object };
  static std::optional<Type> type_named(std::string_view name);
  Handle handle(std::string_view flag);
  std::string evaluate(std::string_view flag, Type type, std::string_view default_json, const Context& context);
  AnyAnswer evaluate_typed(std::string_view flag, Type type, std::string_view default_json, const Context& context);

  Reader& reader_;
  bool remember_unknown_;
  JsonContext context_;
  std::unordered_map<std::string, Handle> handles_;
};

}  // namespace flagd::cli
