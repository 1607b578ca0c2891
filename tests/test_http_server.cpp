// The embeddable HTTP server (serve/http_server.hpp): what a handler sees and sends back,
// keep-alive and pipelining, and the clients it must survive: oversized bodies and headers, more
// connections than allowed, slow clients, floods, rate limits, a throwing handler; TLS. The
// clients are raw sockets (and OpenSSL over one), so that a test controls every byte and pause.
// Waits are bounded (a broken server fails a test instead of hanging it) but never asserted on.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http_server.hpp"
#include "tls_files.hpp"

using namespace std::chrono_literals;
using flagd::serve::HttpHandler;
using flagd::serve::HttpRequest;
using flagd::serve::HttpResponse;
using flagd::serve::HttpServer;
using flagd::serve::HttpServerOptions;
using flagd::test::eventually;

namespace {

// How long a client waits for any one thing: far more than a loaded machine needs, and only a
// guard against hanging.
constexpr auto kPatience = 20s;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

struct Reply {
  int status = 0;  // 0: the connection ended (or failed) before a whole response
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  bool has(const std::string& name) const { return headers.count(name) != 0; }
  std::string header(const std::string& name) const {
    const auto found = headers.find(name);
    return found == headers.end() ? std::string() : found->second;
  }
};

// What every response must carry.
void check_standard_headers(const Reply& reply) {
  INFO("status " << reply.status);
  CHECK(reply.header("server") == "flagd");
  CHECK(reply.has("content-type"));
  CHECK(reply.has("date"));
  if (reply.status != 204 && reply.status != 304 && reply.status >= 200) CHECK(reply.has("content-length"));
}

// A blocking client; subclasses say how bytes move (plain TCP or TLS).
class Client {
 public:
  virtual ~Client() = default;

  virtual bool send(std::string_view data) = 0;

  // One response (an interim 100 too); status 0 if the connection ends before one is whole.
  // `head`: the answer to a HEAD request, whose Content-Length announces no body.
  Reply read_reply(bool head = false) {
    std::size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return {};
    }
    Reply reply = parse_head(pending_.substr(0, end + 2));
    pending_.erase(0, end + 4);
    const bool bodiless = head || reply.status < 200 || reply.status == 204 || reply.status == 304;
    const std::size_t length = bodiless || !reply.has("content-length") ? 0 : std::stoul(reply.header("content-length"));
    while (pending_.size() < length) {
      if (!fill()) return {};
    }
    reply.body = pending_.substr(0, length);
    pending_.erase(0, length);
    return reply;
  }

 protected:
  // > 0: bytes read; 0: the peer ended the connection; < 0: an error (or the receive deadline).
  virtual long receive(char* data, std::size_t size) = 0;

 private:
  bool fill() {
    char chunk[16384];
    const long n = receive(chunk, sizeof chunk);
    if (n <= 0) return false;
    pending_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  static Reply parse_head(const std::string& head) {
    Reply reply;
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::stoi(status_line.substr(9, 3));
    while (line_end + 2 < head.size()) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end - start);
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      reply.headers[lower(line.substr(0, colon))] = value;
    }
    return reply;
  }

  std::string pending_;
};

class PlainClient : public Client {
 public:
  explicit PlainClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    const timeval patience{std::chrono::duration_cast<std::chrono::seconds>(kPatience).count(), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &patience, sizeof patience);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
  }
  ~PlainClient() override { ::close(fd_); }
  PlainClient(const PlainClient&) = delete;
  PlainClient& operator=(const PlainClient&) = delete;

  bool send(std::string_view data) override {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // True once the server has ended the connection (an end of stream or a reset), reading and
  // dropping whatever it still sends; false if it is still open after `bound`.
  bool closed_within(std::chrono::milliseconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      if (::recv(fd_, chunk, sizeof chunk, 0) <= 0) return true;
    }
  }

  int fd() const noexcept { return fd_; }

 protected:
  long receive(char* data, std::size_t size) override { return ::recv(fd_, data, size, 0); }

 private:
  int fd_ = -1;
};

class TlsClient : public Client {
 public:
  TlsClient(std::uint16_t port, const std::string& ca_file) : socket_(port) {
    context_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(context_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(context_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
    SSL_set_fd(ssl_, socket_.fd());
    connected_ = SSL_connect(ssl_) == 1;
  }
  ~TlsClient() override {
    SSL_free(ssl_);
    SSL_CTX_free(context_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool connected() const noexcept { return connected_; }
  std::string version() const { return SSL_get_version(ssl_); }

  bool send(std::string_view data) override {
    return SSL_write(ssl_, data.data(), static_cast<int>(data.size())) == static_cast<int>(data.size());
  }

  // True if the server ended the TLS session properly (its close_notify).
  bool closed_cleanly() {
    char byte;
    return SSL_read(ssl_, &byte, 1) <= 0 && SSL_get_error(ssl_, 0) == SSL_ERROR_ZERO_RETURN;
  }

 protected:
  long receive(char* data, std::size_t size) override { return SSL_read(ssl_, data, static_cast<int>(size)); }

 private:
  PlainClient socket_;
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
};

std::string request(std::string_view method, std::string_view target, std::string_view body = {},
                    std::string_view extra_headers = {}) {
  std::string text = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  text += extra_headers;
  if (!body.empty() || method == "POST") text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return text + "\r\n" + std::string(body);
}

std::string get(std::string_view target, std::string_view extra_headers = {}) {
  return request("GET", target, {}, extra_headers);
}

// Answers with the method and target, so that a test can tell the responses apart.
HttpResponse echo(const HttpRequest& request) {
  HttpResponse response;
  response.body = std::string(request.method) + " " + std::string(request.target);
  response.content_type = "text/plain";
  return response;
}

HttpServerOptions loopback_options() {
  HttpServerOptions options;
  options.bind_address = "127.0.0.1";
  options.port = 0;
  return options;
}

std::unique_ptr<HttpServer> started(HttpServerOptions options, HttpHandler handler = echo) {
  auto server = std::make_unique<HttpServer>(std::move(options), std::move(handler));
  const std::optional<std::string> problem = server->start();
  INFO(problem.value_or(""));
  REQUIRE_FALSE(problem);
  REQUIRE(server->port() != 0);
  return server;
}

// One request on a connection of its own.
Reply exchange(std::uint16_t port, const std::string& text) {
  PlainClient client(port);
  REQUIRE(client.send(text));
  return client.read_reply();
}

}  // namespace

TEST_CASE("the handler sees the method, the target, the body, If-None-Match and Content-Type", "[http]") {
  std::mutex mutex;
  std::vector<std::vector<std::string>> seen;  // method, target, body, if-none-match, content-type
  auto server = started(loopback_options(), [&](const HttpRequest& request) {
    const std::lock_guard lock(mutex);
    seen.push_back({std::string(request.method), std::string(request.target), std::string(request.body),
                    std::string(request.if_none_match), std::string(request.content_type)});
    HttpResponse response;
    response.body = R"({"value":true})";
    return response;
  });

  const std::string body = R"({"context":{"targetingKey":"user-1"}})";
  const Reply posted = exchange(server->port(), request("POST", "/ofrep/v1/evaluate/flags/my-flag?x=1", body,
                                                       "If-None-Match: \"abc\"\r\nContent-Type: application/json\r\n"));
  CHECK(posted.status == 200);
  CHECK(posted.body == R"({"value":true})");
  CHECK(posted.header("content-type") == "application/json");
  CHECK(posted.header("content-length") == "14");
  check_standard_headers(posted);

  const Reply plain = exchange(server->port(), get("/ofrep/v1/evaluate/flags"));
  CHECK(plain.status == 200);

  const std::lock_guard lock(mutex);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::vector<std::string>{"POST", "/ofrep/v1/evaluate/flags/my-flag?x=1", body, "\"abc\"",
                                            "application/json"});
  CHECK(seen[1] == std::vector<std::string>{"GET", "/ofrep/v1/evaluate/flags", "", "", ""});
  CHECK(server->stats().requests == 2);
}

TEST_CASE("ETag and Retry-After come back; a 304 has no body; unsafe header values give 500", "[http]") {
  auto server = started(loopback_options(), [](const HttpRequest& request) {
    HttpResponse response;
    if (request.target == "/etag") {
      response.etag = "\"v1\"";
      response.retry_after_seconds = 7;
      response.body = "{}";
    } else if (request.target == "/not-modified") {
      response.status = 304;
      response.etag = "\"v1\"";
      response.body = "this must not be sent";
    } else if (request.target == "/injection") {
      response.etag = "\"v1\"\r\nSet-Cookie: stolen=1";
    } else {
      return echo(request);
    }
    return response;
  });
  PlainClient client(server->port());

  REQUIRE(client.send(get("/etag")));
  const Reply tagged = client.read_reply();
  CHECK(tagged.status == 200);
  CHECK(tagged.header("etag") == "\"v1\"");
  CHECK(tagged.header("retry-after") == "7");
  check_standard_headers(tagged);

  // The next response on the connection starts where the 304's head ends: nothing of its body.
  REQUIRE(client.send(get("/not-modified") + get("/after")));
  const Reply not_modified = client.read_reply();
  CHECK(not_modified.status == 304);
  CHECK(not_modified.header("etag") == "\"v1\"");
  CHECK_FALSE(not_modified.has("content-length"));
  check_standard_headers(not_modified);
  const Reply after = client.read_reply();
  CHECK(after.status == 200);
  CHECK(after.body == "GET /after");

  REQUIRE(client.send(get("/injection")));
  const Reply injected = client.read_reply();
  CHECK(injected.status == 500);
  CHECK_FALSE(injected.has("set-cookie"));
  CHECK(injected.header("etag").empty());
}

TEST_CASE("keep-alive serves several requests on one connection, pipelined ones in order", "[http]") {
  auto server = started(loopback_options());

  SECTION("one after another") {
    PlainClient client(server->port());
    for (int i = 0; i < 5; ++i) {
      const std::string target = "/flag/" + std::to_string(i);
      REQUIRE(client.send(get(target)));
      const Reply reply = client.read_reply();
      CHECK(reply.status == 200);
      CHECK(reply.body == "GET " + target);
      CHECK_FALSE(reply.has("connection"));
      check_standard_headers(reply);
    }
    CHECK(server->stats().requests == 5);
    CHECK(server->stats().open_connections == 1);
  }

  SECTION("pipelined, in one write") {
    PlainClient client(server->port());
    REQUIRE(client.send(get("/p1") + request("POST", "/p2", "body") + get("/p3")));
    CHECK(client.read_reply().body == "GET /p1");
    CHECK(client.read_reply().body == "POST /p2");
    CHECK(client.read_reply().body == "GET /p3");
  }

  SECTION("HEAD: the length without the body, and the connection goes on") {
    PlainClient client(server->port());
    REQUIRE(client.send(request("HEAD", "/h")));
    const Reply head = client.read_reply(/*head=*/true);
    CHECK(head.status == 200);
    CHECK(head.header("content-length") == std::to_string(std::string("HEAD /h").size()));
    REQUIRE(client.send(get("/next")));
    CHECK(client.read_reply().body == "GET /next");
  }

  SECTION("Connection: close is honoured") {
    PlainClient client(server->port());
    REQUIRE(client.send(get("/last", "Connection: close\r\n")));
    const Reply reply = client.read_reply();
    CHECK(reply.status == 200);
    CHECK(lower(reply.header("connection")) == "close");
    CHECK(client.closed_within(kPatience));
  }

  SECTION("HTTP/1.0 closes after its response") {
    PlainClient client(server->port());
    REQUIRE(client.send("GET /old HTTP/1.0\r\n\r\n"));
    const Reply reply = client.read_reply();
    CHECK(reply.status == 200);
    CHECK(reply.body == "GET /old");
    CHECK(client.closed_within(kPatience));
  }
}

TEST_CASE("a body over the limit is answered 413 and the connection closed", "[http][limits]") {
  HttpServerOptions options = loopback_options();
  options.max_body_bytes = 1024;
  auto server = started(options);
  PlainClient client(server->port());

  SECTION("at the limit it is served") {
    REQUIRE(client.send(request("POST", "/fits", std::string(1024, 'x'))));
    CHECK(client.read_reply().status == 200);
    CHECK(server->stats().too_large == 0);
  }

  SECTION("a Content-Length over the limit, body sent anyway") {
    REQUIRE(client.send(request("POST", "/big", std::string(5000, 'x'))));
    const Reply reply = client.read_reply();
    CHECK(reply.status == 413);
    CHECK(reply.body.find("\"errorCode\"") != std::string::npos);
    check_standard_headers(reply);
    CHECK(client.closed_within(kPatience));
    CHECK(server->stats().too_large == 1);
  }

  SECTION("chunks that add up to more than the limit") {
    std::string text = "POST /chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) text += "258\r\n" + std::string(600, 'y') + "\r\n";  // 0x258 = 600
    text += "0\r\n\r\n";
    REQUIRE(client.send(text));
    CHECK(client.read_reply().status == 413);
    CHECK(client.closed_within(kPatience));
    CHECK(server->stats().too_large == 1);
  }

  SECTION("Expect: 100-continue: an interim 100 within the limit, a 413 at once over it") {
    REQUIRE(client.send("POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
    CHECK(client.read_reply().status == 100);
    REQUIRE(client.send("body"));
    CHECK(client.read_reply().body == "POST /ask");
    REQUIRE(client.send("POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
    CHECK(client.read_reply().status == 413);
    CHECK(client.closed_within(kPatience));
  }
}

TEST_CASE("a header over the limit is answered 431 and the connection closed", "[http][limits]") {
  HttpServerOptions options = loopback_options();
  options.max_header_bytes = 1024;
  auto server = started(options);
  PlainClient client(server->port());
  REQUIRE(client.send(get("/", "X-Padding: " + std::string(4000, 'a') + "\r\n")));
  const Reply reply = client.read_reply();
  CHECK(reply.status == 431);
  check_standard_headers(reply);
  CHECK(client.closed_within(kPatience));
  CHECK(server->stats().too_large == 1);
}

TEST_CASE("malformed requests are answered 400 and the connection closed", "[http]") {
  auto server = started(loopback_options());
  const std::string text = GENERATE(as<std::string>{}, "GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\n\r\n",  // no Host
                                    "BREW /pot HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",                  // unknown method
                                    "GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n",
                                    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                                    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n");
  INFO(text);
  PlainClient client(server->port());
  REQUIRE(client.send(text));
  const Reply reply = client.read_reply();
  CHECK(reply.status == 400);
  check_standard_headers(reply);
  CHECK(client.closed_within(kPatience));
}

TEST_CASE("a handler that throws, or answers an impossible status, gives 500", "[http]") {
  auto server = started(loopback_options(), [](const HttpRequest& request) -> HttpResponse {
    if (request.target == "/throw") throw std::runtime_error("boom");
    if (request.target == "/status") {
      HttpResponse response;
      response.status = 42;
      return response;
    }
    return echo(request);
  });
  PlainClient client(server->port());
  REQUIRE(client.send(get("/throw")));
  const Reply thrown = client.read_reply();
  CHECK(thrown.status == 500);
  CHECK(thrown.body == R"({"errorCode":"GENERAL","errorDetails":"internal error"})");
  CHECK(thrown.header("content-type") == "application/json");
  check_standard_headers(thrown);

  REQUIRE(client.send(get("/status")));  // the connection survived the exception
  CHECK(client.read_reply().status == 500);
  REQUIRE(client.send(get("/fine")));
  CHECK(client.read_reply().body == "GET /fine");
}

TEST_CASE("over the rate limit, requests are answered 429 with Retry-After: 1", "[http][limits]") {
  HttpServerOptions options = loopback_options();
  options.requests_per_second = 0.001;  // no token comes back during the test
  options.burst = 2;
  std::atomic<int> handled{0};
  auto server = started(options, [&](const HttpRequest& request) {
    ++handled;
    return echo(request);
  });
  PlainClient client(server->port());
  for (int i = 0; i < 2; ++i) {
    REQUIRE(client.send(get("/ok")));
    CHECK(client.read_reply().status == 200);
  }
  for (int i = 0; i < 3; ++i) {  // the connection stays usable: the limit is not an error of the client's
    REQUIRE(client.send(get("/too-many")));
    const Reply reply = client.read_reply();
    CHECK(reply.status == 429);
    CHECK(reply.header("retry-after") == "1");
    check_standard_headers(reply);
  }
  // The bucket is the server's: another connection finds it empty too.
  CHECK(exchange(server->port(), get("/other")).status == 429);
  CHECK(handled == 2);
  CHECK(server->stats().rate_limited == 4);
  CHECK(server->stats().requests == 6);
}

TEST_CASE("connections over max_connections are refused while existing ones are served", "[http][limits]") {
  HttpServerOptions options = loopback_options();
  options.max_connections = 2;
  auto server = started(options);
  PlainClient first(server->port());
  auto second = std::make_unique<PlainClient>(server->port());
  // A response proves the server took the connection (an accept may lag the connect).
  for (PlainClient* client : {&first, second.get()}) {
    REQUIRE(client->send(get("/admitted")));
    REQUIRE(client->read_reply().status == 200);
  }

  PlainClient third(server->port());
  third.send(get("/refused"));  // may fail: the server can close before the request is written
  const Reply refused = third.read_reply();
  CHECK((refused.status == 0 || refused.status == 503));  // a 503 if it arrived before the close
  CHECK(third.closed_within(kPatience));
  CHECK(server->stats().rejected_connections >= 1);

  REQUIRE(first.send(get("/still")));
  CHECK(first.read_reply().body == "GET /still");

  second.reset();  // a place comes free
  CHECK(eventually([&] { return server->stats().open_connections == 1; }));
  CHECK(exchange(server->port(), get("/fourth")).status == 200);
}

TEST_CASE("a slow client is closed after request_timeout while others are served", "[http][hostile]") {
  HttpServerOptions options = loopback_options();
  options.request_timeout = 300ms;
  auto server = started(options);

  SECTION("half a request, then nothing") {
    PlainClient slow(server->port());
    REQUIRE(slow.send("POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"));
    for (int i = 0; i < 3; ++i) CHECK(exchange(server->port(), get("/fast")).status == 200);
    CHECK(slow.closed_within(kPatience));
    CHECK(eventually([&] { return server->stats().timeouts >= 1; }));  // counted just after the close
  }

  SECTION("a header trickling in a byte at a time never completes") {
    PlainClient slow(server->port());
    REQUIRE(slow.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
    bool closed = false;
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (!closed && std::chrono::steady_clock::now() < deadline) {
      closed = !slow.send("a") || slow.closed_within(50ms);  // each byte well inside the timeout
    }
    CHECK(closed);
    CHECK(eventually([&] { return server->stats().timeouts >= 1; }));  // counted just after the close
    CHECK(exchange(server->port(), get("/fast")).status == 200);
  }

  SECTION("a body that never completes") {
    PlainClient slow(server->port());
    REQUIRE(slow.send(request("POST", "/slow", std::string(100, 'x')).substr(0, 80)));
    CHECK(slow.closed_within(kPatience));
    CHECK(eventually([&] { return server->stats().timeouts >= 1; }));  // counted just after the close
  }

  SECTION("a connection that never sends anything") {
    PlainClient silent(server->port());
    CHECK(silent.closed_within(kPatience));
    CHECK(eventually([&] { return server->stats().timeouts >= 1; }));  // counted just after the close
  }
}

TEST_CASE("a keep-alive connection with no request is closed after idle_timeout", "[http]") {
  HttpServerOptions options = loopback_options();
  options.idle_timeout = 300ms;
  auto server = started(options);
  PlainClient client(server->port());
  REQUIRE(client.send(get("/once")));
  CHECK(client.read_reply().status == 200);
  CHECK(client.closed_within(kPatience));
  CHECK(eventually([&] { return server->stats().open_connections == 0; }));
  CHECK(server->stats().timeouts == 0);  // an idle end is ordinary, not a client's fault
}

TEST_CASE("a flood of connections over the limit leaves the server serving", "[http][hostile]") {
  HttpServerOptions options = loopback_options();
  options.max_connections = 32;
  HttpServer* server_seen = nullptr;
  std::atomic<std::size_t> most_open{0};
  auto server = started(options, [&](const HttpRequest& request) {
    const std::size_t open = server_seen->stats().open_connections;
    std::size_t most = most_open.load();
    while (open > most && !most_open.compare_exchange_weak(most, open)) {
    }
    return echo(request);
  });
  server_seen = server.get();

  std::vector<std::unique_ptr<PlainClient>> clients;
  for (int i = 0; i < 200; ++i) clients.push_back(std::make_unique<PlainClient>(server->port()));
  for (auto& client : clients) client->send(get("/flood"));
  int served = 0;
  for (auto& client : clients) {
    const Reply reply = client->read_reply();
    CHECK((reply.status == 200 || reply.status == 503 || reply.status == 0));
    if (reply.status == 200) ++served;
  }
  CHECK(served >= 1);
  CHECK(server->stats().rejected_connections >= 1);
  CHECK(most_open.load() <= 32);
  clients.clear();
  CHECK(eventually([&] { return server->stats().open_connections == 0; }));
  CHECK(exchange(server->port(), get("/after")).status == 200);
}

TEST_CASE("start() on a port in use, or with bad options, fails with a message and runs nothing", "[http]") {
  auto first = started(loopback_options());
  HttpServerOptions options = loopback_options();
  options.port = first->port();
  HttpServer second(options, echo);
  const std::optional<std::string> problem = second.start();
  REQUIRE(problem);
  CHECK_THAT(*problem, Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(first->port())));
  CHECK_THAT(*problem, Catch::Contains("in use"));
  second.stop();  // harmless when nothing runs
  CHECK(exchange(first->port(), get("/first")).status == 200);

  HttpServerOptions bad_address = loopback_options();
  bad_address.bind_address = "localhost.invalid";
  const std::optional<std::string> address_problem = HttpServer(bad_address, echo).start();
  REQUIRE(address_problem);
  CHECK_THAT(*address_problem, Catch::Contains("localhost.invalid"));

  HttpServerOptions missing_key = loopback_options();
  missing_key.tls_cert_file = "/nonexistent/cert.pem";
  missing_key.tls_key_file = "/nonexistent/key.pem";
  const std::optional<std::string> tls_problem = HttpServer(missing_key, echo).start();
  REQUIRE(tls_problem);
  CHECK_THAT(*tls_problem, Catch::Contains("/nonexistent/cert.pem"));

  HttpServerOptions twice = loopback_options();
  HttpServer running(twice, echo);
  REQUIRE_FALSE(running.start());
  CHECK(running.start());  // already running
}

TEST_CASE("stop() with open connections returns, closes them, and the server can start again", "[http]") {
  HttpServerOptions options = loopback_options();
  options.threads = 3;
  auto server = started(options);
  PlainClient idle(server->port());
  REQUIRE(idle.send(get("/idle")));
  REQUIRE(idle.read_reply().status == 200);
  PlainClient halfway(server->port());
  REQUIRE(halfway.send("GET /half"));
  PlainClient silent(server->port());
  REQUIRE(eventually([&] { return server->stats().open_connections == 3; }));

  server->stop();
  CHECK(server->stats().open_connections == 0);
  CHECK(idle.closed_within(kPatience));
  CHECK(halfway.closed_within(kPatience));
  CHECK(silent.closed_within(kPatience));
  server->stop();  // idempotent

  REQUIRE_FALSE(server->start());
  CHECK(exchange(server->port(), get("/again")).status == 200);
}

TEST_CASE("HTTPS: a round trip, keep-alive, and what a TLS port does with others", "[http][tls]") {
  const flagd::test::TlsFiles files;
  HttpServerOptions options = loopback_options();
  options.tls_cert_file = files.server_cert();
  options.tls_key_file = files.server_key();
  options.request_timeout = 300ms;
  auto server = started(options);

  SECTION("round trip") {
    TlsClient client(server->port(), files.ca_cert());
    REQUIRE(client.connected());
    CHECK((client.version() == "TLSv1.2" || client.version() == "TLSv1.3"));
    for (const std::string target : {"/secure/1", "/secure/2"}) {
      REQUIRE(client.send(get(target)));
      const Reply reply = client.read_reply();
      CHECK(reply.status == 200);
      CHECK(reply.body == "GET " + target);
      check_standard_headers(reply);
    }
    REQUIRE(client.send(get("/bye", "Connection: close\r\n")));
    CHECK(client.read_reply().status == 200);
    CHECK(client.closed_cleanly());
  }

  SECTION("a client trusting another CA refuses the server") {
    TlsClient client(server->port(), files.other_ca_cert());
    CHECK_FALSE(client.connected());
  }

  SECTION("plaintext HTTP gets no answer, only a close") {
    PlainClient client(server->port());
    client.send(get("/plain"));
    CHECK(client.read_reply().status == 0);
    CHECK(client.closed_within(kPatience));
  }

  SECTION("a client that never starts the handshake is closed after request_timeout") {
    PlainClient silent(server->port());
    CHECK(silent.closed_within(kPatience));
    CHECK(eventually([&] { return server->stats().timeouts >= 1; }));  // counted just after the close
    TlsClient client(server->port(), files.ca_cert());
    REQUIRE(client.connected());
  }
}
