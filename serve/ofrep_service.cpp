#include "ofrep_service.hpp"

#include <simdjson.h>

#include <algorithm>
#include <optional>
#include <variant>

#include "eval_command.hpp"
#include "flag_document.hpp"
#include "flagd/reader.hpp"
#include "json_out.hpp"
#include "json_parse.hpp"
#include "json_value.hpp"
#include "sha256.hpp"

namespace flagd::serve {

namespace {

constexpr std::string_view kSinglePrefix = "/ofrep/v1/evaluate/flags/";
constexpr std::string_view kBulkPath = "/ofrep/v1/evaluate/flags";

using StaticValues = std::vector<std::pair<std::string, std::string>>;  // --context-value KEY=VALUE

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view without_query(std::string_view target) { return target.substr(0, target.find('?')); }

// flagd routes the bulk endpoint with and without a trailing slash.
bool is_bulk_path(std::string_view path) { return path == kBulkPath || path == kSinglePrefix; }

bool is_blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// {"key"?,"errorCode","errorDetails","metadata"?}: no key for the bulk endpoint's own errors,
// no metadata for a request's (flagd writes the flag's for an evaluation's).
std::string error_body(const std::string* key, std::string_view code, std::string_view details,
                       std::string_view metadata_json = {}) {
  std::string out = "{";
  if (key) {
    out += "\"key\":";
    append_json_string(out, *key);
    out += ',';
  }
  out += "\"errorCode\":";
  append_json_string(out, code);
  out += ",\"errorDetails\":";
  append_json_string(out, details);
  if (!metadata_json.empty()) {
    out += ",\"metadata\":";
    out += metadata_json;
  }
  out += '}';
  return out;
}

// An evaluation error as flagd's OFREP reports it: FLAG_NOT_FOUND and PARSE_ERROR as they are,
// any other as GENERAL; flagd's own details.
std::string_view ofrep_error_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::FlagNotFound: return "FLAG_NOT_FOUND";
    case ErrorCode::ParseError: return "PARSE_ERROR";
    default: return "GENERAL";
  }
}

std::string error_details(std::string_view key, ErrorCode code) {
  switch (code) {
    case ErrorCode::FlagNotFound: return "flag `" + std::string(key) + "` does not exist";
    case ErrorCode::ParseError: return "error parsing the flag `" + std::string(key) + "`";
    default: return "error processing the flag for evaluation";
  }
}

// A flag's flag set as flagd reads it: the "flagSetId" of its metadata when that is a string.
std::optional<std::string_view> flag_set_id(const std::vector<MetadataValue>& metadata) {
  for (const MetadataValue& m : metadata)
    if (m.key == "flagSetId") {
      if (const auto* id = std::get_if<std::string>(&m.value)) return *id;
      return std::nullopt;
    }
  return std::nullopt;
}

// A selector and what it is judged by: a flag's flag set by the metadata of its answer (the
// segment's), a flag's source by the sync document, since the segment records no source.
struct Selection {
  Selector selector;
  std::shared_ptr<const FlagDocument> document;  // null until the daemon has written one
};

// Whether the selection picks flag `key`, answered `a`. A source selector picks nothing until
// there is a document to tell a flag's source.
bool selects(const Selection& selection, std::string_view key, const cli::AnyAnswer& a) {
  if (selection.selector.by != Selector::By::Source)
    return selector_picks(selection.selector, flag_set_id(a.metadata), "");
  const std::string* source = selection.document ? selection.document->source_of(key) : nullptr;
  return source && selector_picks(selection.selector, std::nullopt, *source);
}

// An answer's metadata as flagd writes it: the flag's (none for a flag not found) laid over the
// selection's, which names the flagSetId or source selected. (For "flagSetId=" flagd writes the
// internal id it gives flags without one; nothing is written here.)
std::string metadata_json(const Selector& selector, const std::vector<MetadataValue>& flag = {}) {
  const char* selected = selector.value.empty()                  ? nullptr
                         : selector.by == Selector::By::FlagSetId ? "flagSetId"
                         : selector.by == Selector::By::Source    ? "source"
                                                                  : nullptr;
  const bool flag_has_it = selected && std::any_of(flag.begin(), flag.end(), [&](const MetadataValue& m) {
                             return m.key == selected;
                           });
  std::string out;
  if (!selected || flag_has_it) {
    cli::append_metadata_json(out, flag);
    return out;
  }
  std::vector<MetadataValue> merged{{selected, selector.value}};
  merged.insert(merged.end(), flag.begin(), flag.end());
  cli::append_metadata_json(out, merged);
  return out;
}

// Why a selector cannot be served ("" if it can).
std::string selector_problem(std::string_view text, Selector& selector) {
  std::string error;
  const std::optional<Selector> parsed = parse_selector(text, error);
  if (!parsed) return "invalid selector: " + error;
  selector = *parsed;
  return "";
}

// The 200 answer of an evaluated flag, as flagd's models.go writes it.
std::string success_body(std::string_view key, const cli::AnyAnswer& a, const Selector& selector) {
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
  out += metadata_json(selector, a.metadata);
  out += '}';
  return out;
}

bool is_disabled(const cli::AnyAnswer& a) { return a.error == ErrorCode::None && a.reason == Reason::Disabled; }

std::string disabled_body(const std::string& key, const cli::AnyAnswer& a, const Selector& selector) {
  return error_body(&key, "FLAG_NOT_FOUND", "flag `" + key + "` is disabled", metadata_json(selector, a.metadata));
}

// The answer of an evaluation that failed.
std::string failed_body(const std::string& key, const cli::AnyAnswer& a, const Selector& selector) {
  return error_body(&key, ofrep_error_code(a.error), error_details(key, a.error), metadata_json(selector, a.metadata));
}

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// The single-flag endpoint's answer for a flag evaluated under `selection`.
HttpResponse single_answer(const std::string& key, const cli::AnyAnswer& a, const Selection& selection) {
  const Selector& selector = selection.selector;
  if (a.error == ErrorCode::FlagNotFound || !selects(selection, key, a))
    return json_response(404, error_body(&key, "FLAG_NOT_FOUND", error_details(key, ErrorCode::FlagNotFound),
                                         metadata_json(selector)));
  // As flagd up to v0.15.7: @openfeature/ofrep-provider 0.1.3 reads a 404 as "use the code
  // default", and flagd v0.16's 200 without a value as a malformed answer.
  if (is_disabled(a)) return json_response(404, disabled_body(key, a, selector));
  if (a.error != ErrorCode::None) return json_response(400, failed_body(key, a, selector));
  return json_response(200, success_body(key, a, selector));
}

// Appends the bulk endpoint's item for a flag, unless the bulk leaves it out: a flag outside the
// selection, a disabled one (as flagd up to v0.15.7), and one removed since it was listed.
void append_bulk_item(std::string& out, const std::string& key, const cli::AnyAnswer& a, const Selection& selection) {
  if (a.error == ErrorCode::FlagNotFound || !selects(selection, key, a) || is_disabled(a)) return;
  if (out.back() != '[') out += ',';
  out += a.error != ErrorCode::None ? failed_body(key, a, selection.selector) : success_body(key, a, selection.selector);
}

// Appends the JSON object the context is read from: the request's members, then the static
// values, whose keys are left out of the request's (a static value wins, as in flagd).
void append_merged_context(std::string& out, const simdjson::dom::object* request, const StaticValues& statics) {
  const auto is_static = [&statics](std::string_view key) {
    for (const auto& s : statics)
      if (s.first == key) return true;
    return false;
  };
  out += '{';
  if (request)
    for (const auto field : *request) {
      if (is_static(field.key)) continue;
      if (out.back() != '{') out += ',';
      append_json_string(out, field.key);
      out += ':';
      out += simdjson::minify(field.value);
    }
  for (const auto& [key, value] : statics) {
    if (out.back() != '{') out += ',';
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
  }
  out += '}';
}

// The JSON object the context is read from, as flagd decodes a body {"context": {...}}: a
// "context" that is missing or not an object, an empty body and a body of null are the empty
// context. False if the body is neither JSON nor an object or null.
bool request_context_json(simdjson::dom::parser& parser, std::string_view text, const StaticValues& statics,
                          std::string& out) {
  simdjson::dom::element body;
  simdjson::dom::element context;
  simdjson::dom::object request_context;
  bool has_context = false;
  if (!is_blank(text)) {
    const std::string padded(text);
    if (parser.parse(padded).get(body) || !(body.is_object() || body.is_null())) return false;
    has_context = body.is_object() && !body["context"].get(context) && !context.get_object().get(request_context);
  }
  if (has_context && statics.empty())
    out = simdjson::minify(context);
  else
    append_merged_context(out, has_context ? &request_context : nullptr, statics);
  return true;
}

// The bulk endpoint's answer: every flag of the image the selector picks, with an ETag of the
// answer (304 to an If-None-Match that names it).
HttpResponse bulk_answer(const Reader& reader, cli::RequestEvaluator& evaluator, const Context& context,
                         const Selection& selection, std::string_view if_none_match) {
  std::string body = "{\"flags\":[";
  for (const FlagSummary& flag : reader.list())
    append_bulk_item(body, flag.key, evaluator.evaluate_any(flag.key, context), selection);
  body += "],\"metadata\":";
  body += metadata_json(selection.selector);
  body += '}';
  Sha256 digest;
  digest.update(body);
  HttpResponse r;
  r.etag = "\"" + to_hex(digest.finish()) + "\"";
  if (!if_none_match.empty() && if_none_match_names(if_none_match, r.etag)) {
    r.status = 304;
    return r;
  }
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

bool if_none_match_names(std::string_view field, std::string_view etag) {
  // The opaque tag: the quoted part, quotes included.
  const std::string_view wanted = etag.starts_with("W/") ? etag.substr(2) : etag;
  std::size_t at = 0;
  while (at < field.size()) {
    if (field[at] == ' ' || field[at] == '\t' || field[at] == ',') {
      ++at;
      continue;
    }
    if (field.substr(at).starts_with("W/")) at += 2;
    if (at >= field.size() || field[at] != '"') return false;
    const std::size_t close = field.find('"', at + 1);
    if (close == std::string_view::npos) return false;
    if (field.substr(at, close + 1 - at) == wanted) return true;
    at = close + 1;
  }
  return false;
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

OfrepService::OfrepService(std::string segment, std::vector<std::pair<std::string, std::string>> context_values,
                           std::function<std::shared_ptr<const FlagDocument>()> document)
    : segment_(std::move(segment)),
      context_values_(std::move(context_values)),
      document_(std::move(document)) {}
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
  if (!single && !is_bulk_path(path))
    return json_response(404, "{\"errorCode\":\"GENERAL\",\"errorDetails\":\"no such endpoint\"}");
  if (request.method != "POST")
    return json_response(405, "{\"errorCode\":\"GENERAL\",\"errorDetails\":\"use POST\"}");
  const std::string* error_key = single ? &key : nullptr;
  Worker& w = worker();
  if (!w.reader.attached()) w.reader.try_attach();

  std::string context_json;
  if (!request_context_json(w.parser, request.body, context_values_, context_json))
    return json_response(400, error_body(error_key, "INVALID_CONTEXT", "the request body is not a JSON object"));
  std::string error;
  if (!w.context.parse(with_integers_as_go_reads_them(context_json), error))
    return json_response(400, error_body(error_key, "INVALID_CONTEXT", error));

  Selection selection;
  if (const std::string problem = selector_problem(request.flagd_selector, selection.selector); !problem.empty())
    return json_response(400, error_body(error_key, "GENERAL", problem));
  if (selection.selector.by == Selector::By::Source && document_) selection.document = document_();

  if (single) return single_answer(key, w.evaluator.evaluate_any(key, w.context.context()), selection);
  return bulk_answer(w.reader, w.evaluator, w.context.context(), selection, request.if_none_match);
}

}  // namespace flagd::serve
