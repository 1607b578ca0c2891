// flagd's sync protocol served (flagd.sync.v1 FlagSyncService): each SyncFlags stream gets the
// current flags at once and again after every change; FetchAllFlags answers them once;
// GetMetadata gives the static context (--context-value). The selector is read from the
// "flagd-selector" header first and the request's field after it, as flagd reads it; an unknown
// selector key is INVALID_ARGUMENT. provider_id is logged, not enforced, as flagd does.
//
// A slow client never holds a document back from the others, and costs the server little: each
// stream has at most one write in flight and one document waiting, which a newer one replaces,
// and all of them share one serialized copy of each document (sync_responses.hpp). When the
// older documents that slow clients' writes still hold pass a limit, the streams still writing
// one two or more changes old are ended (the client reconnects and gets the newest). The server
// pings idle connections, so a client that vanished without closing its connection is noticed.
#pragma once

#include <cstddef>
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
  // Bytes of older documents slow clients' writes may hold before those streams are ended.
  std::size_t max_slow_client_bytes = std::size_t{128} << 20;
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
  // Bytes of serialized SyncFlags responses alive (held by the server, by streams, by gRPC).
  std::size_t held_response_bytes() const;
  // Ends every stream with UNAVAILABLE (clients reconnect; an OK end would make some stop for
  // good) and stops listening.
  void stop();

 private:
  friend class SyncStream;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flagd::serve
