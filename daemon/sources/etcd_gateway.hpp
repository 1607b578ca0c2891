// The answers of etcd's JSON gateway (grpc-gateway over the v3 API: /v3/kv/range, /v3/watch),
// parsed. The gateway writes protobuf's JSON mapping: int64 fields are strings, bytes are base64,
// and fields at their default value are left out (a PUT event has no "type", an empty value no
// "value", a first watch id no "watch_id").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flagd::etcd {

struct KeyValue {
  std::int64_t mod_revision = 0;
  std::string value_base64;  // still encoded, so that its size can be checked before decoding
};

// POST /v3/kv/range {"key": ...}: the store's revision and the key's value, if it exists.
struct RangeAnswer {
  std::int64_t revision = 0;  // header.revision
  std::optional<KeyValue> kv;
};

// One line of POST /v3/watch: a WatchResponse under "result".
struct WatchAnswer {
  std::int64_t revision = 0;  // header.revision: for a progress notification, all events up to it were sent
  bool created = false;
  bool canceled = false;
  std::int64_t compact_revision = 0;  // set with canceled when the start revision was compacted
  std::string cancel_reason;
  std::size_t event_count = 0;
  // The last event of the answer, which alone decides what the key now holds.
  bool last_is_delete = false;
  KeyValue last;
};

// Each returns nothing and sets `error` (the gateway's own message when it answered an error
// object) if `json` is not such an answer.
std::optional<RangeAnswer> parse_range_answer(std::string_view json, std::string& error);
std::optional<WatchAnswer> parse_watch_answer(std::string_view json, std::string& error);

// The request bodies.
std::string range_request(std::string_view key);
std::string watch_request(std::string_view key, std::int64_t start_revision);

}  // namespace flagd::etcd
