// A source of flag documents that is not a local file: an HTTP server, an etcd key, a flagd sync
// server. Each runs on a thread of its own and hands what it receives to the daemon through a
// SourceSink; the daemon validates, merges and publishes on its own threads, so a slow or hostile
// server can delay its own source and nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "flagd/flag_format.hpp"

namespace flagd {

// What a source's last attempts came to, for `flagctl status` and the metrics. It never holds a
// secret: URIs are shown as display_uri() gives them, errors never quote a credential.
struct SourceHealth {
  std::uint64_t last_attempt_unix_ns = 0;   // the last fetch, poll or (re)connection that ended
  std::uint64_t last_success_unix_ns = 0;   // the last answer that was a document or "unchanged"
  std::string last_error;                   // of the last attempt; "" when it succeeded
  std::string version;                      // of the document last received: ETag, etcd revision
  std::uint64_t bytes = 0;                  // of the document last received
  std::uint64_t fetch_latency_us = 0;       // of the last successful attempt
  std::uint64_t documents = 0;              // documents received since the daemon started
  std::uint64_t unchanged = 0;              // answers that said "unchanged" (HTTP 304)
  std::uint64_t failures = 0;               // attempts that failed
};

// Where a source delivers. Called from the source's thread; implementations are thread-safe and
// return at once (they copy and signal, they never load or publish in the caller's thread).
class SourceSink {
 public:
  virtual ~SourceSink() = default;
  // A document from source `index`, as received: not yet validated. `version` is its ETag or
  // revision ("" if the protocol has none); `format` the notation it is in.
  virtual void document(std::size_t index, std::string text, std::string version, FlagFormat format) = 0;
  // The source's health after an attempt ended, successful or not.
  virtual void health(std::size_t index, const SourceHealth& health) = 0;
};

class RemoteSource {
 public:
  virtual ~RemoteSource() = default;
  // Starts the source's thread; it delivers to `sink` under `index` until stop(). Called once.
  virtual void start(SourceSink& sink, std::size_t index) = 0;
  // Stops the thread within a fraction of a second, interrupting a transfer or a wait in
  // progress, and joins it. Idempotent; the destructor of every implementation calls it.
  virtual void stop() noexcept = 0;
  // The URI without credentials, for logs, status and metrics.
  virtual const std::string& display_uri() const noexcept = 0;
};

}  // namespace flagd
