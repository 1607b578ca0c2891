#include "source_uri.hpp"

#include <simdjson.h>

#include <charconv>

#include "http_source.hpp"

namespace flagd {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// HOST:PORT, HOST a name, an IPv4 address or a bracketed IPv6 address.
bool parse_authority(std::string_view authority, SourceConfig& config, std::string& error) {
  std::string_view host, port;
  if (starts_with(authority, "[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos || close + 1 >= authority.size() || authority[close + 1] != ':') {
      error = "an IPv6 address needs brackets and a port: [::1]:8015";
      return false;
    }
    host = authority.substr(1, close - 1);
    port = authority.substr(close + 2);
  } else {
    const std::size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos) {
      error = "the address needs a port: HOST:PORT";
      return false;
    }
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    error = "the address has no host";
    return false;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    error = "the port '" + std::string(port) + "' is not a number from 1 to 65535";
    return false;
  }
  config.host = std::string(host);
  config.port = static_cast<std::uint16_t>(value);
  return true;
}

std::optional<SourceConfig> parse_uri(std::string_view uri, const SourceConfig& defaults, std::string& error) {
  SourceConfig config = defaults;
  config.uri = std::string(uri);
  const std::size_t scheme_end = uri.find("://");
  const std::string_view scheme = scheme_end == std::string_view::npos ? std::string_view() : uri.substr(0, scheme_end);
  const std::string_view rest = scheme_end == std::string_view::npos ? uri : uri.substr(scheme_end + 3);
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  if (!scheme.empty() && scheme != "file" && authority.find('@') != std::string_view::npos) {
    error = "credentials in a URI are readable by every user of the host (the command line is public); give the "
            "Authorization header with --auth-header-file or --auth-header-env instead";
    return std::nullopt;
  }
  if (scheme.empty()) {
    config.kind = SourceKind::File;
    config.path = std::string(starts_with(uri, "file:") ? uri.substr(5) : uri);
    if (config.path.empty()) {
      error = "a file source needs a path";
      return std::nullopt;
    }
    return config;
  }
  if (scheme == "file") {
    config.kind = SourceKind::File;
    config.path = std::string(rest);  // file:///etc/flags.json: the path keeps its leading '/'
    if (config.path.empty() || config.path[0] != '/') {
      error = "a file:// URI needs an absolute path (file:///etc/flagd/flags.json), or use file:PATH";
      return std::nullopt;
    }
    return config;
  }
  if (scheme == "http" || scheme == "https") {
    config.kind = SourceKind::Http;
    config.tls = scheme == "https";
    if (authority.empty()) {
      error = "the URL has no host";
      return std::nullopt;
    }
    return config;
  }
  if (scheme == "etcd" || scheme == "etcds") {
    config.kind = SourceKind::Etcd;
    config.tls = scheme == "etcds";
    if (!parse_authority(authority, config, error)) return std::nullopt;
    if (slash == std::string_view::npos || slash + 1 >= rest.size()) {
      error = "an etcd source names its key: etcd://HOST:PORT/KEY";
      return std::nullopt;
    }
    config.key = std::string(rest.substr(slash));
    return config;
  }
  if (scheme == "grpc" || scheme == "grpcs") {
    config.kind = SourceKind::Grpc;
    config.tls = scheme == "grpcs";
    if (!parse_authority(authority, config, error)) return std::nullopt;
    if (slash != std::string_view::npos && slash + 1 < rest.size()) {
      error = "a flagd sync URI is grpc://HOST:PORT; give a selector in --sources (\"selector\")";
      return std::nullopt;
    }
    return config;
  }
  error = "the scheme '" + std::string(scheme) + "' is not supported (file, http, https, etcd, etcds, grpc, grpcs)";
  return std::nullopt;
}

}  // namespace

std::optional<SourceConfig> parse_source_uri(std::string_view uri, const SourceConfig& defaults, std::string& error) {
  std::optional<SourceConfig> config = parse_uri(uri, defaults, error);
  // Shown without userinfo or query: a refusal must not repeat the secret it refuses.
  if (!config) error = "--uri '" + http_display_uri(std::string(uri)) + "': " + error;
  return config;
}

std::optional<std::vector<SourceConfig>> parse_sources_json(std::string_view json, const SourceConfig& defaults,
                                                            std::string& error) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const auto e = parser.parse(json.data(), json.size()).get(root); e != simdjson::SUCCESS) {
    error = std::string("--sources is not valid JSON: ") + simdjson::error_message(e);
    return std::nullopt;
  }
  simdjson::dom::array entries;
  if (root.get_array().get(entries) != simdjson::SUCCESS) {
    error = "--sources must be a JSON array of sources ([{\"uri\": ..., \"provider\": ...}])";
    return std::nullopt;
  }
  std::vector<SourceConfig> sources;
  std::size_t index = 0;
  for (simdjson::dom::element entry : entries) {
    const std::string where = "--sources[" + std::to_string(index++) + "]";
    simdjson::dom::object object;
    if (entry.get_object().get(object) != simdjson::SUCCESS) {
      error = where + ": each source is an object";
      return std::nullopt;
    }
    std::string uri, provider;
    SourceConfig given = defaults;
    bool tls = false, tls_given = false;
    for (auto [key_view, value] : object) {
      const std::string key(key_view);
      const auto text = [&](std::string& out) {
        std::string_view v;
        if (value.get_string().get(v) != simdjson::SUCCESS) {
          error = where + "." + key + " must be a string";
          return false;
        }
        out = std::string(v);
        return true;
      };
      const auto whole = [&](std::int64_t low, std::int64_t high, std::int64_t& out) {
        if (value.get_int64().get(out) != simdjson::SUCCESS || out < low || out > high) {
          error = where + "." + key + " must be a whole number from " + std::to_string(low) + " to " +
                  std::to_string(high);
          return false;
        }
        return true;
      };
      std::int64_t number = 0;
      if (key == "uri") {
        if (!text(uri)) return std::nullopt;
      } else if (key == "provider") {
        if (!text(provider)) return std::nullopt;
      } else if (key == "selector") {
        if (!text(given.selector)) return std::nullopt;
      } else if (key == "providerID") {
        if (!text(given.provider_id)) return std::nullopt;
      } else if (key == "certPath") {
        if (!text(given.ca_file)) return std::nullopt;
      } else if (key == "authHeaderFile") {
        if (!text(given.authorization.file)) return std::nullopt;
      } else if (key == "authHeaderEnv") {
        if (!text(given.authorization.env)) return std::nullopt;
      } else if (key == "interval") {
        if (!whole(1, 86400, number)) return std::nullopt;
        given.poll_interval = std::chrono::seconds(number);
      } else if (key == "maxMsgSize") {
        if (!whole(1, static_cast<std::int64_t>(limits::kMaxFileBytes), number)) return std::nullopt;
        given.max_body_bytes = static_cast<std::uint64_t>(number);
      } else if (key == "tls") {
        if (value.get_bool().get(tls) != simdjson::SUCCESS) {
          error = where + ".tls must be true or false";
          return std::nullopt;
        }
        tls_given = true;
      } else if (key == "bearerToken" || key == "authHeader") {
        error = where + "." + key +
                ": a secret on the command line is readable by every user of the host (/proc/PID/cmdline); put "
                "the whole header value in a file (authHeaderFile) or an environment variable (authHeaderEnv)";
        return std::nullopt;
      } else {
        error = where + ": the field \"" + key + "\" is not supported";
        return std::nullopt;
      }
    }
    if (uri.empty()) {
      error = where + ": \"uri\" is required";
      return std::nullopt;
    }
    // flagd writes a gRPC source as HOST:PORT with provider "grpc" and "tls": true.
    std::string spelled = uri;
    if (provider == "grpc" && uri.find("://") == std::string::npos) spelled = (tls ? "grpcs://" : "grpc://") + uri;
    if (provider == "etcd" && uri.find("://") == std::string::npos) spelled = (tls ? "etcds://" : "etcd://") + uri;
    if ((provider == "file" || provider == "fsnotify" || provider == "fileinfo") && uri.find("://") == std::string::npos &&
        !starts_with(uri, "file:"))
      spelled = "file:" + uri;
    std::optional<SourceConfig> config = parse_uri(spelled, given, error);
    if (!config) {
      error = where + " (" + http_display_uri(uri) + "): " + error;
      return std::nullopt;
    }
    const char* expected = nullptr;
    switch (config->kind) {
      case SourceKind::File: expected = "file"; break;
      case SourceKind::Http: expected = "http"; break;
      case SourceKind::Etcd: expected = "etcd"; break;
      case SourceKind::Grpc: expected = "grpc"; break;
    }
    const bool provider_matches = provider.empty() || provider == expected ||
                                  (config->kind == SourceKind::File && (provider == "fsnotify" || provider == "fileinfo"));
    if (!provider_matches) {
      error = where + ": provider \"" + provider + "\" " +
              (provider == "kubernetes" || provider == "gcs" || provider == "azblob" || provider == "s3"
                   ? std::string("is not supported")
                   : "does not match the URI, a " + std::string(expected) + " source");
      return std::nullopt;
    }
    // flagd's "tls" (for gRPC, whose URI there has no scheme); a scheme that says otherwise is
    // a contradiction, not a choice.
    if (tls_given && uri.find("://") != std::string::npos && tls != config->tls) {
      error = where + ": \"tls\": " + (tls ? "true" : "false") + " contradicts the URI's scheme";
      return std::nullopt;
    }
    sources.push_back(std::move(*config));
  }
  if (sources.empty()) {
    error = "--sources lists no source";
    return std::nullopt;
  }
  return sources;
}

std::string display_uri(const SourceConfig& config) {
  // Only an HTTP URL can carry something secret (userinfo, a token in its query).
  return config.kind == SourceKind::Http ? http_display_uri(config.uri) : config.uri;
}

}  // namespace flagd
