#include "etcd_http.hpp"


namespace flagd::etcd {
namespace {

// TCP keepalive is what notices a peer that vanished without closing (host down, network cut)
// under an idle watch: etcd sends nothing on an idle key but a progress notification, by default
// every 10 minutes. First probe after 10 s idle, then every 5 s: with Linux's 9 probes a dead
// connection is dropped within about a minute.
constexpr long kKeepIdleSeconds = 10;
constexpr long kKeepIntervalSeconds = 5;

}  // namespace

struct GatewayHttp::Transfer {
  const std::function<bool(std::string_view)>* on_data;
  bool consumer_ended = false;
  std::chrono::steady_clock::time_point last_data;
};

GatewayHttp::GatewayHttp(HttpOptions options) : options_(std::move(options)) {}

GatewayHttp::~GatewayHttp() = default;

void GatewayHttp::interrupt() noexcept {
  interrupted_.store(true, std::memory_order_release);
  multi_.wakeup();
}

std::size_t GatewayHttp::on_write(char* data, std::size_t size, std::size_t count, void* state) noexcept {
  auto& transfer = *static_cast<Transfer*>(state);
  transfer.last_data = std::chrono::steady_clock::now();
  const std::size_t bytes = size * count;
  if (bytes == 0) return 0;
  try {
    if ((*transfer.on_data)(std::string_view(data, bytes))) return bytes;
  } catch (...) {  // nothing may unwind through libcurl's C frames
  }
  transfer.consumer_ended = true;
  return 0;  // not the size given: libcurl ends the transfer
}

GatewayHttp::Result GatewayHttp::post(std::string_view path, const std::string& body, std::chrono::milliseconds whole,
                                      std::chrono::milliseconds silence,
                                      const std::function<bool(std::string_view)>& on_data) {
  Result result;
  if (interrupted_.load(std::memory_order_acquire)) {
    result.end = End::Interrupted;
    return result;
  }
  curl::Easy easy;
  curl::HeaderList headers;
  if (!multi_.valid() || !easy.valid() || !headers.append("Content-Type: application/json")) {
    result.error = "libcurl could not be initialised";
    return result;
  }
  Transfer transfer{&on_data, false, std::chrono::steady_clock::now()};
  char error_buffer[CURL_ERROR_SIZE] = {};
  const std::string url = options_.base_url + std::string(path);
  easy.set(CURLOPT_URL, url.c_str());
  easy.set(CURLOPT_PROTOCOLS_STR, "http,https");
  easy.set(CURLOPT_NOSIGNAL, 1L);
  easy.set(CURLOPT_POST, 1L);
  easy.set(CURLOPT_COPYPOSTFIELDS, body.c_str());  // JSON requests: no NUL inside
  easy.set(CURLOPT_HTTPHEADER, headers.get());
  easy.set(CURLOPT_WRITEFUNCTION, &GatewayHttp::on_write);
  easy.set_pointer(CURLOPT_WRITEDATA, &transfer);
  easy.set_pointer(CURLOPT_ERRORBUFFER, error_buffer);
  easy.set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  easy.set(CURLOPT_TIMEOUT_MS, static_cast<long>(whole.count()));
  easy.set(CURLOPT_TCP_KEEPALIVE, 1L);
  easy.set(CURLOPT_TCP_KEEPIDLE, kKeepIdleSeconds);
  easy.set(CURLOPT_TCP_KEEPINTVL, kKeepIntervalSeconds);
  if (!options_.ca_file.empty()) easy.set(CURLOPT_CAINFO, options_.ca_file.c_str());

  const curl::TransferResult done = multi_.perform(easy, interrupted_, [&] {
    return silence.count() <= 0 || std::chrono::steady_clock::now() - transfer.last_data <= silence;
  });
  result.status = easy.info_long(CURLINFO_RESPONSE_CODE);
  if (done.interrupted) {
    result.end = End::Interrupted;
  } else if (done.abandoned) {
    result.end = End::Silent;
  } else if (transfer.consumer_ended) {
    result.end = End::Consumer;
  } else if (done.code == CURLE_OK && done.multi_error == nullptr) {
    result.end = End::Complete;
  } else {
    result.end = End::Failed;
    result.error = done.multi_error != nullptr ? done.multi_error
                   : error_buffer[0] != '\0'    ? error_buffer
                                                : ::curl_easy_strerror(done.code);
  }
  return result;
}

}  // namespace flagd::etcd
