#include "ofrep_service.hpp"

#include <simdjson.h>

#include "eval_command.hpp"
#include "flagd/reader.hpp"
#include "json_out.hpp"
#include "json_parse.hpp"
#include "json_value.hpp"
#include "sha256.hpp"

namespace flagd::serve {

namespace {

constexpr std::string_view kSinglePrefix = "/ofrep/v1/evaluate/flags/";
constexpr std::string_view kBulkPath = "/ofrep/v1/evaluate/flags";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view without_query(std::string_view target) { return target.substr(0, target.find('?')); }

std::string error_body(std::string_view key, std::string_view code, std::string_view details) {
  std::string out = "{\"key\":";
  append_json_string(out, key);
  out += ",\"errorCode\":";
  append_json_string(out, code);
  out += ",\"errorDetails\":";
  append_json_string(out, details);
  out += '}';
  return out;
}

std::string error_details(std::string_view key, ErrorCode code) {
  switch (code) {
    case ErrorCode::FlagNotFound: return "flag '" + std::string(key) + "' not found";
    case ErrorCode::TypeMismatch: return "flag '" + std::string(key) + "' has a variant of a type OFREP cannot carry";
    case ErrorCode::ParseError: return "flag '" + std::string(key) + "' has a rule that cannot be evaluated";
    default: return "flag '" + std::string(key) + "' could not be evaluated";
  }
}

// One flag's answer as OFREP writes it; `status` set to its HTTP status when evaluated alone.
std::string answer_body(std::string_view key, const cli::AnyAnswer& a, int& status) {
  // flagd's OFREP answers a disabled flag as not found: OFREP clients read no other answer as
  // "use the code default".
  if (a.error == ErrorCode::None && a.reason == Reason::Disabled) {
    status = 404;
    return error_body(key, "FLAG_NOT_FOUND", "flag '" + std::string(key) + "' is disabled");
  }
  if (a.error != ErrorCode::None) {
    status = a.error == ErrorCode::FlagNotFound ? 404 : 400;
    return error_body(key, to_string(a.error), error_details(key, a.error));
  }
  status = 200;
  std::string out = "{\"key\":";
  append_json_string(out, key);
  // A flag with no default variant that no rule matched has no value of its own: the client
  // uses its code default.
  if (a.variant) {
    out += ",\"value\":";
    out += a.value_json;
    out += ",\"variant\":";
    append_json_string(out, *a.variant);
  }
  out += ",\"reason\":";
  append_json_string(out, to_string(a.reason));
  out += ",\"metadata\":";
  cli::append_metadata_json(out, a.metadata);
  out += '}';
  return out;
}

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

bool single_flag_key(std::string_view target, std::string& key) {
  const std::string_view path = without_query(target);
  if (!path.starts_with(kSinglePrefix) || path.size() == kSinglePrefix.size()) return false;
  const std::string_view encoded = path.substr(kSinglePrefix.size());
  key.clear();
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '/') return false;
    if (encoded[i] != '%') {
      key += encoded[i];
      continue;
    }
    if (i + 2 >= encoded.size()) return false;
    const int high = hex_digit(encoded[i + 1]);
    const int low = hex_digit(encoded[i + 2]);
    if (high < 0 || low < 0) return false;
    key += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

struct OfrepService::Worker {
  explicit Worker(const std::string& segment) : reader(Reader::detached(segment)), evaluator(reader, false) {
    // The daemon's answers, not a developer's: overrides from the environment do not apply here.
    reader.clear_overrides();
  }
  Reader reader;
  cli::RequestEvaluator evaluator;
  cli::JsonContext context;
  simdjson::dom::parser parser;
};

OfrepService::OfrepService(std::string segment) : segment_(std::move(segment)) {}
OfrepService::~OfrepService() = default;

OfrepService::Worker& OfrepService::worker() {
  const std::lock_guard lock(mutex_);
  std::unique_ptr<Worker>& w = workers_[std::this_thread::get_id()];
  if (!w) w = std::make_unique<Worker>(segment_);
  return *w;
}

HttpResponse OfrepService::handle(const HttpRequest& request) {
  const std::string_view path = without_query(request.target);
  std::string key;
  const bool single = single_flag_key(request.target, key);
  if (!single && path != kBulkPath)
    return json_response(404, "{\"errorCode\":\"GENERAL\",\"errorDetails\":\"no such endpoint\"}");
  if (request.method != "POST")
    return json_response(405, "{\"errorCode\":\"GENERAL\",\"errorDetails\":\"use POST\"}");
  Worker& w = worker();
  if (!w.reader.attached()) w.reader.try_attach();

  // The body: {"context": {...}}; an empty body is an empty context.
  std::string context_json = "{}";
  if (!request.body.empty()) {
    simdjson::dom::element body;
    simdjson::dom::element context;
    const std::string padded(request.body);
    if (w.parser.parse(padded).get(body) || !body.is_object())
      return json_response(400, error_body(key, "INVALID_CONTEXT", "the request body is not a JSON object"));
    if (const auto found = body["context"]; !found.get(context)) {
      if (!context.is_object())
        return json_response(400, error_body(key, "INVALID_CONTEXT", "\"context\" must be an object"));
      context_json = simdjson::minify(context);
    }
  }
  std::string error;
  if (!w.context.parse(with_integers_as_go_reads_them(context_json), error))
    return json_response(400, error_body(key, "INVALID_CONTEXT", error));

  if (single) {
    int status = 200;
    std::string body = answer_body(key, w.evaluator.evaluate_any(key, w.context.context()), status);
    return json_response(status, std::move(body));
  }

  std::string body = "{\"flags\":[";
  bool first = true;
  for (const FlagSummary& flag : w.reader.list()) {
    if (!first) body += ',';
    first = false;
    int status = 200;
    body += answer_body(flag.key, w.evaluator.evaluate_any(flag.key, w.context.context()), status);
  }
  body += "],\"metadata\":{}}";
  Sha256 digest;
  digest.update(body);
  HttpResponse r;
  r.etag = "\"" + to_hex(digest.finish()) + "\"";
  if (!request.if_none_match.empty() && request.if_none_match == r.etag) {
    r.status = 304;
    return r;
  }
  r.body = std::move(body);
  return r;
}

}  // namespace flagd::serve
