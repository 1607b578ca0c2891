// Evaluating requests against a reader and writing flagd-style result lines: `flagctl eval`
// (JSON lines in, JSON lines out) and `flagctl get`.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "context_json.hpp"
#include "flagd/reader.hpp"

namespace flagd::cli {

class RequestEvaluator {
 public:
  explicit RequestEvaluator(Reader& reader) : reader_(reader) {}

  // Answers one request line {"flag","type","context","default"} with one result line.
  std::string answer(std::string_view request_line);

  // Evaluates `flag` as the type of its variants (of the variant chosen, when they are of several
  // types), with that type's zero value as the default.
  // `context_json` is the evaluation context (an object) or empty.
  std::string get(std::string_view flag, std::string_view context_json);

 private:
  enum class Type { Boolean, String, Integer, Float, Object };
  Handle handle(std::string_view flag);
  std::string evaluate(std::string_view flag, Type type, std::string_view default_json, const Context& context);

  Reader& reader_;
  JsonContext context_;
  std::unordered_map<std::string, Handle> handles_;
  ErrorCode last_error_ = ErrorCode::None;  // of the last evaluate()
};

}  // namespace flagd::cli
