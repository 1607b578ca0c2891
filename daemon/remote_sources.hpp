// The remote source a configuration names.
#pragma once

#include <memory>
#include <string>

#include "remote_source.hpp"
#include "source_config.hpp"

namespace flagd {

// The source for an Http, Etcd or Grpc configuration, not yet started; null and `error` if it
// cannot be made.
std::unique_ptr<RemoteSource> make_remote_source(const SourceConfig& config, std::string& error);

}  // namespace flagd
