// etcd://HOST:PORT/KEY (etcds:// for TLS): the flag document is the value of one etcd key, pushed
// by etcd's watch. The source talks to etcd v3's JSON gateway on the client port (POST
// /v3/kv/range, POST /v3/watch) over libcurl, so it needs no gRPC stack of its own.
//
// The key is config.key verbatim: parse_source_uri takes the URI's path with its leading '/'
// (etcd://h:2379/flagd/prod watches the key "/flagd/prod"), as etcd keys are commonly spelled.
//
// At start the key is read; its value, if any, is delivered with its mod_revision (in decimal) as
// the version, and a watch follows from the revision after that read. Each PUT the watch reports
// is delivered (only the last of a batch: it alone is what the key holds). A DELETE delivers
// nothing: the daemon keeps the last document, and health says the key was deleted. When the
// stream drops, the watch resumes after backoff from the revision after the last one seen, so no
// change in between is lost; when etcd has compacted that revision away, the key is read afresh.
#pragma once

#include <memory>

#include "remote_source.hpp"
#include "source_config.hpp"

namespace flagd {

// Throws std::invalid_argument, naming what is wrong, when `config` is not a complete etcd source
// (kind Etcd, a host, a port, a key). Nothing the source does later throws.
std::unique_ptr<RemoteSource> make_etcd_source(const SourceConfig& config);

}  // namespace flagd
