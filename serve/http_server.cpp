#include "http_server.hpp"

#include <fcntl.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace flagd::serve {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Bytes asked of the socket per read outside Beast's parser (which asks for up to what the
// buffer's limit leaves). A connection's read buffer is bounded by the header limit plus this.
constexpr std::size_t kReadChunk = 8 * 1024;
// A keep-alive connection's buffer larger than this is given back while it waits for a request.
constexpr std::size_t kIdleBufferCapacity = 2 * kReadChunk;
// After an answer that ends the connection, what the client still sends is read and dropped for
// a while: closing with unread bytes makes the kernel reset the connection, and the reset can
// destroy the answer before the client reads it. At most this many bytes...
constexpr std::size_t kMaxDrainBytes = 1024 * 1024;
// ...for at most this long (or request_timeout, if shorter).
constexpr std::chrono::milliseconds kMaxLinger{2000};
// Pause before accepting again after accept failed for want of resources (descriptors, memory):
// the pending connection keeps the listener readable, so retrying at once would spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

struct Counters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> rejected_connections{0};
  std::atomic<std::uint64_t> rate_limited{0};
  std::atomic<std::uint64_t> too_large{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::size_t> open_connections{0};
};

// Requests per second for the whole server, with bursts up to the capacity. A mutex is enough:
// it is held for a few arithmetic operations per request.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst)
      : rate_(rate), capacity_(std::max(burst > 0 ? burst : rate, 1.0)), tokens_(capacity_), last_(Clock::now()) {}

  bool try_take() {
    if (rate_ <= 0) return true;
    const std::lock_guard lock(mutex_);
    const Clock::time_point now = Clock::now();
    const std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(capacity_, tokens_ + elapsed.count() * rate_);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  const double rate_;
  const double capacity_;
  std::mutex mutex_;
  double tokens_;
  Clock::time_point last_;
};

std::string_view view(beast::string_view text) noexcept { return {text.data(), text.size()}; }

std::string where(const std::string& address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

// Descriptors of the server must not leak into programs the host process starts (the daemon
// spawns its serving process); Asio opens and accepts without SOCK_CLOEXEC.
void set_close_on_exec(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

// A value from the handler goes into a header line: a CR or LF in it would let it write headers
// (or a whole response) of its own.
bool is_safe_header_value(std::string_view value) noexcept {
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

// RFC 7231's IMF-fixdate, spelt by hand: strftime's names follow the process's locale.
std::string http_date(std::time_t now) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  if (::gmtime_r(&now, &tm) == nullptr) return "Thu, 01 Jan 1970 00:00:00 GMT";
  char text[64];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

// The server's own answers (limits, malformed requests, a failing handler) in OFREP's error shape.
HttpResponse error_response(int status, std::string_view detail) {
  HttpResponse response;
  response.status = status;
  response.body = std::string(R"({"errorCode":"GENERAL","errorDetails":")") + std::string(detail) + "\"}";
  return response;
}

HttpResponse internal_error() { return error_response(500, "internal error"); }

HttpResponse too_many_requests() {
  HttpResponse response = error_response(429, "too many requests");
  response.retry_after_seconds = 1;
  return response;
}

// 204 and 304 have no body, and no Content-Length: RFC 7230 3.3.2 forbids it in a 204 and allows
// it in a 304 only as the length a 200 would have had, which the server does not know.
bool has_no_body(int status) noexcept { return status == 204 || status == 304; }

// The message written for `answer`; a HEAD request gets the headers (Content-Length included)
// without the body. What the handler got wrong (status, header values) becomes a 500.
Response compose(HttpResponse answer, bool keep_alive, bool head) {
  if (answer.status < 200 || answer.status > 599 || !is_safe_header_value(answer.content_type) ||
      !is_safe_header_value(answer.etag)) {
    answer = internal_error();
  }
  Response response;
  response.version(11);
  response.result(static_cast<unsigned>(answer.status));
  response.set(http::field::server, "flagd");
  response.set(http::field::date, http_date(std::time(nullptr)));
  response.set(http::field::content_type,
               answer.content_type.empty() ? std::string("application/octet-stream") : answer.content_type);
  if (!answer.etag.empty()) response.set(http::field::etag, answer.etag);
  if (answer.retry_after_seconds > 0) {
    response.set(http::field::retry_after, std::to_string(answer.retry_after_seconds));
  }
  response.keep_alive(keep_alive);
  if (!has_no_body(answer.status)) {
    response.content_length(answer.body.size());
    if (!head) response.body() = std::move(answer.body);
  }
  return response;
}

// Raw, for connections over the limit: written once, without a session.
std::string busy_response() {
  const std::string body = R"({"errorCode":"GENERAL","errorDetails":"too many connections"})";
  return "HTTP/1.1 503 Service Unavailable\r\nServer: flagd\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body;
}

// What makes a request unusable whatever its target; answered 400, and the connection closed.
const char* header_problem(const Request& request) {
  if (request.version() != 10 && request.version() != 11) return "unsupported HTTP version";
  if (request.method() == http::verb::unknown) return "unknown method";
  const std::size_t hosts = request.count(http::field::host);
  if (hosts > 1 || (request.version() == 11 && hosts == 0)) return "an HTTP/1.1 request needs one Host header";
  return nullptr;
}

bool expects_continue(const Request& request) {
  return request.version() == 11 && beast::iequals(request[http::field::expect], "100-continue");
}

bool is_http_error(const error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_method).category();
}

// What stop() needs of a connection, whatever its stream.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void abort() = 0;  // from any thread: closes the connection on its own strand
};

// The open connections, for stop(). Weak: a connection lives as long as its pending operation.
class ConnectionRegistry {
 public:
  // False once closing: the caller drops the connection.
  bool add(const std::shared_ptr<Connection>& connection) {
    const std::lock_guard lock(mutex_);
    if (closing_) return false;
    connections_[connection.get()] = connection;
    return true;
  }
  void remove(Connection* connection) noexcept {
    const std::lock_guard lock(mutex_);
    connections_.erase(connection);
  }
  void abort_all() {
    std::vector<std::shared_ptr<Connection>> alive;
    {
      const std::lock_guard lock(mutex_);
      closing_ = true;
      for (auto& [pointer, weak] : connections_) {
        if (std::shared_ptr<Connection> connection = weak.lock()) alive.push_back(std::move(connection));
      }
    }
    // Outside the lock: dropping the last reference runs the destructor, which calls remove().
    for (const std::shared_ptr<Connection>& connection : alive) connection->abort();
  }

 private:
  std::mutex mutex_;
  bool closing_ = false;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;
};

// What the listener and every connection share, for one start()..stop().
struct ServerCore {
  ServerCore(const HttpServerOptions& server_options, const HttpHandler& server_handler, Counters& server_counters,
             std::unique_ptr<ssl::context> server_tls)
      : options(server_options), handler(server_handler), counters(server_counters), tls(std::move(server_tls)) {}

  const HttpServerOptions& options;
  const HttpHandler& handler;
  Counters& counters;
  std::unique_ptr<ssl::context> tls;  // null: plaintext
  TokenBucket bucket{options.requests_per_second, options.burst};
  ConnectionRegistry connections;
  const std::string busy = busy_response();
};

// One connection: reads a request, answers it, and again while keep-alive lasts. Every step is
// an asynchronous operation on the connection's strand with a deadline, so that no client holds
// a thread; the pending operation's handler holds the session alive.
template <class Stream>
class Session final : public Connection, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(ServerCore& core, tcp::socket socket)
      : core_(core),
        executor_(socket.get_executor()),
        stream_(make_stream(std::move(socket), core)),
        buffer_(core.options.max_header_bytes + kReadChunk) {
    ++core_.counters.open_connections;
  }
  ~Session() override {
    core_.connections.remove(this);
    --core_.counters.open_connections;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Right after the accept.
  void run() {
    if (!core_.connections.add(this->shared_from_this())) return;  // stopping: closed by the destructor
    net::dispatch(executor_, then(&Session::begin));
  }

  void abort() override { net::post(executor_, then(&Session::close_now)); }

 private:
  static Stream make_stream(tcp::socket socket, ServerCore& core) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *core.tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  // The completion handler that calls `method` on this session and keeps it alive until then.
  template <class Method>
  auto then(Method method) {
    return beast::bind_front_handler(method, this->shared_from_this());
  }

  beast::tcp_stream& lowest() noexcept { return beast::get_lowest_layer(stream_); }
  const HttpServerOptions& options() const noexcept { return core_.options; }

  // A new connection's first request, TLS handshake included, must arrive within
  // request_timeout of the accept: the deadline set here runs until that request is read.
  void begin() {
    lowest().expires_after(options().request_timeout);
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server, then(&Session::on_handshake));
    } else {
      await_request();
    }
  }

  void on_handshake(error_code ec) {
    if (closed_) return;
    if (ec) {
      if (ec == beast::error::timeout) ++core_.counters.timeouts;
      close_now();
      return;
    }
    await_request();
  }

  // A fresh parser with the limits, then the request: at once if it is the connection's first or
  // pipelining brought its bytes already; else after an idle wait for its first bytes.
  void await_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(options().max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(static_cast<std::uint64_t>(options().max_body_bytes));
    if (first_request_) {
      read_header();
      return;
    }
    if (buffer_.size() > 0) {
      lowest().expires_after(options().request_timeout);
      read_header();
      return;
    }
    if (buffer_.capacity() > kIdleBufferCapacity) buffer_.shrink_to_fit();
    lowest().expires_after(options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk), then(&Session::on_first_bytes));
  }

  void on_first_bytes(error_code ec, std::size_t n) {
    if (closed_) return;
    if (ec) {  // the client left, or stayed silent past idle_timeout: an ordinary end
      close_now();
      return;
    }
    buffer_.commit(n);
    lowest().expires_after(options().request_timeout);  // the whole request from its first byte
    read_header();
  }

  void read_header() { http::async_read_header(stream_, buffer_, *parser_, then(&Session::on_header)); }

  void on_header(error_code ec, std::size_t) {
    if (closed_) return;
    if (ec) {
      on_read_error(ec);
      return;
    }
    if (const char* problem = header_problem(parser_->get())) {
      refuse(400, problem);
    } else if (parser_->is_done()) {
      answer();
    } else if (expects_continue(parser_->get())) {
      // Within the limits (a Content-Length over them failed above): the client may send.
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()), then(&Session::on_continue_sent));
    } else {
      read_body();
    }
  }

  void on_continue_sent(error_code ec, std::size_t) {
    if (closed_) return;
    if (ec) {
      on_broken(ec);
      return;
    }
    read_body();
  }

  void read_body() { http::async_read(stream_, buffer_, *parser_, then(&Session::on_body)); }

  void on_body(error_code ec, std::size_t) {
    if (closed_) return;
    if (ec) {
      on_read_error(ec);
      return;
    }
    answer();
  }

  // A request that could not be read whole: answered if the client can still take an answer.
  void on_read_error(error_code ec) {
    if (ec == http::error::body_limit) {
      ++core_.counters.too_large;
      refuse(413, "request body too large");
    } else if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      // The buffer overflows only on something the parser cannot cut: a header, or a chunk's line.
      ++core_.counters.too_large;
      if (parser_->is_header_done()) {
        refuse(413, "request body too large");
      } else {
        refuse(431, "request header too large");
      }
    } else if (is_http_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message) {
      refuse(400, "malformed request");
    } else {
      on_broken(ec);  // the client left, the deadline passed, or TLS failed: nobody to answer
    }
  }

  void on_broken(error_code ec) {
    if (ec == beast::error::timeout) ++core_.counters.timeouts;
    close_now();
  }

  void answer() {
    ++core_.counters.requests;
    const Request& request = parser_->get();
    const bool keep_alive = request.version() == 11 && request.keep_alive();
    const bool head = request.method() == http::verb::head;
    HttpResponse answer;
    if (core_.bucket.try_take()) {
      answer = call_handler(request);
    } else {
      ++core_.counters.rate_limited;
      answer = too_many_requests();
    }
    parser_.reset();  // the request's memory, before the response's
    send(compose(std::move(answer), keep_alive, head));
  }

  HttpResponse call_handler(const Request& request) const {
    try {
      const HttpRequest view_of_request{view(request.method_string()), view(request.target()), request.body(),
                                        view(request[http::field::if_none_match]),
                                        view(request[http::field::content_type]), view(request["flagd-selector"])};
      return core_.handler(view_of_request);
    } catch (...) {
      return internal_error();
    }
  }

  // Answers with `status` and ends the connection: what follows in the stream cannot be trusted.
  void refuse(int status, std::string_view detail) {
    send(compose(error_response(status, detail), /*keep_alive=*/false, /*head=*/false));
  }

  // The client must take the response within request_timeout: one that does not read cannot pin
  // the connection.
  void send(Response response) {
    response_.emplace(std::move(response));
    lowest().expires_after(options().request_timeout);
    http::async_write(stream_, *response_, then(&Session::on_sent));
  }

  void on_sent(error_code ec, std::size_t) {
    if (closed_) return;
    if (ec) {
      on_broken(ec);
      return;
    }
    const bool keep_alive = response_->keep_alive();
    response_.reset();
    if (!keep_alive) {
      close_gracefully();
      return;
    }
    first_request_ = false;
    await_request();
  }

  // Ends a connection the client may still be writing to (see kMaxDrainBytes): TLS sends its
  // close_notify and waits for the client's; plaintext stops sending and drains the client.
  void close_gracefully() {
    lowest().expires_after(std::min(options().request_timeout, kMaxLinger));
    if constexpr (kTls) {
      stream_.async_shutdown(then(&Session::on_tls_shutdown));
    } else {
      error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      drain();
    }
  }

  void on_tls_shutdown(error_code) { close_now(); }

  void drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(kReadChunk), then(&Session::on_drained));
  }

  void on_drained(error_code ec, std::size_t n) {
    if (closed_) return;
    drained_ += n;
    if (ec || drained_ >= kMaxDrainBytes) {
      close_now();
      return;
    }
    drain();
  }

  // Cancels the pending operation and its deadline; its handler then sees closed_ and returns,
  // which releases the session.
  void close_now() {
    if (closed_) return;
    closed_ = true;
    lowest().close();
  }

  ServerCore& core_;
  const typename Stream::executor_type executor_;  // the connection's strand
  Stream stream_;
  beast::flat_buffer buffer_;  // bounded: max_header_bytes + kReadChunk
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<Response> response_;  // while it is written
  bool first_request_ = true;
  bool closed_ = false;
  std::size_t drained_ = 0;
};

// Accepts connections on its own strand and hands each to a session on a strand of its own.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& io, ServerCore& core)
      : io_(io), core_(core), strand_(net::make_strand(io)), acceptor_(strand_), retry_(strand_) {}

  std::optional<std::string> listen(const tcp::endpoint& endpoint, const std::string& address) {
    error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
      set_close_on_exec(acceptor_.native_handle());
      // A restarted host must not wait out its old connections' TIME_WAIT; on Linux this does not
      // let two listeners share the port.
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      error_code ignored;
      acceptor_.close(ignored);
      return "cannot listen on " + where(address, endpoint.port()) + ": " + ec.message();
    }
    port_ = acceptor_.local_endpoint(ec).port();
    return std::nullopt;
  }

  std::uint16_t port() const noexcept { return port_; }

  void run() { net::dispatch(strand_, beast::bind_front_handler(&Listener::accept_next, shared_from_this())); }

  // From any thread.
  void close() { net::post(strand_, beast::bind_front_handler(&Listener::close_now, shared_from_this())); }

 private:
  void close_now() {
    closed_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel(ignored);
  }

  // Whatever fails here (memory, say), the listener keeps accepting.
  void accept_next() {
    try {
      acceptor_.async_accept(net::make_strand(io_), beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
    } catch (const std::exception&) {
      retry_later();
    }
  }

  void retry_later() {
    retry_.expires_after(kAcceptRetryDelay);
    retry_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec && !self->closed_) self->accept_next();
    });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (closed_) return;
    if (ec && ec != net::error::connection_aborted) {  // out of descriptors or memory: let it pass
      retry_later();
      return;
    }
    if (!ec) {
      try {
        admit(std::move(socket));
      } catch (const std::exception&) {
        // No memory for the session: the socket, if it was moved, closes with it.
      }
    }
    accept_next();
  }

  void admit(tcp::socket socket) {
    set_close_on_exec(socket.native_handle());
    // Only this strand adds connections, so the count cannot pass the limit between the test and
    // the session's constructor.
    if (core_.counters.open_connections.load() >= core_.options.max_connections) {
      turn_away(std::move(socket));
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // a response is one write: no Nagle delay
    if (core_.tls) {
      std::make_shared<Session<TlsStream>>(core_, std::move(socket))->run();
    } else {
      std::make_shared<Session<PlainStream>>(core_, std::move(socket))->run();
    }
  }

  // A best-effort 503 on plaintext (one non-blocking write, which a fresh socket's empty send
  // buffer takes whole), then closed: no session, no memory kept.
  void turn_away(tcp::socket socket) {
    ++core_.counters.rejected_connections;
    error_code ignored;
    if (!core_.tls) {
      socket.non_blocking(true, ignored);
      socket.write_some(net::buffer(core_.busy), ignored);
    }
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  net::io_context& io_;
  ServerCore& core_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  bool closed_ = false;
  std::uint16_t port_ = 0;
};

// TLS 1.2 and later, the certificate (chain) and key from PEM files; nullptr for plaintext.
std::optional<std::string> make_tls_context(const HttpServerOptions& options, std::unique_ptr<ssl::context>& out) {
  if (options.tls_cert_file.empty() && options.tls_key_file.empty()) return std::nullopt;
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return std::string("cannot serve HTTPS: a TLS certificate and a key are both needed, only the ") +
           (options.tls_cert_file.empty() ? "key" : "certificate") + " is given";
  }
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // Client-initiated renegotiation costs the server a handshake per request of the client's.
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle keep-alive connections give their read and write buffers back (tens of KiB each).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  error_code ec;
  context->use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec) return "cannot load the TLS certificate " + options.tls_cert_file + ": " + ec.message();
  context->use_private_key_file(options.tls_key_file, ssl::context::pem, ec);
  if (ec) return "cannot load the TLS key " + options.tls_key_file + ": " + ec.message();
  if (SSL_CTX_check_private_key(native) != 1) {
    return "the TLS key " + options.tls_key_file + " does not match the certificate " + options.tls_cert_file;
  }
  out = std::move(context);
  return std::nullopt;
}

std::optional<std::string> options_problem(const HttpServerOptions& options) {
  if (options.request_timeout.count() <= 0 || options.idle_timeout.count() <= 0) {
    return "invalid HTTP server options: request_timeout and idle_timeout must be positive";
  }
  if (!(options.requests_per_second >= 0) || !std::isfinite(options.requests_per_second) ||
      !(options.burst >= 0) || !std::isfinite(options.burst)) {
    return "invalid HTTP server options: requests_per_second and burst must be finite and not negative";
  }
  if (options.max_header_bytes == 0) return "invalid HTTP server options: max_header_bytes must be positive";
  return std::nullopt;
}

// Blocks the signals a host delivers (SIGTERM, SIGHUP, ...) in the threads created meanwhile,
// which inherit the mask: they belong to the host's own threads or its signalfd. Signals a fault
// raises stay unblocked (a blocked one kills the process without its handler, a sanitizer's say).
class HostSignalsBlocked {
 public:
  HostSignalsBlocked() noexcept {
    sigset_t signals;
    sigfillset(&signals);
    for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&signals, fault);
    pthread_sigmask(SIG_BLOCK, &signals, &previous_);
  }
  ~HostSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  HostSignalsBlocked(const HostSignalsBlocked&) = delete;
  HostSignalsBlocked& operator=(const HostSignalsBlocked&) = delete;

 private:
  sigset_t previous_;
};

// A server thread's loop. An exception out of a completion handler (memory, say) ends only that
// handler's connection; the io_context stays usable, so the thread runs it again.
void run_io(net::io_context& io) noexcept {
  for (;;) {
    try {
      io.run();
      return;
    } catch (...) {
    }
  }
}

// One start()..stop(): members in the order they may be destroyed, the core last (sessions that
// the io_context destroys refer to it).
struct Running {
  Running(const HttpServerOptions& options, const HttpHandler& handler, Counters& counters,
          std::unique_ptr<ssl::context> tls)
      : core(options, handler, counters, std::move(tls)),
        io(static_cast<int>(std::max(1U, options.threads))),
        work(net::make_work_guard(io)),
        listener(std::make_shared<Listener>(io, core)) {}
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;

  void start_threads(unsigned count) {
    const HostSignalsBlocked blocked;
    for (unsigned i = 0; i < count; ++i) threads.emplace_back([this] { run_io(io); });
  }

  // Nothing new is accepted, every connection is closed, and with no work left the threads end.
  void shut_down() {
    listener->close();
    core.connections.abort_all();
    work.reset();
    for (std::thread& thread : threads) thread.join();
    threads.clear();
  }

  ServerCore core;
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions server_options, HttpHandler server_handler)
      : options(std::move(server_options)), handler(std::move(server_handler)) {}

  std::optional<std::string> start();
  void stop();

  const HttpServerOptions options;
  const HttpHandler handler;
  Counters counters;
  std::atomic<std::uint16_t> port{0};

 private:
  std::mutex lifecycle_;  // start() and stop() one at a time
  std::unique_ptr<Running> running_;
};

std::optional<std::string> HttpServer::Impl::start() {
  const std::lock_guard lock(lifecycle_);
  if (running_) return "the HTTP server is already running on " + where(options.bind_address, port.load());
  if (std::optional<std::string> problem = options_problem(options)) return problem;
  error_code ec;
  const net::ip::address address = net::ip::make_address(options.bind_address, ec);
  if (ec) return "cannot listen on " + where(options.bind_address, options.port) + ": not an IPv4 or IPv6 address";
  try {
    std::unique_ptr<ssl::context> tls;
    if (std::optional<std::string> problem = make_tls_context(options, tls)) return problem;
    auto running = std::make_unique<Running>(options, handler, counters, std::move(tls));
    if (std::optional<std::string> problem = running->listener->listen({address, options.port}, options.bind_address)) {
      return problem;
    }
    running->listener->run();
    try {
      running->start_threads(std::max(1U, options.threads));
    } catch (const std::exception& e) {
      running->shut_down();
      return "cannot start the HTTP server's threads: " + std::string(e.what());
    }
    port = running->listener->port();
    running_ = std::move(running);
    return std::nullopt;
  } catch (const std::exception& e) {
    return "cannot start the HTTP server on " + where(options.bind_address, options.port) + ": " + e.what();
  }
}

void HttpServer::Impl::stop() {
  const std::lock_guard lock(lifecycle_);
  if (!running_) return;
  running_->shut_down();
  running_.reset();
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { stop(); }

std::optional<std::string> HttpServer::start() { return impl_->start(); }

void HttpServer::stop() { impl_->stop(); }

std::uint16_t HttpServer::port() const noexcept { return impl_->port.load(); }

HttpServer::Stats HttpServer::stats() const noexcept {
  const Counters& c = impl_->counters;
  return Stats{c.requests.load(),  c.rejected_connections.load(), c.rate_limited.load(),
               c.too_large.load(), c.timeouts.load(),             c.open_connections.load()};
}

}  // namespace flagd::serve
