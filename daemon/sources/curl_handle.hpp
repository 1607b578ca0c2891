// libcurl for the remote sources: the process-wide initialisation done once, an easy handle and a
// multi handle owned RAII-style, and typed option setters. curl_easy_setopt is variadic and wrapped
// in GCC type-checking macros whose casts trip -Wold-style-cast in our code, so every call goes
// through a setter here, which names the function in parentheses: the real function, no macro.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace flagd::curl {

// curl_global_init, exactly once per process and from whichever thread comes first; every handle
// constructor calls it. The result of that one call, every time.
CURLcode global_init() noexcept;

// One easy handle: one transfer at a time, whose connections (and TLS sessions) stay cached for
// the next one when the handle is reused.
class Easy {
 public:
  Easy() noexcept;
  ~Easy();
  Easy(const Easy&) = delete;
  Easy& operator=(const Easy&) = delete;

  // False when libcurl could not be initialised or the handle not allocated (out of memory).
  bool valid() const noexcept { return handle_ != nullptr; }
  CURL* get() const noexcept { return handle_; }

  CURLcode set(CURLoption option, long value) noexcept;
  CURLcode set_size(CURLoption option, curl_off_t value) noexcept;
  CURLcode set(CURLoption option, const char* value) noexcept;  // libcurl copies strings
  CURLcode set(CURLoption option, curl_slist* value) noexcept;  // kept by reference: outlive use
  CURLcode set_pointer(CURLoption option, void* value) noexcept;
  template <class Result, class... Arguments>
  CURLcode set(CURLoption option, Result (*function)(Arguments...)) noexcept {
    return (::curl_easy_setopt)(handle_, option, function);
  }

  // Information on the last transfer; 0 when libcurl has none.
  long info_long(CURLINFO info) const noexcept;
  curl_off_t info_size(CURLINFO info) const noexcept;
  // The last value of response header `name` in the last response (after redirects), if any.
  std::optional<std::string> header(const char* name) const;

 private:
  CURL* handle_ = nullptr;
};

// A list of request headers (curl_slist), freed on destruction. It may hold a credential, so it
// is kept only as long as the request it is for.
class HeaderList {
 public:
  HeaderList() = default;
  ~HeaderList();
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;

  // False when out of memory; the list is unchanged then.
  bool append(const std::string& line);
  curl_slist* get() const noexcept { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

struct TransferResult {
  CURLcode code = CURLE_OK;  // of the transfer; CURLE_ABORTED_BY_CALLBACK when interrupted
  bool interrupted = false;  // by `stop`
  bool abandoned = false;    // because `still_wanted` said no
  const char* multi_error = nullptr;  // unless the multi interface itself failed: static text
};

// A multi handle running one easy transfer at a time, so that another thread can interrupt the
// wait inside it (curl_multi_wakeup) at once. The connection cache lives here: keep one Multi for
// the life of the Easy it runs, and reused connections survive between transfers.
class Multi {
 public:
  Multi() noexcept;
  ~Multi();
  Multi(const Multi&) = delete;
  Multi& operator=(const Multi&) = delete;

  bool valid() const noexcept { return handle_ != nullptr; }

  // Runs the transfer `easy` is set up for to its end, or until `stop` is true after a wakeup(),
  // or until `still_wanted` (asked at least once a second; none: always) returns false.
  TransferResult perform(Easy& easy, const std::atomic<bool>& stop,
                         const std::function<bool()>& still_wanted = {}) noexcept;
  // Wakes perform() in another thread, which then looks at its `stop` flag. Thread-safe; a wakeup
  // before perform() waits is not lost.
  void wakeup() noexcept;

 private:
  CURLM* handle_ = nullptr;
};

}  // namespace flagd::curl
