#include "serve_options.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "flagd/command_line.hpp"

namespace flagd::serve {

const char* const kServeUsage = R"(Serving the flags to other languages (off unless a port is given; flagd's own options):
  --sync-port PORT      flagd's sync protocol (flagd.sync.v1 FlagSyncService, gRPC) on TCP PORT
                        (flagd's default is 8015), for flagd's in-process providers
  --sync-socket-path PATH
                        the same on a Unix socket
  --sync-bind ADDRESS   the address --sync-port listens on (default: 127.0.0.1)
  --ofrep-port PORT     OFREP (OpenFeature Remote Evaluation Protocol) over HTTP on PORT (flagd's
                        default is 8016), for OFREP providers
  --ofrep-bind ADDRESS  the address --ofrep-port listens on (default: 127.0.0.1)
  --server-cert-path PATH, --server-key-path PATH
                        TLS for both (PEM); plaintext without them
  --context-value KEY=VALUE
                        static context sent to sync clients (repeatable)
  --serve-max-connections N
                        OFREP connections and sync streams open at once, each (default: 1024)
  --ofrep-max-body BYTES
                        the largest OFREP request body (default: 65536; larger: 413)
  --ofrep-rate N        OFREP requests per second over all clients (default: unlimited; over it:
                        429 with Retry-After)
  --serve-request-timeout MS
                        how long a request may take to arrive (default: 10000)
  --serve-idle-timeout MS
                        how long an idle OFREP connection stays open (default: 60000)
  --sync-document PATH  where the daemon writes the flags sync clients are sent (default:
                        $RUNTIME_DIRECTORY/NAME.sync.json under systemd, else /dev/shm/NAME.sync.json)
Serving runs in a process of its own (flagd-serve, started and restarted by the daemon), which
maps the segment read-only: no client, however many or slow, can delay a publication.
)";

namespace {

bool whole(const std::string& value, unsigned long long low, unsigned long long high, unsigned long long& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(value.c_str(), &end, 10);
  return !value.empty() && value[0] != '-' && *end == '\0' && errno == 0 && out >= low && out <= high;
}

// A key given again replaces its earlier value, as flagd's option map does: every consumer then
// sees each key once.
void set_context_value(std::vector<std::pair<std::string, std::string>>& values, std::string key, std::string value) {
  for (auto& [k, v] : values)
    if (k == key) {
      v = std::move(value);
      return;
    }
  values.emplace_back(std::move(key), std::move(value));
}

}  // namespace

bool parse_serve_option(int argc, char** argv, int& i, ServeOptions& options, std::string& error) {
  std::string value;
  const auto take = [&](std::string_view name) {
    const OptionMatch match = take_option(argc, argv, i, name, value);
    if (match == OptionMatch::MissingValue) error = std::string(name) + " needs a value";
    return match != OptionMatch::Other;
  };
  unsigned long long n = 0;
  const auto number = [&](std::string_view name, unsigned long long low, unsigned long long high) {
    if (!error.empty()) return false;
    if (whole(value, low, high, n)) return true;
    error = std::string(name) + " takes a whole number from " + std::to_string(low) + " to " + std::to_string(high) +
            ", not \"" + value + "\"";
    return false;
  };
  if (take("--sync-port")) {
    if (number("--sync-port", 1, 65535)) options.sync_port = static_cast<std::uint16_t>(n);
  } else if (take("--ofrep-port")) {
    if (number("--ofrep-port", 1, 65535)) options.ofrep_port = static_cast<std::uint16_t>(n);
  } else if (take("--sync-socket-path")) {
    options.sync_socket_path = value;
  } else if (take("--sync-bind")) {
    options.sync_bind = value;
  } else if (take("--ofrep-bind")) {
    options.ofrep_bind = value;
  } else if (take("--server-cert-path")) {
    options.server_cert_path = value;
  } else if (take("--server-key-path")) {
    options.server_key_path = value;
  } else if (take("--context-value")) {
    const std::size_t equals = value.find('=');
    if (error.empty() && (equals == std::string::npos || equals == 0))
      error = "--context-value takes KEY=VALUE, not \"" + value + "\"";
    else if (error.empty())
      set_context_value(options.context_values, value.substr(0, equals), value.substr(equals + 1));
  } else if (take("--serve-max-connections")) {
    if (number("--serve-max-connections", 1, 1'000'000)) options.max_connections = n;
  } else if (take("--ofrep-max-body")) {
    if (number("--ofrep-max-body", 256, 64ull << 20)) options.max_request_bytes = n;
  } else if (take("--ofrep-rate")) {
    if (number("--ofrep-rate", 0, 100'000'000)) options.requests_per_second = static_cast<double>(n);
  } else if (take("--serve-request-timeout")) {
    if (number("--serve-request-timeout", 10, 3'600'000)) options.request_timeout_ms = static_cast<unsigned>(n);
  } else if (take("--serve-idle-timeout")) {
    if (number("--serve-idle-timeout", 10, 3'600'000)) options.idle_timeout_ms = static_cast<unsigned>(n);
  } else if (take("--sync-document")) {
    if (error.empty() && value.empty()) error = "--sync-document needs a PATH";
    options.sync_document = value;
  } else {
    return false;
  }
  return true;
}

std::string serve_options_problem(const ServeOptions& o) {
  if (o.server_cert_path.empty() != o.server_key_path.empty())
    return "--server-cert-path and --server-key-path go together";
  if (o.serves() && o.sync_document.empty()) return "serving needs --sync-document";
  return "";
}

std::vector<std::string> serve_arguments(const ServeOptions& o) {
  std::vector<std::string> args = {"--segment", o.segment, "--sync-document", o.sync_document};
  const auto add = [&args](const char* name, const std::string& value) {
    args.emplace_back(name);
    args.push_back(value);
  };
  if (o.sync_port) add("--sync-port", std::to_string(*o.sync_port));
  if (!o.sync_socket_path.empty()) add("--sync-socket-path", o.sync_socket_path);
  add("--sync-bind", o.sync_bind);
  if (o.ofrep_port) add("--ofrep-port", std::to_string(*o.ofrep_port));
  add("--ofrep-bind", o.ofrep_bind);
  if (!o.server_cert_path.empty()) add("--server-cert-path", o.server_cert_path);
  if (!o.server_key_path.empty()) add("--server-key-path", o.server_key_path);
  for (const auto& [key, value] : o.context_values) add("--context-value", key + "=" + value);
  add("--serve-max-connections", std::to_string(o.max_connections));
  add("--ofrep-max-body", std::to_string(o.max_request_bytes));
  add("--ofrep-rate", std::to_string(static_cast<unsigned long long>(o.requests_per_second)));
  add("--serve-request-timeout", std::to_string(o.request_timeout_ms));
  add("--serve-idle-timeout", std::to_string(o.idle_timeout_ms));
  return args;
}

std::string default_sync_document(const std::string& segment) {
  if (const char* systemd = std::getenv("RUNTIME_DIRECTORY"); systemd != nullptr && *systemd == '/')
    return std::string(systemd, std::strcspn(systemd, ":")) + "/" + segment + ".sync.json";
  return "/dev/shm/" + segment + ".sync.json";
}

}  // namespace flagd::serve
