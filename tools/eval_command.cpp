#include "eval_command.hpp"

#include <simdjson.h>

#include "flagd/go_number.hpp"
#include "json_out.hpp"
#include "json_parse.hpp"
#include "json_value.hpp"

namespace flagd::cli {

namespace {

std::string error_line(std::string_view message) {
  std::string line = "{\"value\":null,\"variant\":null,\"reason\":\"ERROR\",\"errorCode\":\"GENERAL\",\"errorMessage\":";
  append_json_string(line, message);
  line += ",\"flagMetadata\":{}}";
  return line;
}

}  // namespace

Handle RequestEvaluator::handle(std::string_view flag) {
  auto it = handles_.find(std::string(flag));
  if (it != handles_.end()) return it->second;
  if (!remember_unknown_ && !reader_.kind(flag)) return Handle();  // FLAG_NOT_FOUND
  return handles_.emplace(std::string(flag), reader_.resolve(flag)).first->second;
}

std::string RequestEvaluator::evaluate(std::string_view flag, Type type, std::string_view default_json,
                                       const Context& context) {
  const AnyAnswer a = evaluate_typed(flag, type, default_json, context);
  return result_line(a.value_json, a.variant ? &*a.variant : nullptr, a.reason, a.error, a.metadata);
}

AnyAnswer RequestEvaluator::evaluate_typed(std::string_view flag, Type type, std::string_view default_json,
                                           const Context& context) {
  // The default arrives as JSON; parse it into the requested type.
  simdjson::dom::parser parser;
  simdjson::dom::element fallback;
  const bool has_default = !default_json.empty() && !parser.parse(default_json.data(), default_json.size()).get(fallback);
  const Handle h = handle(flag);
  AnyAnswer answer;
  reader_.metadata(h, answer.metadata);
  std::string& value = answer.value_json;
  const auto finish = [&](auto& result) {
    answer.reason = result.reason;
    answer.error = result.error;
    if (result.has_variant) answer.variant = std::move(result.variant);
    return std::move(answer);
  };
  switch (type) {
    case Type::Boolean: {
      bool d = false;
      if (has_default && fallback.is_bool()) d = bool(fallback);
      Evaluation<bool> r;
      reader_.evaluate(h, context, d, r);
      value = r.value ? "true" : "false";
      return finish(r);
    }
    case Type::Integer: {
      std::int64_t d = 0;
      if (has_default && fallback.is_number()) {
        if (fallback.is_int64()) d = std::int64_t(fallback);
        else d = go::to_int(double(fallback));  // as Go converts a number beyond int64
      }
      Evaluation<std::int64_t> r;
      reader_.evaluate(h, context, d, r);
      value = std::to_string(r.value);
      return finish(r);
    }
    case Type::Float: {
      double d = 0;
      if (has_default && fallback.is_number()) d = double(fallback);
      Evaluation<double> r;
      reader_.evaluate(h, context, d, r);
      append_json_number(value, r.value);
      return finish(r);
    }
    case Type::String: {
      std::string d;
      if (has_default && fallback.is_string()) d = std::string(std::string_view(fallback));
      Evaluation<std::string> r;
      reader_.evaluate(h, context, std::string_view(d), r);
      append_json_string(value, r.value);
      return finish(r);
    }
    case Type::Object: {
      std::string d = "{}";
      if (has_default && fallback.is_object()) d = simdjson::minify(fallback);
      Evaluation<std::string> r;
      reader_.evaluate_object(h, context, d, r);
      value = r.value;
      return finish(r);
    }
  }
  answer.reason = Reason::Error;
  answer.error = ErrorCode::General;
  return answer;
}

std::string RequestEvaluator::answer(std::string_view request_line) {
  // Numbers as Go reads them (the context's and the default's): beyond 64 bits a double, -0 signed.
  const std::string line = with_integers_as_go_reads_them(request_line);
  simdjson::dom::parser parser;
  simdjson::dom::element request;
  if (auto code = parser.parse(line.data(), line.size()).get(request))
    return error_line(std::string("request is not valid JSON: ") + simdjson::error_message(code));
  if (!request.is_object()) return error_line("request must be a JSON object");
  std::string_view flag, type_name;
  if (request["flag"].get(flag)) return error_line("request needs \"flag\": a string");
  if (request["type"].get(type_name))
    return error_line("request needs \"type\": boolean, string, integer, float or object");
  const std::optional<Type> type = type_named(type_name);
  if (!type)
    return error_line("unknown \"type\" \"" + std::string(type_name) + "\": boolean, string, integer, float or object");
  simdjson::dom::element context;
  std::string context_json = "{}", error;
  if (!request["context"].get(context)) context_json = simdjson::minify(context);
  if (!context_.parse(context_json, error)) return error_line(error);
  simdjson::dom::element fallback;
  std::string default_json;
  if (!request["default"].get(fallback)) default_json = simdjson::minify(fallback);
  return evaluate(flag, *type, default_json, context_.context());
}

GetAnswer RequestEvaluator::get(std::string_view flag, std::string_view type_name, std::string_view context_json) {
  GetAnswer out;
  const std::optional<Type> type = type_named(type_name);
  if (!type_name.empty() && !type) {
    out.usage_error = "unknown --type '" + std::string(type_name) + "': boolean, string, integer, float or object";
    return out;
  }
  std::string error;
  if (!context_.parse(context_json.empty() ? std::string_view("{}") : context_json, error)) {
    out.usage_error = "--context: " + error;
    return out;
  }
  const AnyAnswer a = type ? evaluate_typed(flag, *type, "", context_.context()) : evaluate_any(flag, context_.context());
  out.line = result_line(a.value_json, a.variant ? &*a.variant : nullptr, a.reason, a.error, a.metadata);
  out.error = a.error;
  return out;
}

std::optional<RequestEvaluator::Type> RequestEvaluator::type_named(std::string_view name) {
  if (name == "boolean") return Type::Boolean;
  if (name == "string") return Type::String;
  if (name == "integer") return Type::Integer;
  if (name == "float") return Type::Float;
  if (name == "object") return Type::Object;
  return std::nullopt;
}

AnyAnswer RequestEvaluator::evaluate_any(std::string_view flag, const Context& context) {
  Type type = Type::Boolean;
  bool mixed = false;
  switch (reader_.kind(handle(flag)).value_or(layout::ValueKind::Boolean)) {
    case layout::ValueKind::Boolean: type = Type::Boolean; break;
    case layout::ValueKind::String: type = Type::String; break;
    case layout::ValueKind::Number: type = Type::Float; break;
    case layout::ValueKind::Object: type = Type::Object; break;
    case layout::ValueKind::Other:
    case layout::ValueKind::Mixed: mixed = true; break;
  }
  if (!mixed) return evaluate_typed(flag, type, "", context);
  // Variants of several types: the answer is in the type of the variant chosen, which only the
  // evaluation tells; every other type is a TYPE_MISMATCH.
  std::optional<AnyAnswer> first;
  for (const Type t : {Type::Object, Type::Boolean, Type::String, Type::Float}) {
    AnyAnswer a = evaluate_typed(flag, t, "", context);
    if (a.error != ErrorCode::TypeMismatch) return a;
    if (!first) first = std::move(a);
  }
  return std::move(*first);
}

}  // namespace flagd::cli
