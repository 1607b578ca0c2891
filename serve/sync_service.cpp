#include "sync_service.hpp"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "flagd/sync/v1/sync.grpc.pb.h"
#include "pem_file.hpp"
#include "sync_responses.hpp"

namespace flagd::serve {

namespace v1 = ::flagd::sync::v1;

namespace {

// SyncFlags is served raw: its responses are serialized once per (document, selector) and shared
// by every stream (sync_responses.hpp). The other two methods are small and typed.
using Base = v1::FlagSyncService;
using Service = Base::WithRawCallbackMethod_SyncFlags<
    Base::WithCallbackMethod_FetchAllFlags<Base::WithCallbackMethod_GetMetadata<Base::Service>>>;

// The selector a call asks for: the "flagd-selector" header first, then the request's field.
std::string selector_of(const grpc::CallbackServerContext& context, const std::string& field) {
  const auto& headers = context.client_metadata();
  if (const auto it = headers.find("flagd-selector"); it != headers.end())
    return std::string(it->second.data(), it->second.size());
  return field;
}

bool decode(const grpc::ByteBuffer& raw, v1::SyncFlagsRequest& request) {
  grpc::ByteBuffer copy(raw);  // shares the bytes; decoding consumes the buffer it is given
  return grpc::SerializationTraits<v1::SyncFlagsRequest>::Deserialize(&copy, &request).ok();
}

google::protobuf::Struct struct_of(const std::vector<std::pair<std::string, std::string>>& values) {
  google::protobuf::Struct out;
  for (const auto& [key, value] : values) (*out.mutable_fields())[key].set_string_value(value);
  return out;
}

// A call refused before it starts: it finishes at once with `status`.
class RefusedStream final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

class SyncStream;

struct SyncServer::Impl final : Service {
  Impl(SyncServerOptions o, std::function<std::shared_ptr<const FlagDocument>()> c, Log l)
      : options(std::move(o)),
        current(std::move(c)),
        log(std::move(l)),
        sync_context(struct_of(options.context_values)),
        responses(sync_context) {}

  grpc::ServerWriteReactor<grpc::ByteBuffer>* SyncFlags(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* FetchAllFlags(grpc::CallbackServerContext* context, const v1::FetchAllFlagsRequest* request,
                                          v1::FetchAllFlagsResponse* response) override;
  grpc::ServerUnaryReactor* GetMetadata(grpc::CallbackServerContext* context, const v1::GetMetadataRequest* request,
                                        v1::GetMetadataResponse* response) override;

  // Under `mutex`: offers `document` to `stream` unless it has had it.
  void offer_locked(SyncStream& stream, const std::shared_ptr<const FlagDocument>& document);
  // Under `mutex`: once older documents hold more than options.max_slow_client_bytes, ends the
  // streams still writing one two or more publications old. One publication behind is a client
  // still receiving the last change, not a slow one.
  void cut_off_slow_streams_locked();

  void forget(SyncStream* stream) {
    const std::lock_guard lock(mutex);
    streams.erase(stream);
    if (streams.empty()) all_done.notify_all();
  }

  const SyncServerOptions options;
  const std::function<std::shared_ptr<const FlagDocument>()> current;
  const Log log;
  const google::protobuf::Struct sync_context;
  std::unique_ptr<grpc::Server> server;
  std::vector<int> ports;
  mutable std::mutex mutex;  // guards what follows
  std::condition_variable all_done;
  std::set<SyncStream*> streams;
  SyncResponses responses;
  std::shared_ptr<const FlagDocument> newest;  // the last document offered, number `generation`
  std::uint64_t generation = 0;
  bool stopping = false;
};

// One SyncFlags stream: at most one write in flight and one document waiting behind it.
class SyncStream final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  SyncStream(SyncServer::Impl& server, grpc::CallbackServerContext& context, Selector selector)
      : server_(server), context_(context), selector_(std::move(selector)) {}

  const Selector& selector() const noexcept { return selector_; }

  // Sends `response` (document number `generation`) when the write in flight, if any, is done;
  // a newer one replaces it. One already offered is not sent again.
  void offer(grpc::ByteBuffer response, std::uint64_t generation) {
    const std::lock_guard lock(mutex_);
    if (finishing_ || generation <= offered_) return;
    offered_ = generation;
    waiting_ = std::move(response);
    waiting_generation_ = generation;
    if (!writing_) write_waiting();
  }

  // True while a write of a document older than `generation` has not completed, on a stream
  // not already ending.
  bool writing_older_than(std::uint64_t generation) {
    const std::lock_guard lock(mutex_);
    return writing_ && writing_generation_ < generation && !finishing_ && !cut_;
  }

  // Cancels the call: its write in flight is dropped, and with it what the transport holds.
  void cut_off() {
    {
      const std::lock_guard lock(mutex_);
      cut_ = true;
    }
    context_.TryCancel();
  }

  // Ends the stream once its write in flight is done.
  void end(const grpc::Status& status) {
    const std::lock_guard lock(mutex_);
    if (finishing_) return;
    finishing_ = true;
    waiting_.reset();
    if (writing_) {
      end_status_ = status;
    } else {
      Finish(status);
    }
  }

  void OnWriteDone(bool ok) override {
    const std::lock_guard lock(mutex_);
    writing_ = false;
    writing_response_.Clear();
    if (end_status_) {
      Finish(*end_status_);
      end_status_.reset();
      return;
    }
    if (finishing_) return;
    if (!ok) {  // the client went away
      finishing_ = true;
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    if (waiting_) write_waiting();
  }

  void OnCancel() override { end(grpc::Status::CANCELLED); }

  void OnDone() override {
    server_.forget(this);
    delete this;
  }

 private:
  void write_waiting() {
    writing_response_ = std::move(*waiting_);
    writing_generation_ = waiting_generation_;
    waiting_.reset();
    writing_ = true;
    StartWrite(&writing_response_);
  }

  SyncServer::Impl& server_;
  grpc::CallbackServerContext& context_;
  const Selector selector_;
  std::mutex mutex_;
  std::uint64_t offered_ = 0;
  std::optional<grpc::ByteBuffer> waiting_;
  std::uint64_t waiting_generation_ = 0;
  grpc::ByteBuffer writing_response_;  // kept until its write is done
  std::uint64_t writing_generation_ = 0;
  bool writing_ = false;
  bool finishing_ = false;
  bool cut_ = false;  // cancelled by cut_off(), its end not yet seen
  std::optional<grpc::Status> end_status_;  // to finish with once the write in flight is done
};

void SyncServer::Impl::offer_locked(SyncStream& stream, const std::shared_ptr<const FlagDocument>& document) {
  if (document != newest) {
    newest = document;
    ++generation;
  }
  stream.offer(responses.response(document, stream.selector()), generation);
}

void SyncServer::Impl::cut_off_slow_streams_locked() {
  const std::size_t held = responses.held_bytes();
  const std::size_t older = held - std::min(held, responses.newest_bytes());
  if (older <= options.max_slow_client_bytes || generation < 2) return;
  std::size_t cut = 0;
  for (SyncStream* stream : streams) {
    if (!stream->writing_older_than(generation - 1)) continue;
    stream->cut_off();
    ++cut;
  }
  if (cut > 0)
    log("ended " + std::to_string(cut) + " sync stream(s) still sending a document two or more changes old: " +
        std::to_string(older) + " bytes of older documents were held for slow clients (limit " +
        std::to_string(options.max_slow_client_bytes) + "); they reconnect and get the newest");
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* SyncServer::Impl::SyncFlags(grpc::CallbackServerContext* context,
                                                                        const grpc::ByteBuffer* raw) {
  v1::SyncFlagsRequest request;
  if (!decode(*raw, request))
    return new RefusedStream(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "not a SyncFlagsRequest"));
  std::string error;
  const std::optional<Selector> selector = parse_selector(selector_of(*context, request.selector()), error);
  if (!selector) return new RefusedStream(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, error));
  auto* stream = new SyncStream(*this, *context, *selector);
  {
    const std::lock_guard lock(mutex);
    if (stopping || streams.size() >= options.max_streams) {
      delete stream;
      return new RefusedStream(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          stopping ? "the server is stopping" : "too many sync streams open (" + std::to_string(options.max_streams) + ")"));
    }
    // Under the lock publish() takes: a document published meanwhile is offered after this one,
    // never before it.
    streams.insert(stream);
    if (const std::shared_ptr<const FlagDocument> document = current()) offer_locked(*stream, document);
  }
  if (!request.provider_id().empty()) log("sync stream from provider \"" + request.provider_id() + "\"");
  return stream;
}

grpc::ServerUnaryReactor* SyncServer::Impl::FetchAllFlags(grpc::CallbackServerContext* context,
                                                          const v1::FetchAllFlagsRequest* request,
                                                          v1::FetchAllFlagsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string error;
  const std::optional<Selector> selector = parse_selector(selector_of(*context, request->selector()), error);
  if (!selector) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, error));
    return reactor;
  }
  const std::shared_ptr<const FlagDocument> document = current();
  if (!document) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no flags published yet"));
    return reactor;
  }
  response->set_flag_configuration(document->payload(*selector));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* SyncServer::Impl::GetMetadata(grpc::CallbackServerContext* context,
                                                        const v1::GetMetadataRequest*,
                                                        v1::GetMetadataResponse* response) {
  *response->mutable_metadata() = sync_context;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

SyncServer::SyncServer(SyncServerOptions options, std::function<std::shared_ptr<const FlagDocument>()> current,
                       Log log)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(current), std::move(log))) {}

SyncServer::~SyncServer() { stop(); }

std::optional<std::string> SyncServer::start() {
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!impl_->options.tls_cert_file.empty()) {
    std::string error;
    grpc::SslServerCredentialsOptions tls;
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    pair.private_key = read_pem_file(impl_->options.tls_key_file, "the TLS key", "PRIVATE KEY", error);
    if (pair.private_key.empty()) return error;
    pair.cert_chain = read_pem_file(impl_->options.tls_cert_file, "the TLS certificate", "CERTIFICATE", error);
    if (pair.cert_chain.empty()) return error;
    tls.pem_key_cert_pairs.push_back(std::move(pair));
    credentials = grpc::SslServerCredentials(tls);
  }
  grpc::ServerBuilder builder;
  impl_->ports.assign(impl_->options.addresses.size(), 0);
  for (std::size_t i = 0; i < impl_->options.addresses.size(); ++i)
    builder.AddListeningPort(impl_->options.addresses[i], credentials,
                             impl_->options.addresses[i].starts_with("unix:") ? nullptr : &impl_->ports[i]);
  builder.RegisterService(impl_.get());
  // Requests are a few bytes; what a client sends beyond that is refused, not buffered.
  builder.SetMaxReceiveMessageSize(64 * 1024);
  builder.SetMaxSendMessageSize(-1);
  // flagd's providers keep their stream alive with pings; allow them as often as every 10 s.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // The server pings too, so that a client gone without closing its connection (a host that
  // died, a network cut) does not hold a stream and its document for hours.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 100);
  // The server's memory is bounded whatever its clients do: beyond it, calls are refused.
  grpc::ResourceQuota quota("flagd-serve-sync");
  quota.Resize(256u << 20);
  quota.SetMaxThreads(16);
  builder.SetResourceQuota(quota);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server) {
    std::string addresses;
    for (const std::string& a : impl_->options.addresses) addresses += (addresses.empty() ? "" : ", ") + a;
    return "cannot listen for sync clients on " + addresses + " (in use, or not an address this host has)";
  }
  for (std::size_t i = 0; i < impl_->ports.size(); ++i)
    if (!impl_->options.addresses[i].starts_with("unix:") && impl_->ports[i] == 0)
      return "cannot listen for sync clients on " + impl_->options.addresses[i];
  return std::nullopt;
}

void SyncServer::publish(const std::shared_ptr<const FlagDocument>& document) {
  const std::lock_guard lock(impl_->mutex);
  for (SyncStream* stream : impl_->streams) impl_->offer_locked(*stream, document);
  impl_->cut_off_slow_streams_locked();
}

std::size_t SyncServer::held_response_bytes() const { return impl_->responses.held_bytes(); }

void SyncServer::stop() {
  if (!impl_->server) return;
  {
    std::unique_lock lock(impl_->mutex);
    impl_->stopping = true;
    for (SyncStream* stream : impl_->streams)
      stream->end(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the flag server is stopping"));
  }
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  {
    std::unique_lock lock(impl_->mutex);
    impl_->all_done.wait_for(lock, std::chrono::seconds(2), [&] { return impl_->streams.empty(); });
  }
  impl_->server.reset();
}

}  // namespace flagd::serve
