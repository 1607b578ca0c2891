#include "curl_handle.hpp"

#include <mutex>

namespace flagd::curl {

CURLcode global_init() noexcept {
  static std::once_flag once;
  static CURLcode result = CURLE_FAILED_INIT;
  std::call_once(once, [] { result = ::curl_global_init(CURL_GLOBAL_ALL); });
  return result;
}

Easy::Easy() noexcept {
  if (global_init() == CURLE_OK) handle_ = ::curl_easy_init();
}

Easy::~Easy() {
  if (handle_ != nullptr) ::curl_easy_cleanup(handle_);
}

CURLcode Easy::set(CURLoption option, long value) noexcept { return (::curl_easy_setopt)(handle_, option, value); }

CURLcode Easy::set_size(CURLoption option, curl_off_t value) noexcept {
  return (::curl_easy_setopt)(handle_, option, value);
}

CURLcode Easy::set(CURLoption option, const char* value) noexcept {
  return (::curl_easy_setopt)(handle_, option, value);
}

CURLcode Easy::set(CURLoption option, curl_slist* value) noexcept {
  return (::curl_easy_setopt)(handle_, option, value);
}

CURLcode Easy::set_pointer(CURLoption option, void* value) noexcept {
  return (::curl_easy_setopt)(handle_, option, value);
}

long Easy::info_long(CURLINFO info) const noexcept {
  long value = 0;
  if ((::curl_easy_getinfo)(handle_, info, &value) != CURLE_OK) return 0;
  return value;
}

curl_off_t Easy::info_size(CURLINFO info) const noexcept {
  curl_off_t value = 0;
  if ((::curl_easy_getinfo)(handle_, info, &value) != CURLE_OK) return 0;
  return value;
}

std::optional<std::string> Easy::header(const char* name) const {
  curl_header* found = nullptr;
  // request -1: the last request of the transfer, i.e. the response after any redirects.
  if (::curl_easy_header(handle_, name, 0, CURLH_HEADER, -1, &found) != CURLHE_OK || found == nullptr) {
    return std::nullopt;
  }
  return std::string(found->value);
}

HeaderList::~HeaderList() {
  if (list_ != nullptr) ::curl_slist_free_all(list_);
}

bool HeaderList::append(const std::string& line) {
  curl_slist* longer = ::curl_slist_append(list_, line.c_str());
  if (longer == nullptr) return false;
  list_ = longer;
  return true;
}

Multi::Multi() noexcept {
  if (global_init() == CURLE_OK) handle_ = ::curl_multi_init();
}

Multi::~Multi() {
  if (handle_ != nullptr) ::curl_multi_cleanup(handle_);
}

void Multi::wakeup() noexcept {
  if (handle_ != nullptr) ::curl_multi_wakeup(handle_);
}

TransferResult Multi::perform(Easy& easy, const std::atomic<bool>& stop,
                              const std::function<bool()>& still_wanted) noexcept {
  TransferResult result;
  if (CURLMcode added = ::curl_multi_add_handle(handle_, easy.get()); added != CURLM_OK) {
    result.code = CURLE_FAILED_INIT;
    result.multi_error = ::curl_multi_strerror(added);
    return result;
  }
  for (;;) {
    if (stop.load(std::memory_order_acquire)) {
      result.code = CURLE_ABORTED_BY_CALLBACK;
      result.interrupted = true;
      break;
    }
    int running = 0;
    if (CURLMcode performed = ::curl_multi_perform(handle_, &running); performed != CURLM_OK) {
      result.code = CURLE_FAILED_INIT;
      result.multi_error = ::curl_multi_strerror(performed);
      break;
    }
    if (running == 0) {
      int queued = 0;
      result.code = CURLE_FAILED_INIT;
      result.multi_error = "the transfer ended without a result";
      while (CURLMsg* message = ::curl_multi_info_read(handle_, &queued)) {
        if (message->msg == CURLMSG_DONE && message->easy_handle == easy.get()) {
          result.code = message->data.result;
          result.multi_error = nullptr;
        }
      }
      break;
    }
    if (still_wanted) {
      bool wanted = false;
      try {
        wanted = still_wanted();
      } catch (...) {  // nothing unwinds out of a transfer
      }
      if (!wanted) {
        result.code = CURLE_ABORTED_BY_CALLBACK;
        result.abandoned = true;
        break;
      }
    }
    // The timeout only bounds one wait; libcurl wakes earlier for its own timers and sockets.
    if (CURLMcode polled = ::curl_multi_poll(handle_, nullptr, 0, 1000, nullptr); polled != CURLM_OK) {
      result.code = CURLE_FAILED_INIT;
      result.multi_error = ::curl_multi_strerror(polled);
      break;
    }
  }
  // Removing the handle ends a transfer still in progress; its connection is closed, not cached.
  ::curl_multi_remove_handle(handle_, easy.get());
  return result;
}

}  // namespace flagd::curl
