#include "http_source.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include "backoff.hpp"
#include "small_file.hpp"
#include "source_thread.hpp"
#include "curl_handle.hpp"
#include "flagd/ascii_case.hpp"
#include "flagd/wall_clock.hpp"

namespace flagd {

namespace {

constexpr long kMaxRedirects = 5;
// A server that sends less than this for the window is cut off even before the whole-request
// timeout, which an operator may have set long for a large document on a slow link.
constexpr long kLowSpeedBytesPerSecond = 1024;
constexpr std::chrono::seconds kLowSpeedWindow{10};
// A longer ETag or Last-Modified is not sent back: it would make every request that large.
constexpr std::size_t kMaxValidatorBytes = 1024;
// A whole header value ("Bearer ..."); a larger file is a mistake, not a token.
constexpr std::size_t kMaxAuthorizationBytes = 16 * 1024;

enum class Outcome { Document, Unchanged, Failed, Stopped };

// What the server said about the document we hold, to be asked again "if none match".
struct Validators {
  std::string etag, last_modified;
};

std::optional<std::string> validator(const curl::Easy& easy, const char* header) {
  std::optional<std::string> value = easy.header(header);
  if (value && (value->empty() || value->size() > kMaxValidatorBytes)) return std::nullopt;
  return value;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string without_trailing_newline(std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

// Reads the secret file whole. The error names the file and why, never what it holds.
std::optional<std::string> read_secret_file(const std::string& path, std::string& error) {
  std::string text, why;
  if (read_small_file(path, kMaxAuthorizationBytes, text, why)) return text;
  error = "cannot read " + path + ": " + why;
  return std::nullopt;
}

class HttpSource final : public ThreadedSource {
 public:
  explicit HttpSource(const SourceConfig& config)
      : config_(config), display_uri_(http_display_uri(config.uri)) {
    // Read here, on the thread that builds the sources, not beside another thread's setenv.
    if (config_.authorization.file.empty() && !config_.authorization.env.empty()) {
      if (const char* value = std::getenv(config_.authorization.env.c_str())) env_authorization_ = value;
    }
    configure();
  }
  ~HttpSource() override { stop(); }

  const std::string& display_uri() const noexcept override { return display_uri_; }

 private:
  // The options that stay the same for every request of the source.
  void configure() {
    if (!easy_.valid() || !multi_.valid()) {
      setup_error_ = "cannot fetch " + display_uri_ + ": libcurl could not be initialised";
      return;
    }
    error_buffer_[0] = '\0';
    const auto check = [this](CURLcode code, const char* what) {
      if (code != CURLE_OK && setup_error_.empty()) {
        setup_error_ = "cannot fetch " + display_uri_ + ": libcurl refused " + what + ": " +
                       ::curl_easy_strerror(code);
      }
    };
    const curl_off_t body_limit = static_cast<curl_off_t>(
        std::min<std::uint64_t>(config_.max_body_bytes, std::numeric_limits<curl_off_t>::max()));
    const auto low_speed_window = std::max<long>(
        1, static_cast<long>(std::min<std::chrono::milliseconds>(config_.timeout, kLowSpeedWindow).count() / 1000));
    check(easy_.set(CURLOPT_ERRORBUFFER, error_buffer_), "an error buffer");
    check(easy_.set(CURLOPT_URL, config_.uri.c_str()), "the URL");
    check(easy_.set(CURLOPT_PROTOCOLS_STR, "http,https"), "the protocols http and https");
    check(easy_.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https"), "the redirect protocols http and https");
    check(easy_.set(CURLOPT_FOLLOWLOCATION, 1L), "following redirects");
    check(easy_.set(CURLOPT_MAXREDIRS, kMaxRedirects), "a redirect limit");
    check(easy_.set(CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count())), "the timeout");
    check(easy_.set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout.count())),
          "the connect timeout");
    check(easy_.set(CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerSecond), "a low-speed limit");
    check(easy_.set(CURLOPT_LOW_SPEED_TIME, low_speed_window), "a low-speed window");
    check(easy_.set(CURLOPT_NOSIGNAL, 1L), "no signals");
    check(easy_.set(CURLOPT_TCP_KEEPALIVE, 1L), "TCP keep-alive");
    check(easy_.set(CURLOPT_SSL_VERIFYPEER, 1L), "verifying the server's certificate");
    check(easy_.set(CURLOPT_SSL_VERIFYHOST, 2L), "verifying the server's name");
    if (!config_.ca_file.empty()) check(easy_.set(CURLOPT_CAINFO, config_.ca_file.c_str()), "the CA file");
    check(easy_.set_size(CURLOPT_MAXFILESIZE_LARGE, body_limit), "a body limit");
    // Any encoding libcurl decodes; the body limit applies to the decoded bytes.
    check(easy_.set(CURLOPT_ACCEPT_ENCODING, ""), "compressed responses");
    check(easy_.set(CURLOPT_USERAGENT, "flagd"), "a user agent");
    check(easy_.set(CURLOPT_WRITEFUNCTION, &HttpSource::on_body), "a body callback");
    check(easy_.set_pointer(CURLOPT_WRITEDATA, this), "a body callback's data");
    check(easy_.set(CURLOPT_XFERINFOFUNCTION, &HttpSource::on_progress), "a progress callback");
    check(easy_.set_pointer(CURLOPT_XFERINFODATA, this), "a progress callback's data");
    check(easy_.set(CURLOPT_NOPROGRESS, 0L), "progress callbacks");
  }

  void interrupt() noexcept override { multi_.wakeup(); }

  void run() noexcept override {
    Backoff backoff(config_.backoff_initial, config_.backoff_max);
    while (!thread().stopping()) {
      std::string error;
      Outcome outcome = Outcome::Failed;
      try {
        outcome = attempt(error);
      } catch (const std::exception& e) {
        error = "cannot fetch " + display_uri_ + ": " + e.what();
      } catch (...) {
        error = "cannot fetch " + display_uri_ + ": unknown failure";
      }
      // An attempt that ended is reported even when stop() came meanwhile: the sink may hold
      // its document already. Only an interrupted one is not.
      if (outcome == Outcome::Stopped) break;

      health_.last_attempt_unix_ns = unix_now_ns();
      std::chrono::milliseconds delay{0};
      if (outcome == Outcome::Failed) {
        ++health_.failures;
        health_.last_error = std::move(error);
        delay = backoff.after_failure();
      } else {
        health_.last_success_unix_ns = health_.last_attempt_unix_ns;
        health_.last_error.clear();
        backoff.succeeded();
        delay = backoff.poll(config_.poll_interval);
      }
      try {
        sink_->health(index_, health_);
      } catch (...) {
        // The sink copies and signals; should it fail, the next attempt reports again.
      }
      thread().wait(delay);
    }
  }

  // One request. Fills `error` (one line, no secret) when it returns Failed.
  Outcome attempt(std::string& error) {
    if (!setup_error_.empty()) {
      error = setup_error_;
      return Outcome::Failed;
    }
    curl::HeaderList headers;
    std::optional<std::string> authorization = authorization_header(error);
    if (!error.empty()) return Outcome::Failed;
    bool listed = !authorization || headers.append("Authorization: " + *authorization);
    if (!delivered_.etag.empty()) listed = listed && headers.append("If-None-Match: " + delivered_.etag);
    if (!delivered_.last_modified.empty()) {
      listed = listed && headers.append("If-Modified-Since: " + delivered_.last_modified);
    }
    if (!listed) {
      error = "cannot fetch " + display_uri_ + ": out of memory for the request headers";
      return Outcome::Failed;
    }

    easy_.set(CURLOPT_HTTPHEADER, headers.get());
    body_.clear();
    over_limit_ = false;
    out_of_memory_ = false;
    error_buffer_[0] = '\0';
    const curl::TransferResult result = multi_.perform(easy_, thread().stop_flag());
    easy_.set(CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
    // Interrupted by stop(): through the multi handle's wakeup, or the progress callback.
    if (result.interrupted || (result.code == CURLE_ABORTED_BY_CALLBACK && thread().stopping())) {
      return Outcome::Stopped;
    }

    if (result.code != CURLE_OK) {
      error = transfer_error(result);
      return Outcome::Failed;
    }
    const long status = easy_.info_long(CURLINFO_RESPONSE_CODE);
    const auto latency_us = static_cast<std::uint64_t>(std::max<curl_off_t>(0, easy_.info_size(CURLINFO_TOTAL_TIME_T)));
    if (status == 304) {
      health_.fetch_latency_us = latency_us;
      ++health_.unchanged;
      return Outcome::Unchanged;
    }
    if (status != 200) {
      error = "HTTP " + std::to_string(status) + " from " + display_uri_;
      return Outcome::Failed;
    }

    health_.fetch_latency_us = latency_us;
    Validators received;
    received.etag = validator(easy_, "ETag").value_or("");
    received.last_modified = validator(easy_, "Last-Modified").value_or("");
    std::string version = !received.etag.empty() ? received.etag : received.last_modified;
    // The same bytes again in the same notation (a server without validators, or one that
    // changed only its ETag): nothing to parse, but ask with the new validators from now on.
    const FlagFormat format = http_document_format(config_.uri, easy_.header("Content-Type").value_or(""));
    if (delivered_once_ && body_ == last_body_ && format == last_format_) {
      delivered_ = std::move(received);
      health_.version = std::move(version);
      ++health_.unchanged;
      return Outcome::Unchanged;
    }
    sink_->document(index_, body_, version, format);  // first: should it throw, nothing counts as delivered
    last_body_ = std::move(body_);
    last_format_ = format;
    body_ = std::string();
    delivered_once_ = true;
    delivered_ = std::move(received);
    health_.version = std::move(version);
    health_.bytes = last_body_.size();
    ++health_.documents;
    return Outcome::Document;
  }

  // The Authorization header's value, read now: the file at every request, so a rotated token is
  // used from the next one. Sets `error` when it is configured but unusable.
  std::optional<std::string> authorization_header(std::string& error) const {
    const SecretRef& secret = config_.authorization;
    std::string where;
    std::optional<std::string> value;
    if (!secret.file.empty()) {
      where = secret.file;
      value = read_secret_file(secret.file, error);
      if (!value) {
        error = "cannot fetch " + display_uri_ + ": no Authorization header: " + error;
        return std::nullopt;
      }
    } else if (!secret.env.empty()) {
      where = "the environment variable " + secret.env;
      if (!env_authorization_) {
        error = "cannot fetch " + display_uri_ + ": " + where + ", which should hold its Authorization header, is not set";
        return std::nullopt;
      }
      value = env_authorization_;
    } else {
      return std::nullopt;
    }
    *value = without_trailing_newline(std::move(*value));
    if (value->empty()) {
      error = "cannot fetch " + display_uri_ + ": the Authorization header in " + where + " is empty";
      return std::nullopt;
    }
    // A line break would end the header and start another: refused, never sent.
    if (value->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      error = "cannot fetch " + display_uri_ + ": the Authorization header in " + where +
              " holds a line break or a NUL byte; it must be one line";
      return std::nullopt;
    }
    return value;
  }

  std::string transfer_error(const curl::TransferResult& result) const {
    if (over_limit_ || result.code == CURLE_FILESIZE_EXCEEDED) {
      return "the response from " + display_uri_ + " is over the limit of " + std::to_string(config_.max_body_bytes) +
             " bytes";
    }
    if (out_of_memory_) return "cannot fetch " + display_uri_ + ": out of memory for the response";
    if (result.multi_error != nullptr) return "cannot fetch " + display_uri_ + ": " + result.multi_error;
    std::string detail = error_buffer_[0] != '\0' ? std::string(error_buffer_) : ::curl_easy_strerror(result.code);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
    return "cannot fetch " + display_uri_ + ": " + detail;
  }

  // libcurl's callbacks: C functions, so nothing may be thrown through them.
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self_pointer) {
    auto& self = *static_cast<HttpSource*>(self_pointer);
    const std::size_t bytes = size * count;
    if (bytes > self.config_.max_body_bytes - std::min<std::uint64_t>(self.body_.size(), self.config_.max_body_bytes)) {
      self.over_limit_ = true;
      return 0;  // anything but `bytes` ends the transfer with CURLE_WRITE_ERROR
    }
    try {
      self.body_.append(data, bytes);
    } catch (...) {
      self.out_of_memory_ = true;
      return 0;
    }
    return bytes;
  }
  static int on_progress(void* self_pointer, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<HttpSource*>(self_pointer)->thread().stopping() ? 1 : 0;
  }

  const SourceConfig config_;
  const std::string display_uri_;
  std::optional<std::string> env_authorization_;

  // The thread's; nobody else touches them once it runs.
  curl::Easy easy_;
  curl::Multi multi_;  // the connection cache, and the wakeup that stop() uses
  std::string setup_error_;
  char error_buffer_[CURL_ERROR_SIZE] = {};
  std::string body_, last_body_;
  FlagFormat last_format_ = FlagFormat::Json;
  bool delivered_once_ = false, over_limit_ = false, out_of_memory_ = false;
  Validators delivered_;
  SourceHealth health_;
};

}  // namespace

FlagFormat http_document_format(std::string_view url, std::string_view content_type) noexcept {
  url = url.substr(0, url.find_first_of("?#"));
  const std::size_t authority = url.find("://");
  const std::size_t path = authority == std::string_view::npos ? 0 : url.find('/', authority + 3);
  if (path != std::string_view::npos && url.substr(url.rfind('/') + 1).find('.') != std::string_view::npos)
    return format_named(url.substr(path));
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  return equals_ignoring_case(media, "application/yaml") || equals_ignoring_case(media, "application/x-yaml")
             ? FlagFormat::Yaml
             : FlagFormat::Json;
}

std::string http_display_uri(const std::string& url) {
  const std::size_t scheme = url.find("://");
  const std::size_t authority = scheme == std::string::npos ? 0 : scheme + 3;
  std::size_t authority_end = url.find_first_of("/?#", authority);
  if (authority_end == std::string::npos) authority_end = url.size();
  std::string shown = url;
  // The last '@' of the authority ends the userinfo (a password may hold another '@').
  const std::size_t at = url.rfind('@', authority_end == 0 ? 0 : authority_end - 1);
  if (at != std::string::npos && at >= authority && at < authority_end) {
    shown.erase(authority, at + 1 - authority);
  }
  const std::size_t cut = shown.find_first_of("?#", authority);
  if (cut != std::string::npos) {
    const bool query = shown[cut] == '?';
    shown.erase(cut);
    if (query) shown += "?\xE2\x80\xA6";
  }
  return shown;
}

std::unique_ptr<RemoteSource> make_http_source(const SourceConfig& config) {
  return std::make_unique<HttpSource>(config);
}

}  // namespace flagd
