#include "grpc_sync_source.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>

#include "backoff.hpp"
#include "pem_file.hpp"
#include "source_thread.hpp"
#include "flagd/limits.hpp"
#include "flagd/printable.hpp"
#include "flagd/sync/v1/sync.grpc.pb.h"
#include "flagd/wall_clock.hpp"

namespace flagd {
namespace {

namespace sync_v1 = ::flagd::sync::v1;

// Around the document a message carries protobuf framing and, optionally, a sync_context.
constexpr std::size_t kMessageHeadroom = std::size_t{1} << 20;
// Deployed flagd servers enforce gRPC-Go's default keepalive policy: a client that pings more often
// than every 5 minutes is sent GOAWAY ("too_many_pings"). Just above that, a peer that vanished
// without closing the connection is noticed within about six minutes.
constexpr int kKeepaliveTimeMs = 330'000;
constexpr int kKeepaliveTimeoutMs = 20'000;
// A status message is the server's text: bounded and escaped before it reaches a log.
constexpr std::size_t kMaxQuotedMessage = 512;

const char* status_code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "unknown status";
  }
}

// "HOST:PORT", an IPv6 address in brackets.
std::string target_of(const SourceConfig& config) {
  const bool ipv6 = config.host.find(':') != std::string::npos && config.host.front() != '[';
  return (ipv6 ? "[" + config.host + "]" : config.host) + ":" + std::to_string(config.port);
}

// gRPC refuses a call whose (non-binary) header value is not printable ASCII.
bool valid_header_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

std::string quoted_status(const grpc::Status& status) {
  const std::string whole = status.error_message();  // a copy, not a reference
  std::string_view message = whole;
  const bool cut = message.size() > kMaxQuotedMessage;
  if (cut) message = message.substr(0, kMaxQuotedMessage);
  std::string text = printable(message);
  if (cut) text += "...";
  if (text.empty()) text = "no message";
  return text + " (" + status_code_name(status.error_code()) + ")";
}

int clamped_int(std::int64_t value, std::int64_t low, std::int64_t high) {
  return static_cast<int>(std::clamp(value, low, high));
}

class GrpcSyncSource final : public ThreadedSource {
 public:
  explicit GrpcSyncSource(const SourceConfig& config)
      : config_(config), target_(target_of(config)),
        max_document_bytes_(static_cast<std::size_t>(
            std::min<std::uint64_t>(config.max_body_bytes, limits::kMaxFileBytes))) {}
  ~GrpcSyncSource() override { stop(); }

  const std::string& display_uri() const noexcept override { return config_.uri; }

 private:
  bool stopping() const noexcept { return thread().stopping(); }

  void interrupt() noexcept override {
    if (live_call_ != nullptr) live_call_->TryCancel();
  }

  void run() noexcept override {
    Backoff backoff(config_.backoff_initial, config_.backoff_max);
    while (!stopping()) {
      try {
        follow_stream(backoff);
      } catch (const std::exception& e) {
        failed_quietly(std::string("flagd sync at ") + target_ + ": " + e.what());
      } catch (...) {
        failed_quietly("flagd sync at " + target_ + ": unexpected error");
      }
      thread().wait(backoff.after_failure());
    }
  }

  // One stream, from connecting to its end (or to stop()).
  void follow_stream(Backoff& backoff) {
    std::string error;
    const std::shared_ptr<grpc::ChannelCredentials> credentials = channel_credentials(error);
    if (!credentials) return failed(error);
    // A channel per stream: each reconnection attempt connects at once, on this source's backoff
    // and not on the channel's own (which would fail calls without trying while it waits).
    const auto stub = sync_v1::FlagSyncService::NewStub(
        grpc::CreateCustomChannel(target_, credentials, channel_arguments()));

    grpc::ClientContext context;
    if (!config_.selector.empty() && valid_header_value(config_.selector)) {
      context.AddMetadata("flagd-selector", config_.selector);
    }
    sync_v1::SyncFlagsRequest request;
    request.set_provider_id(config_.provider_id);
    request.set_selector(config_.selector);

    LiveCall live(*this, context);
    if (!live.registered) return;
    const auto opened = std::chrono::steady_clock::now();
    std::uint64_t messages = 0;
    {
      const std::unique_ptr<grpc::ClientReader<sync_v1::SyncFlagsResponse>> reader = stub->SyncFlags(&context, request);
      sync_v1::SyncFlagsResponse response;
      while (reader->Read(&response)) {
        if (++messages == 1) {
          backoff.succeeded();
          health_.fetch_latency_us = static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - opened).count());
        }
        received(std::move(*response.mutable_flag_configuration()));
        response.Clear();
      }
      const grpc::Status status = reader->Finish();
      if (stopping()) return;
      ended(status, messages);
    }
  }

  // The context of the call in progress, where stop() can cancel it from another thread.
  struct LiveCall {
    LiveCall(GrpcSyncSource& source, grpc::ClientContext& context) : owner(source) {
      owner.thread().locked([&] {
        registered = !owner.thread().stopping();
        if (registered) owner.live_call_ = &context;
      });
    }
    ~LiveCall() {
      owner.thread().locked([&] { owner.live_call_ = nullptr; });
    }
    LiveCall(const LiveCall&) = delete;
    LiveCall& operator=(const LiveCall&) = delete;
    GrpcSyncSource& owner;
    bool registered = false;
  };

  std::shared_ptr<grpc::ChannelCredentials> channel_credentials(std::string& error) const {
    if (!config_.tls) return grpc::InsecureChannelCredentials();
    grpc::SslCredentialsOptions options;
    if (!config_.ca_file.empty()) {
      options.pem_root_certs = read_pem_file(config_.ca_file, "the CA file", "CERTIFICATE", error);
      if (options.pem_root_certs.empty()) {
        error = "cannot connect to flagd sync at " + target_ + ": " + error;
        return nullptr;
      }
    }
    return grpc::SslCredentials(options);
  }

  grpc::ChannelArguments channel_arguments() const {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(static_cast<int>(max_document_bytes_ + kMessageHeadroom));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
    // A sync stream is quiet for hours: keep pinging without data flowing.
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    // Channels to the same target would otherwise share subchannels, and with them the backoff
    // state of the connection that just failed.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // How long one connection attempt (TCP and TLS) may take.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, clamped_int(config_.connect_timeout.count(), 100, 600'000));
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    return args;
  }

  void received(std::string text) {
    const std::uint64_t now = unix_now_ns();
    health_.last_attempt_unix_ns = now;
    if (text.size() > max_document_bytes_) {
      return failed("flagd sync at " + target_ + " sent a flag configuration of " + std::to_string(text.size()) +
                    " bytes, over the limit of " + std::to_string(max_document_bytes_) + " bytes");
    }
    health_.last_success_unix_ns = now;
    health_.last_error.clear();
    health_.bytes = text.size();
    if (delivered_any_ && text == last_delivered_) {
      ++health_.unchanged;
      return report();
    }
    last_delivered_ = text;
    delivered_any_ = true;
    ++health_.documents;
    sink_->document(index_, std::move(text), "", FlagFormat::Json);  // flagd.sync.v1 carries JSON
    report();
  }

  void ended(const grpc::Status& status, std::uint64_t messages) {
    const std::string where = "flagd sync at " + target_;
    switch (status.error_code()) {
      case grpc::StatusCode::OK:
        if (messages == 0) return failed(where + " closed the stream without sending a flag configuration");
        // A server that ends a stream it served (a restart, a proxy's rebalancing) is not failing.
        health_.last_attempt_unix_ns = unix_now_ns();
        health_.last_error.clear();
        return report();
      case grpc::StatusCode::UNAVAILABLE:
        if (messages == 0) return failed("cannot reach " + where + ": " + quoted_status(status));
        return failed("lost the stream from " + where + ": " + quoted_status(status));
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        // gRPC's own wording when a received message exceeds the channel's limit.
        if (status.error_message().find("Received message larger than max") != std::string::npos) {
          return failed(where + " sent a message over the limit of " +
                        std::to_string(max_document_bytes_ + kMessageHeadroom) + " bytes (a flag configuration may be " +
                        std::to_string(max_document_bytes_) + " bytes): " + quoted_status(status));
        }
        return failed(where + " ended the stream: " + quoted_status(status));
      default:
        return failed(where + " ended the stream: " + quoted_status(status));
    }
  }

  void failed(std::string error) {
    health_.last_attempt_unix_ns = unix_now_ns();
    health_.last_error = std::move(error);
    ++health_.failures;
    report();
  }

  // From a catch block, where nothing may throw again (out of a noexcept thread function).
  void failed_quietly(const std::string& error) noexcept {
    try {
      failed(error);
    } catch (...) {
      ++health_.failures;
    }
  }

  void report() { sink_->health(index_, health_); }

  const SourceConfig config_;
  const std::string target_;
  const std::size_t max_document_bytes_;

  // The source thread's alone.
  SourceHealth health_;
  std::string last_delivered_;
  bool delivered_any_ = false;

  grpc::ClientContext* live_call_ = nullptr;  // under thread().locked()
};

}  // namespace

std::unique_ptr<RemoteSource> make_grpc_sync_source(const SourceConfig& config) {
  return std::make_unique<GrpcSyncSource>(config);
}

namespace {
std::atomic<void (*)(bool, std::string_view)> grpc_log_sink{nullptr};

void forward_grpc_log(gpr_log_func_args* args) {
  if (auto* sink = grpc_log_sink.load(std::memory_order_acquire); sink != nullptr && args != nullptr)
    sink(args->severity == GPR_LOG_SEVERITY_ERROR, std::string("grpc: ") + (args->message ? args->message : ""));
}
}  // namespace

void route_grpc_log(void (*sink)(bool error, std::string_view message)) {
  grpc_log_sink.store(sink, std::memory_order_release);
  gpr_set_log_function(forward_grpc_log);
}

}  // namespace flagd
