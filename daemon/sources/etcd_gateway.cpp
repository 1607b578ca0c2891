#include "etcd_gateway.hpp"

#include <simdjson.h>

#include <charconv>

#include "etcd_base64.hpp"

namespace flagd::etcd {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// An int64 as protobuf's JSON mapping writes it (a string), or as a plain number.
bool read_int64(const object& parent, std::string_view field, std::int64_t& out) {
  element value;
  if (parent.at_key(field).get(value) != simdjson::SUCCESS) {
    out = 0;  // left out: the default
    return true;
  }
  if (std::string_view text; value.get_string().get(text) == simdjson::SUCCESS) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
  }
  return value.get_int64().get(out) == simdjson::SUCCESS;
}

bool read_string(const object& parent, std::string_view field, std::string& out) {
  element value;
  if (parent.at_key(field).get(value) != simdjson::SUCCESS) {
    out.clear();
    return true;
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return false;
  out.assign(text);
  return true;
}

bool read_bool(const object& parent, std::string_view field, bool& out) {
  element value;
  if (parent.at_key(field).get(value) != simdjson::SUCCESS) {
    out = false;
    return true;
  }
  return value.get_bool().get(out) == simdjson::SUCCESS;
}

bool read_kv(const object& kv, KeyValue& out) {
  return read_int64(kv, "mod_revision", out.mod_revision) && read_string(kv, "value", out.value_base64);
}

// The gateway's error object: {"error": "...", "message": "...", "code": N} for a unary call, or
// {"error": {"grpc_code": N, "http_code": N, "message": "...", "http_status": "..."}} in a stream.
bool gateway_error(const object& root, std::string& error) {
  element value;
  if (root.at_key("error").get(value) != simdjson::SUCCESS) return false;
  std::string_view message;
  object nested;
  if (value.get_object().get(nested) == simdjson::SUCCESS) {
    if (nested.at_key("message").get_string().get(message) != simdjson::SUCCESS) message = "";
  } else if (root.at_key("message").get_string().get(message) != simdjson::SUCCESS &&
             value.get_string().get(message) != simdjson::SUCCESS) {
    message = "";
  }
  error = "etcd answered an error: " + (message.empty() ? std::string("(no message)") : std::string(message));
  return true;
}

// One parser per thread: it keeps its buffers between answers, and sources run on threads of their own.
bool parse_object(std::string_view json, object& root, std::string& error) {
  thread_local simdjson::dom::parser parser;
  if (const auto e = parser.parse(json.data(), json.size()).get_object().get(root); e != simdjson::SUCCESS) {
    error = std::string("etcd's answer is not a JSON object: ") + simdjson::error_message(e);
    return false;
  }
  return true;
}

}  // namespace

std::optional<RangeAnswer> parse_range_answer(std::string_view json, std::string& error) {
  object root;
  if (!parse_object(json, root, error) || gateway_error(root, error)) return std::nullopt;
  RangeAnswer answer;
  object header;
  if (root.at_key("header").get_object().get(header) != simdjson::SUCCESS ||
      !read_int64(header, "revision", answer.revision) || answer.revision <= 0) {
    error = "etcd's range answer has no header.revision";
    return std::nullopt;
  }
  simdjson::dom::array kvs;
  if (root.at_key("kvs").get_array().get(kvs) == simdjson::SUCCESS && kvs.size() > 0) {
    object kv;
    KeyValue value;
    if (kvs.at(0).get_object().get(kv) != simdjson::SUCCESS || !read_kv(kv, value)) {
      error = "etcd's range answer has a malformed kvs[0]";
      return std::nullopt;
    }
    answer.kv = std::move(value);
  }
  return answer;
}

std::optional<WatchAnswer> parse_watch_answer(std::string_view json, std::string& error) {
  object root;
  if (!parse_object(json, root, error) || gateway_error(root, error)) return std::nullopt;
  object result;
  if (root.at_key("result").get_object().get(result) != simdjson::SUCCESS) {
    error = "etcd's watch answer has no \"result\" object";
    return std::nullopt;
  }
  WatchAnswer answer;
  object header;
  if (result.at_key("header").get_object().get(header) == simdjson::SUCCESS &&
      !read_int64(header, "revision", answer.revision)) {
    error = "etcd's watch answer has a malformed header.revision";
    return std::nullopt;
  }
  if (!read_bool(result, "created", answer.created) || !read_bool(result, "canceled", answer.canceled) ||
      !read_int64(result, "compact_revision", answer.compact_revision) ||
      !read_string(result, "cancel_reason", answer.cancel_reason)) {
    error = "etcd's watch answer has a malformed created, canceled, compact_revision or cancel_reason";
    return std::nullopt;
  }
  simdjson::dom::array events;
  if (result.at_key("events").get_array().get(events) == simdjson::SUCCESS) {
    answer.event_count = events.size();
    if (answer.event_count > 0) {
      object event, kv;
      std::string type;
      if (events.at(answer.event_count - 1).get_object().get(event) != simdjson::SUCCESS ||
          !read_string(event, "type", type) || event.at_key("kv").get_object().get(kv) != simdjson::SUCCESS ||
          !read_kv(kv, answer.last) || (type != "" && type != "PUT" && type != "DELETE")) {
        error = "etcd's watch answer has a malformed last event";
        return std::nullopt;
      }
      answer.last_is_delete = type == "DELETE";
    }
  }
  return answer;
}

std::string range_request(std::string_view key) { return "{\"key\":\"" + base64_encode(key) + "\"}"; }

std::string watch_request(std::string_view key, std::int64_t start_revision) {
  // progress_notify: etcd says now and then, on an idle key, up to which revision it has sent
  // everything, so a resumed watch need not replay what an idle stream already covered.
  return "{\"create_request\":{\"key\":\"" + base64_encode(key) + "\",\"start_revision\":\"" +
         std::to_string(start_revision) + "\",\"progress_notify\":true}}";
}

}  // namespace flagd::etcd
