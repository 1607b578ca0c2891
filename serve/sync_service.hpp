// flagd's sync protocol served (flagd.sync.v1 FlagSyncService): each SyncFlags stream gets the
// current flags at once and again after every change; FetchAllFlags answers them once;
// GetMetadata gives the static context (--context-value). The selector is read from the
// "flagd-selector" header first and the request's field after it, as flagd reads it; an unknown
// selector key is INVALID_ARGUMENT. provider_id is logged, not enforced, as flagd does.
//
// A slow client never holds a document back from the others, and never makes the server keep
// more than the newest for it: each stream has at most one write in flight and one document
// waiting, which a newer one replaces.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flag_document.hpp"

namespace flagd::serve {

struct SyncServerOptions {
  std::vector<std::string> addresses;  // gRPC listening addresses: "127.0.0.1:8015", "unix:/run/flagd/sync.sock"
  std::string tls_cert_file, tls_key_file;  // PEM; empty: plaintext
  std::vector<std::pair<std::string, std::string>> context_values;
  std::size_t max_streams = 1024;  // SyncFlags streams open at once; beyond: RESOURCE_EXHAUSTED
};

class SyncServer {
 public:
  using Log = std::function<void(const std::string&)>;

  // `current` gives the latest document (null until there is one).
  SyncServer(SyncServerOptions options, std::function<std::shared_ptr<const FlagDocument>()> current, Log log);
  ~SyncServer();  // stops
  SyncServer(const SyncServer&) = delete;
  SyncServer& operator=(const SyncServer&) = delete;

  // Listens; a message (which address, why) if it cannot.
  std::optional<std::string> start();
  // Sends `document` to every open stream.
  void publish(const std::shared_ptr<const FlagDocument>& document);
  // Ends every stream with UNAVAILABLE (clients reconnect; an OK end would make some stop for
  // good) and stops listening.
  void stop();

 private:
  friend class SyncStream;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flagd::serve
