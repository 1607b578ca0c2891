// POSTs to etcd's JSON gateway with libcurl, one at a time on the source's thread, interruptible at
// once from another thread: a watch is a transfer that never ends on its own, and stop() must not
// wait for it. Transfers run in a multi handle whose poll curl_multi_wakeup() breaks, rather than
// relying on a progress callback (which libcurl calls only about once a second when idle).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "curl_handle.hpp"

namespace flagd::etcd {

struct HttpOptions {
  std::string base_url;  // "http://127.0.0.1:2379"
  std::string ca_file;   // for https; "" the system's CA bundle
  std::chrono::milliseconds connect_timeout{3000};
};

class GatewayHttp {
 public:
  explicit GatewayHttp(HttpOptions options);
  ~GatewayHttp();
  GatewayHttp(const GatewayHttp&) = delete;
  GatewayHttp& operator=(const GatewayHttp&) = delete;

  enum class End {
    Complete,     // the server ended the answer
    Consumer,     // on_data returned false
    Interrupted,  // interrupt() was called
    Silent,       // nothing arrived for the silence limit
    Failed,       // could not connect, or the transfer broke: see error
  };
  struct Result {
    End end = End::Failed;
    long status = 0;        // HTTP status; 0 if no answer began
    std::string error;      // libcurl's reason when Failed
  };

  // POSTs `body` (JSON) to base_url + `path`, handing the answer's bytes to `on_data` as they
  // arrive (it returns false to end the transfer). `whole` bounds the whole request (0: no bound,
  // for a watch); `silence` ends a transfer nothing arrived in for that long (0: never).
  Result post(std::string_view path, const std::string& body, std::chrono::milliseconds whole,
              std::chrono::milliseconds silence, const std::function<bool(std::string_view)>& on_data);

  // Ends the transfer in progress, and makes every later post() return Interrupted at once. Any
  // thread; the object must outlive the call.
  void interrupt() noexcept;

 private:
  struct Transfer;
  static std::size_t on_write(char* data, std::size_t size, std::size_t count, void* transfer) noexcept;

  HttpOptions options_;
  curl::Multi multi_;
  std::atomic<bool> interrupted_{false};
};

}  // namespace flagd::etcd
