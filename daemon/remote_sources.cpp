#include "remote_sources.hpp"

#include "etcd_source.hpp"
#include "grpc_sync_source.hpp"
#include "http_source.hpp"

namespace flagd {

std::unique_ptr<RemoteSource> make_remote_source(const SourceConfig& config, std::string& error) {
  std::unique_ptr<RemoteSource> source;
  switch (config.kind) {
    case SourceKind::Http: source = make_http_source(config); break;
    case SourceKind::Etcd: source = make_etcd_source(config); break;
    case SourceKind::Grpc: source = make_grpc_sync_source(config); break;
    case SourceKind::File: break;
  }
  if (!source) error = "not a remote source: " + config.uri;
  return source;
}

}  // namespace flagd
