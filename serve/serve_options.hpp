// What flagd-serve serves, and where: the command-line options it shares with the daemon, which
// passes them on when it starts flagd-serve itself (--sync-port, --ofrep-port...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace flagd::serve {

struct ServeOptions {
  std::string segment = "flagd";
  std::string sync_document;  // the daemon's --sync-document: the flags sync clients are sent
  // flagd.sync.v1 on TCP and/or a Unix socket.
  std::optional<std::uint16_t> sync_port;
  std::string sync_socket_path;
  std::string sync_bind = "127.0.0.1";
  // OFREP over HTTP(S).
  std::optional<std::uint16_t> ofrep_port;
  std::string ofrep_bind = "127.0.0.1";
  // TLS for both when given (flagd's --server-cert-path, --server-key-path).
  std::string server_cert_path, server_key_path;
  // flagd's --context-value KEY=VALUE: the static context sync clients are sent.
  std::vector<std::pair<std::string, std::string>> context_values;  // each key once (the last given)
  // Limits.
  std::size_t max_connections = 1024;       // OFREP connections, and sync streams, each
  std::size_t max_request_bytes = 64 * 1024;
  double requests_per_second = 0;           // OFREP; 0: unlimited
  unsigned request_timeout_ms = 10000;
  unsigned idle_timeout_ms = 60000;

  bool serves() const noexcept { return sync_port || !sync_socket_path.empty() || ofrep_port; }
};

// Reads the option at argv[i] into `options`, advancing `i` past its value: true if it is one
// of these options. On a bad value, true with `error` set.
bool parse_serve_option(int argc, char** argv, int& i, ServeOptions& options, std::string& error);

// What is wrong with the options together ("" if nothing).
std::string serve_options_problem(const ServeOptions& options);

// The options as flagd-serve's command line (the arguments after the program's name).
std::vector<std::string> serve_arguments(const ServeOptions& options);

// The usage text of these options, for --help.
extern const char* const kServeUsage;

// The default --sync-document for a segment: $RUNTIME_DIRECTORY/NAME.sync.json under systemd,
// else /dev/shm/NAME.sync.json, beside the segment.
std::string default_sync_document(const std::string& segment);

}  // namespace flagd::serve
