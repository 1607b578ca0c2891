// An embeddable HTTP/1.1 server (Boost.Beast, optionally TLS) into which a component plugs one
// handler, e.g. the OFREP endpoint. It is meant to face hostile clients without harming the
// process that hosts it: every connection's memory is bounded by the limits below, every wait on
// a client has a deadline, the number of connections is capped, requests can be rate-limited, and
// nothing a client sends blocks a thread or throws out of one.
//
// Beast, Asio and OpenSSL stay out of this header: it is cheap to include.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace flagd::serve {

// One request as the handler sees it. The views point into the server's buffers and are valid
// only during the handler's call.
struct HttpRequest {
  std::string_view method;         // "POST", "GET", ...
  std::string_view target;         // the request target as sent, e.g. "/ofrep/v1/evaluate/flags/my-flag"
  std::string_view body;
  std::string_view if_none_match;  // the If-None-Match header, "" if absent
  std::string_view content_type;   // "" if absent
  std::string_view flagd_selector; // the flagd-selector header (which flags), "" if absent
};

struct HttpResponse {
  int status = 200;                // 200..599; anything else is answered 500
  std::string body;                // sent as is (not for 204 and 304, which have none)
  std::string content_type = "application/json";
  std::string etag;                // sent as the ETag header when not empty (caller supplies quotes)
  int retry_after_seconds = 0;     // Retry-After header when > 0
};

// Called on one of the server's threads, concurrently from several; must not throw (the server
// catches and answers 500 if it does anyway). It must not call HttpServer::stop().
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";   // IPv4 or IPv6 literal; "0.0.0.0" / "::" for all
  std::uint16_t port = 0;                    // 0: any free port (port() tells which)
  unsigned threads = 2;                      // 0 is taken as 1
  std::size_t max_connections = 1024;        // beyond this, new connections get a 503 and are closed at once
  std::size_t max_body_bytes = 64 * 1024;    // larger: 413, connection closed
  std::size_t max_header_bytes = 16 * 1024;  // larger: 431, connection closed
  // The whole request (from its first byte; on a new connection from the accept, TLS handshake
  // included) must arrive within this, and a response must be taken by the client within it too.
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive connection with no request: closed
  double requests_per_second = 0;            // 0: unlimited; else a token bucket shared by the server...
  double burst = 0;                          // ...with this capacity (0: = requests_per_second, at least 1); over it: 429 with Retry-After: 1
  std::string tls_cert_file, tls_key_file;   // PEM (the certificate file may hold the chain); both empty: plaintext; both set: HTTPS only, TLS 1.2+
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. On failure returns a message (what, where, why:
  // "cannot listen on 127.0.0.1:8016: Address already in use"), and nothing runs. After stop()
  // it may be called again.
  std::optional<std::string> start();
  // Closes the listener and every connection, waits for running handlers and joins the threads;
  // idempotent. Not from a handler (it would wait for itself).
  void stop();
  // The port listened on; after stop() the last one, 0 before the first start().
  std::uint16_t port() const noexcept;

  // Counters for metrics and tests, kept across stop() and start().
  struct Stats {
    std::uint64_t requests;              // complete requests read and answered (handler or 429)
    std::uint64_t rejected_connections;  // over max_connections
    std::uint64_t rate_limited;          // 429s
    std::uint64_t too_large;             // 413s and 431s
    std::uint64_t timeouts;              // connections closed for a request, handshake or write deadline
    std::size_t open_connections;
  };
  Stats stats() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flagd::serve
