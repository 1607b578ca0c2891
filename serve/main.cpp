// flagd-serve: serves the daemon's flags to other languages, flagd's sync protocol for its
// in-process providers and OFREP for remote evaluation, from a process of its own that maps the
// segment read-only. The daemon starts it (flagd --sync-port/--ofrep-port); it runs alone as well.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "document_watcher.hpp"
#include "flagd/reader.hpp"
#include "http_server.hpp"
#include "log.hpp"
#include "ofrep_service.hpp"
#include "serve_options.hpp"
#include "sync_service.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: flagd-serve [--segment NAME] [--sync-document PATH] (--sync-port PORT | --sync-socket-path PATH | --ofrep-port PORT)...
                   [options]

Serves the flags the daemon publishes in segment NAME (default "flagd") to other languages:
flagd's sync protocol (gRPC, for flagd's in-process providers) and OFREP (HTTP, for OFREP
providers). Evaluations are this project's, from the segment; sync clients get the document the
daemon writes at each publication (--sync-document). `flagd --sync-port ...` starts it itself.

)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "flagd-serve: %s\n(see flagd-serve --help)\n", message.c_str());
  return 2;
}

std::string host_port(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// A socket left by an earlier run would make the listen fail; anything else there is kept.
void remove_stale_socket(const std::string& path) {
  struct stat info{};
  if (::lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode) && info.st_uid == ::geteuid())
    ::unlink(path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  flagd::serve::ServeOptions options;
  long parent = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    std::string error;
    if (arg == "--help" || arg == "-h") {
      std::printf("%s%s", kUsage.data(), flagd::serve::kServeUsage);
      return 0;
    } else if (arg == "--version") {
      std::printf("flagd-serve %s\n", FLAGD_VERSION);
      return 0;
    } else if (arg == "--segment" && i + 1 < argc) {
      options.segment = argv[++i];
    } else if (arg == "--exit-with-parent" && i + 1 < argc) {
      parent = std::strtol(argv[++i], nullptr, 10);
    } else if (flagd::serve::parse_serve_option(argc, argv, i, options, error)) {
      if (!error.empty()) return usage_error(error);
    } else {
      return usage_error("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (options.sync_document.empty()) options.sync_document = flagd::serve::default_sync_document(options.segment);
  if (const std::string problem = flagd::serve::serve_options_problem(options); !problem.empty())
    return usage_error(problem);
  if (!options.serves()) return usage_error("nothing to serve: give --sync-port, --sync-socket-path or --ofrep-port");

  // Started by the daemon: it ends with it, however the daemon ends.
  if (parent > 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) return 0;  // the daemon ended before the line above
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before any thread starts: they all leave these to sigwait
  ::signal(SIGPIPE, SIG_IGN);

  // The document must come from the segment's owner: wait for the segment to know who that is.
  // Waiting for it, a stop is still obeyed (the signals are blocked, so they are waited for).
  flagd::Reader reader = flagd::Reader::detached(options.segment);
  for (int waited = 0; const auto problem = reader.try_attach(); ++waited) {
    if (waited % 50 == 0) flagd::log::info("flagd-serve: waiting for segment '" + options.segment + "': " + problem->message);
    const timespec pause{0, 100'000'000};
    if (sigtimedwait(&stop, nullptr, &pause) > 0) return 0;
  }
  const uid_t owner = reader.status().owner_uid;

  // The sync server asks the watcher for the latest document; the watcher tells the server of
  // each new one. The watcher starts reading once both exist.
  std::unique_ptr<flagd::serve::SyncServer> sync;
  flagd::serve::DocumentWatcher watcher(
      options.sync_document, owner,
      [&sync](std::shared_ptr<const flagd::serve::FlagDocument> document) {
        if (sync) sync->publish(document);
      },
      [](const std::string& problem) { flagd::log::error("flagd-serve: " + problem); });

  if (options.sync_port || !options.sync_socket_path.empty()) {
    flagd::serve::SyncServerOptions s;
    if (options.sync_port) s.addresses.push_back(host_port(options.sync_bind, *options.sync_port));
    if (!options.sync_socket_path.empty()) {
      remove_stale_socket(options.sync_socket_path);
      s.addresses.push_back("unix:" + options.sync_socket_path);
    }
    s.tls_cert_file = options.server_cert_path;
    s.tls_key_file = options.server_key_path;
    s.context_values = options.context_values;
    s.max_streams = options.max_connections;
    auto server = std::make_unique<flagd::serve::SyncServer>(
        std::move(s), [&watcher] { return watcher.current(); },
        [](const std::string& message) { flagd::log::info("flagd-serve: " + message); });
    if (const auto error = server->start()) {
      flagd::log::error("flagd-serve: " + *error);
      return 1;
    }
    sync = std::move(server);
    flagd::log::info("flagd-serve: flagd sync protocol on " +
                     (options.sync_port ? host_port(options.sync_bind, *options.sync_port) : std::string()) +
                     (options.sync_port && !options.sync_socket_path.empty() ? " and " : "") +
                     (options.sync_socket_path.empty() ? std::string() : "unix:" + options.sync_socket_path));
  }

  watcher.start();

  std::unique_ptr<flagd::serve::OfrepService> ofrep;
  std::unique_ptr<flagd::serve::HttpServer> http;
  if (options.ofrep_port) {
    // The static context (--context-value) goes into every OFREP evaluation, as it goes to sync clients.
    ofrep = std::make_unique<flagd::serve::OfrepService>(options.segment, options.context_values,
                                                         [&watcher] { return watcher.current(); });
    flagd::serve::HttpServerOptions h;
    h.bind_address = options.ofrep_bind;
    h.port = *options.ofrep_port;
    h.max_connections = options.max_connections;
    h.max_body_bytes = options.max_request_bytes;
    h.requests_per_second = options.requests_per_second;
    h.request_timeout = std::chrono::milliseconds(options.request_timeout_ms);
    h.idle_timeout = std::chrono::milliseconds(options.idle_timeout_ms);
    h.tls_cert_file = options.server_cert_path;
    h.tls_key_file = options.server_key_path;
    http = std::make_unique<flagd::serve::HttpServer>(
        h, [&ofrep](const flagd::serve::HttpRequest& request) { return ofrep->handle(request); });
    if (const auto error = http->start()) {
      flagd::log::error("flagd-serve: " + *error);
      return 1;
    }
    flagd::log::info("flagd-serve: OFREP on " + host_port(options.ofrep_bind, http->port()));
  }

  int signal = 0;
  sigwait(&stop, &signal);
  flagd::log::info(std::string("flagd-serve: stopping on ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT"));
  if (http) http->stop();
  if (sync) sync->stop();
  return 0;
}
