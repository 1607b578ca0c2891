// A flag document polled over HTTP(S), as a fleet of hosts polls an origin or a CDN: conditional
// GETs (If-None-Match / If-Modified-Since) so an unchanged document costs a 304 and no parse, one
// kept-alive connection per source, verified TLS, a capped body, and failures that back off.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "remote_source.hpp"
#include "source_config.hpp"

namespace flagd {

// A source polling config.uri (http:// or https://) every config.poll_interval, jittered. Only a
// 200 is a document; its version is the ETag, else the Last-Modified value, else "". A 304, or a
// 200 with the very bytes last delivered, delivers nothing and counts as unchanged. Nothing is
// started before start().
std::unique_ptr<RemoteSource> make_http_source(const SourceConfig& config);

// The notation of a document fetched from `url`, as flagd decides it: by the extension of the
// URL's path (format_named) when it has one, else by the response's media type, YAML for
// application/yaml and application/x-yaml (parameters and case aside) and JSON for any other.
FlagFormat http_document_format(std::string_view url, std::string_view content_type) noexcept;

// `url` as logs and status show it: without userinfo, and with "?…" for a query, whose values may
// be tokens. The fragment, never sent, is left out.
std::string http_display_uri(const std::string& url);

}  // namespace flagd
