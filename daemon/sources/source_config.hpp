// One flag source, as the command line or --sources describes it (flagd's spellings).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "flagd/limits.hpp"

namespace flagd {

enum class SourceKind : std::uint8_t { File, Http, Etcd, Grpc };

// Where the value of an Authorization header comes from: never the command line, where every
// user of the host can read it (/proc/PID/cmdline).
struct SecretRef {
  std::string file;  // a file holding the whole header value ("Bearer abc..."), read at each use
  std::string env;   // or an environment variable holding it
  bool empty() const noexcept { return file.empty() && env.empty(); }
};

struct SourceConfig {
  SourceKind kind = SourceKind::File;
  std::string uri;  // as given: file:PATH, http(s)://..., etcd://HOST:PORT/KEY, grpc(s)://HOST:PORT

  // file
  std::string path;

  // http, etcd, grpc: where to connect. For http the whole URL is `uri`.
  std::string host;
  std::uint16_t port = 0;
  bool tls = false;         // https, grpcs
  std::string ca_file;      // CA bundle to verify the server with; "" the system's
  SecretRef authorization;  // http only: the Authorization header

  // http
  std::chrono::milliseconds poll_interval{5000};   // flagd's default
  std::chrono::milliseconds timeout{10000};         // one whole request, connection included
  std::chrono::milliseconds connect_timeout{3000};
  std::uint64_t max_body_bytes = limits::kMaxFileBytes;

  // etcd
  std::string key;

  // grpc (flagd.sync.v1)
  std::string selector;
  std::string provider_id;

  // Failures back off exponentially, with jitter, from the first delay to the longest.
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
};

}  // namespace flagd
