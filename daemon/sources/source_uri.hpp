// Flag sources as flagd spells them: `--uri` values and the `--sources` JSON array.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "source_config.hpp"

namespace flagd {

// One `--uri` value:
//   PATH, file:PATH             a local flag file
//   http://..., https://...     polled with conditional GETs
//   etcd://HOST:PORT/KEY        an etcd key, watched; KEY is the URI's path, leading '/' included
//                               (etcd://h:2379/flagd/prod is the key "/flagd/prod"); etcds:// for TLS
//   grpc://HOST:PORT            a flagd sync server (flagd.sync.v1); grpcs:// for TLS
// `defaults` gives what the URI does not say (poll interval, CA bundle, Authorization). nullopt
// and `error` for a URI that cannot be used, credentials in it included: the command line is
// readable by every user of the host.
std::optional<SourceConfig> parse_source_uri(std::string_view uri, const SourceConfig& defaults, std::string& error);

// flagd's `--sources` value: a JSON array of {"uri", "provider", ...} with flagd's field names
// (provider file, http, grpc, and etcd; selector, providerID, tls, certPath, interval, maxMsgSize)
// and two of flagd's own: authHeaderFile and authHeaderEnv, which replace the secrets flagd takes
// inline (bearerToken, authHeader), refused here for the reason above.
std::optional<std::vector<SourceConfig>> parse_sources_json(std::string_view json, const SourceConfig& defaults,
                                                            std::string& error);

// What the source is called in logs, status and metrics: the URI without userinfo or query
// (http_display_uri), or as given for the kinds whose URIs hold no secret.
std::string display_uri(const SourceConfig& config);

}  // namespace flagd
