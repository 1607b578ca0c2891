#include "etcd_http.hpp"

#include <curl/curl.h>

#include <mutex>

namespace flagd::etcd {
namespace {

// curl_easy_setopt is a macro whose type checks use old-style casts; calling the function through
// parentheses bypasses the macro. These overloads keep each call's argument type right.
CURLcode set(CURL* easy, CURLoption option, long value) { return (::curl_easy_setopt)(easy, option, value); }
CURLcode set(CURL* easy, CURLoption option, const char* value) { return (::curl_easy_setopt)(easy, option, value); }
CURLcode set(CURL* easy, CURLoption option, void* value) { return (::curl_easy_setopt)(easy, option, value); }
CURLcode set(CURL* easy, CURLoption option, curl_slist* value) { return (::curl_easy_setopt)(easy, option, value); }
CURLcode set(CURL* easy, CURLoption option, std::size_t (*value)(char*, std::size_t, std::size_t, void*) noexcept) {
  return (::curl_easy_setopt)(easy, option, value);
}

CURLM* as_multi(void* multi) { return static_cast<CURLM*>(multi); }

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

GatewayHttp::GatewayHttp(HttpOptions options) : options_(std::move(options)) {
  static std::once_flag once;
  static CURLcode init = CURLE_OK;
  std::call_once(once, [] { init = curl_global_init(CURL_GLOBAL_ALL); });
  if (init == CURLE_OK) multi_ = curl_multi_init();
}

GatewayHttp::~GatewayHttp() {
  if (multi_ != nullptr) curl_multi_cleanup(as_multi(multi_));
}

void GatewayHttp::interrupt() noexcept {
  interrupted_.store(true);
  if (multi_ != nullptr) curl_multi_wakeup(as_multi(multi_));
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
  if (interrupted_.load()) {
    result.end = End::Interrupted;
    return result;
  }
  CURL* easy = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (multi_ == nullptr || easy == nullptr || headers == nullptr) {
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
    result.error = "libcurl could not be initialised";
    return result;
  }
  Transfer transfer{&on_data, false, std::chrono::steady_clock::now()};
  char error_buffer[CURL_ERROR_SIZE] = {};
  const std::string url = options_.base_url + std::string(path);
  set(easy, CURLOPT_URL, url.c_str());
  set(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  set(easy, CURLOPT_NOSIGNAL, 1L);
  set(easy, CURLOPT_POST, 1L);
  set(easy, CURLOPT_COPYPOSTFIELDS, body.c_str());  // JSON requests: no NUL inside
  set(easy, CURLOPT_HTTPHEADER, headers);
  set(easy, CURLOPT_WRITEFUNCTION, &GatewayHttp::on_write);
  set(easy, CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
  set(easy, CURLOPT_ERRORBUFFER, static_cast<void*>(error_buffer));
  set(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  set(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(whole.count()));
  set(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  set(easy, CURLOPT_TCP_KEEPIDLE, kKeepIdleSeconds);
  set(easy, CURLOPT_TCP_KEEPINTVL, kKeepIntervalSeconds);
  if (!options_.ca_file.empty()) set(easy, CURLOPT_CAINFO, options_.ca_file.c_str());

  CURLM* multi = as_multi(multi_);
  CURLcode code = CURLE_OK;
  bool done = false;
  if (const CURLMcode added = curl_multi_add_handle(multi, easy); added != CURLM_OK) {
    result.error = curl_multi_strerror(added);
    done = true;
    code = CURLE_FAILED_INIT;
  }
  while (!done) {
    if (interrupted_.load()) {
      result.end = End::Interrupted;
      break;
    }
    int running = 0;
    if (const CURLMcode m = curl_multi_perform(multi, &running); m != CURLM_OK) {
      result.error = curl_multi_strerror(m);
      code = CURLE_FAILED_INIT;
      break;
    }
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg == CURLMSG_DONE && message->easy_handle == easy) {
        code = message->data.result;
        done = true;
      }
    }
    if (done) break;
    if (silence.count() > 0 && std::chrono::steady_clock::now() - transfer.last_data > silence) {
      result.end = End::Silent;
      break;
    }
    if (const CURLMcode m = curl_multi_poll(multi, nullptr, 0, 1000, nullptr); m != CURLM_OK) {
      result.error = curl_multi_strerror(m);
      code = CURLE_FAILED_INIT;
      break;
    }
  }
  long status = 0;
  (::curl_easy_getinfo)(easy, CURLINFO_RESPONSE_CODE, &status);
  result.status = status;
  curl_multi_remove_handle(multi, easy);  // ends a transfer still under way
  curl_easy_cleanup(easy);
  curl_slist_free_all(headers);

  if (result.end == End::Interrupted || result.end == End::Silent) return result;
  if (transfer.consumer_ended) {
    result.end = End::Consumer;
  } else if (done && code == CURLE_OK) {
    result.end = End::Complete;
  } else {
    result.end = End::Failed;
    if (result.error.empty()) result.error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  }
  return result;
}

}  // namespace flagd::etcd
