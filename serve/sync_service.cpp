#include "sync_service.hpp"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "flagd/sync/v1/sync.grpc.pb.h"

namespace flagd::serve {

namespace v1 = ::flagd::sync::v1;

namespace {

// The selector a call asks for: the "flagd-selector" header first, then the request's field.
std::string selector_of(const grpc::CallbackServerContext& context, const std::string& field) {
  const auto& headers = context.client_metadata();
  if (const auto it = headers.find("flagd-selector"); it != headers.end())
    return std::string(it->second.data(), it->second.size());
  return field;
}

// A call refused before it starts: it finishes at once with `status`.
class RefusedStream final : public grpc::ServerWriteReactor<v1::SyncFlagsResponse> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

class SyncStream;

struct SyncServer::Impl final : v1::FlagSyncService::CallbackService {
  Impl(SyncServerOptions o, std::function<std::shared_ptr<const FlagDocument>()> c, Log l)
      : options(std::move(o)), current(std::move(c)), log(std::move(l)) {
    for (const auto& [key, value] : options.context_values) (*sync_context.mutable_fields())[key].set_string_value(value);
  }

  grpc::ServerWriteReactor<v1::SyncFlagsResponse>* SyncFlags(grpc::CallbackServerContext* context,
                                                             const v1::SyncFlagsRequest* request) override;
  grpc::ServerUnaryReactor* FetchAllFlags(grpc::CallbackServerContext* context, const v1::FetchAllFlagsRequest* request,
                                          v1::FetchAllFlagsResponse* response) override;
  grpc::ServerUnaryReactor* GetMetadata(grpc::CallbackServerContext* context, const v1::GetMetadataRequest* request,
                                        v1::GetMetadataResponse* response) override;

  void forget(SyncStream* stream) {
    const std::lock_guard lock(mutex);
    streams.erase(stream);
    if (streams.empty()) all_done.notify_all();
  }

  const SyncServerOptions options;
  const std::function<std::shared_ptr<const FlagDocument>()> current;
  const Log log;
  google::protobuf::Struct sync_context;
  std::unique_ptr<grpc::Server> server;
  std::vector<int> ports;
  mutable std::mutex mutex;  // guards streams and stopping
  std::condition_variable all_done;
  std::set<SyncStream*> streams;
  bool stopping = false;
};

// One SyncFlags stream: at most one write in flight and one document waiting behind it.
class SyncStream final : public grpc::ServerWriteReactor<v1::SyncFlagsResponse> {
 public:
  SyncStream(SyncServer::Impl& server, Selector selector) : server_(server), selector_(std::move(selector)) {}

  // Sends `document` when the write in flight (if any) is done; a newer one replaces it.
  void offer(std::shared_ptr<const FlagDocument> document) {
    const std::lock_guard lock(mutex_);
    if (finishing_) return;
    waiting_ = std::move(document);
    if (!writing_) write_waiting();
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
    response_.set_flag_configuration(waiting_->payload(selector_));
    if (!server_.sync_context.fields().empty()) *response_.mutable_sync_context() = server_.sync_context;
    waiting_.reset();
    writing_ = true;
    StartWrite(&response_);
  }

  SyncServer::Impl& server_;
  const Selector selector_;
  std::mutex mutex_;
  std::shared_ptr<const FlagDocument> waiting_;
  v1::SyncFlagsResponse response_;  // written; kept until its write is done
  bool writing_ = false;
  bool finishing_ = false;
  std::optional<grpc::Status> end_status_;  // to finish with once the write in flight is done
};

grpc::ServerWriteReactor<v1::SyncFlagsResponse>* SyncServer::Impl::SyncFlags(grpc::CallbackServerContext* context,
                                                                             const v1::SyncFlagsRequest* request) {
  std::string error;
  const std::optional<Selector> selector = parse_selector(selector_of(*context, request->selector()), error);
  if (!selector) return new RefusedStream(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, error));
  auto* stream = new SyncStream(*this, *selector);
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
    if (std::shared_ptr<const FlagDocument> document = current()) stream->offer(std::move(document));
  }
  if (!request->provider_id().empty()) log("sync stream from provider \"" + request->provider_id() + "\"");
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
    grpc::SslServerCredentialsOptions tls;
    tls.pem_key_cert_pairs.push_back({read_whole(impl_->options.tls_key_file), read_whole(impl_->options.tls_cert_file)});
    if (tls.pem_key_cert_pairs.back().private_key.empty() || tls.pem_key_cert_pairs.back().cert_chain.empty())
      return "cannot read the TLS key " + impl_->options.tls_key_file + " or certificate " + impl_->options.tls_cert_file;
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
  for (SyncStream* stream : impl_->streams) stream->offer(document);
}

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
