// The daemon's sources as DaemonStatus::sources holds them: one line per source, fields separated
// by tabs, so that `flagctl status` (and any tool) reads back what the daemon wrote. Encoding and
// decoding are side by side here and nowhere else.
//
//   URI \t STATE \t SHA256 \t VERSION \t LAST_SUCCESS_NS \t LAST_ATTEMPT_NS \t BYTES \t LATENCY_US \t ERROR \n
//
// A field never holds a tab or a line break (they become spaces). A line that would not fit the
// field is left out, and the last line says how many were.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flagd {

// What the published image holds from a source.
enum class SourceState : std::uint8_t {
  Current,   // its latest document, fetched or read from the source itself
  Stale,     // an earlier good document: the source failed, or served one that was rejected
  Cached,    // the document kept on disk (--cache-dir): the source has not answered since the start
  Waiting,   // nothing yet: no document, no cache; the daemon publishes once every source has one
};

inline std::string_view source_state_name(SourceState s) noexcept {
  switch (s) {
    case SourceState::Current: return "current";
    case SourceState::Stale: return "stale";
    case SourceState::Cached: return "cached";
    case SourceState::Waiting: return "waiting";
  }
  return "?";
}

struct SourceStatus {
  std::string uri;      // without credentials
  SourceState state = SourceState::Waiting;
  std::string sha256;   // hex, of the document in the image; "" if none
  std::string version;  // ETag, revision; "" if none
  std::uint64_t last_success_unix_ns = 0;
  std::uint64_t last_attempt_unix_ns = 0;
  std::uint64_t bytes = 0;
  std::uint64_t fetch_latency_us = 0;
  std::string error;    // of the last attempt or the last rejected document; "" if none
};

namespace source_status_detail {
inline constexpr std::size_t kFields = 9;
inline constexpr std::size_t kMaxErrorBytes = 240;
inline void put(std::string& out, std::string_view field, std::size_t limit = std::string_view::npos) {
  if (field.size() > limit) field = field.substr(0, limit);
  for (char c : field) out += c == '\t' || c == '\n' || c == '\r' ? ' ' : c;
}
inline std::uint64_t number(std::string_view s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}
}  // namespace source_status_detail

// The text for a field of `capacity` bytes (its terminating zero included).
inline std::string encode_source_status(const std::vector<SourceStatus>& sources, std::size_t capacity) {
  using namespace source_status_detail;
  std::string out;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const SourceStatus& s = sources[i];
    std::string line;
    put(line, s.uri);
    line += '\t';
    put(line, source_state_name(s.state));
    line += '\t';
    put(line, s.sha256);
    line += '\t';
    put(line, s.version);
    for (std::uint64_t n : {s.last_success_unix_ns, s.last_attempt_unix_ns, s.bytes, s.fetch_latency_us})
      line += '\t' + std::to_string(n);
    line += '\t';
    put(line, s.error, kMaxErrorBytes);
    line += '\n';
    const std::string more = "(" + std::to_string(sources.size() - i) + " more sources: see the daemon's metrics)\n";
    const bool last = i + 1 == sources.size();
    if (out.size() + line.size() + (last ? 0 : more.size()) + 1 > capacity) return out + more;
    out += line;
  }
  return out;
}

// The sources `text` lists; lines of another shape (the "more sources" line) are skipped.
inline std::vector<SourceStatus> decode_source_status(std::string_view text) {
  using namespace source_status_detail;
  std::vector<SourceStatus> sources;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    std::vector<std::string_view> f;
    for (std::size_t at = 0;;) {
      const std::size_t tab = line.find('\t', at);
      f.push_back(line.substr(at, tab == std::string_view::npos ? std::string_view::npos : tab - at));
      if (tab == std::string_view::npos) break;
      at = tab + 1;
    }
    if (f.size() != kFields) continue;
    SourceStatus s;
    s.uri = std::string(f[0]);
    for (SourceState state : {SourceState::Current, SourceState::Stale, SourceState::Cached, SourceState::Waiting})
      if (f[1] == source_state_name(state)) s.state = state;
    s.sha256 = std::string(f[2]);
    s.version = std::string(f[3]);
    s.last_success_unix_ns = number(f[4]);
    s.last_attempt_unix_ns = number(f[5]);
    s.bytes = number(f[6]);
    s.fetch_latency_us = number(f[7]);
    s.error = std::string(f[8]);
    sources.push_back(std::move(s));
  }
  return sources;
}

}  // namespace flagd
