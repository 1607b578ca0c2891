// grpc://HOST:PORT and grpcs://HOST:PORT: follows a flagd (or flagd-proxy) sync server through
// its flagd.sync.v1 FlagSyncService/SyncFlags stream, so that a host serves what an existing
// flagd deployment serves.
//
// One thread opens the stream with SyncFlagsRequest{provider_id, selector} (the selector also as
// the "flagd-selector" header, which current servers read first) and delivers each message's
// flag_configuration as a document, version "" (the protocol has none). A message identical to
// the document last delivered is counted as unchanged and not delivered again: servers resend
// everything on every change of any of their sources, and on every reconnection.
//
// When the stream fails or ends it reconnects after Backoff::after_failure(); a stream that
// delivered a message resets the backoff. Keepalive pings notice a peer that vanished without
// closing the connection. A document larger than config.max_body_bytes (at most
// limits::kMaxFileBytes) is refused with an error; a message too large for that cap is refused
// by gRPC itself before it is read into memory, and the stream is reopened.
//
// grpcs verifies the server against config.ca_file (PEM, read at each connection, so a rotated
// CA is picked up) or, when it is "", the system's roots.
#pragma once

#include <memory>
#include <string_view>

#include "remote_source.hpp"
#include "source_config.hpp"

namespace flagd {

// `config.kind` is SourceKind::Grpc; host, port, tls, ca_file, selector, provider_id,
// max_body_bytes, connect_timeout and the backoff delays are read. display_uri() is config.uri.
std::unique_ptr<RemoteSource> make_grpc_sync_source(const SourceConfig& config);

// Sends gRPC's own log lines (errors, such as a failed TLS handshake) to `sink` instead of
// stderr in gRPC's format, so they reach the daemon's log as its other lines do. Process-wide;
// call before any source starts. `sink` is called from gRPC's threads and must be thread-safe.
void route_grpc_log(void (*sink)(bool error, std::string_view message));

}  // namespace flagd
