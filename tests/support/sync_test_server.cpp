#include "sync_test_server.hpp"

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <grpcpp/grpcpp.h>

#include "flagd/sync/v1/sync.grpc.pb.h"

namespace flagd::test {

namespace sync_v1 = ::flagd::sync::v1;

namespace {

std::string read_pem(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) throw std::runtime_error("cannot read " + path);
  return text.str();
}

}  // namespace

struct SyncTestServerState {
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::string document;
  std::uint64_t version = 0;      // of `document`; 0 = nothing pushed yet
  std::uint64_t close_epoch = 0;  // streams opened before it changed end
  std::size_t open_streams = 0;
  std::vector<SyncTestServer::Request> requests;

  void record(const char* method, const grpc::ServerContext& context, const std::string& provider_id,
              const std::string& selector) {
    SyncTestServer::Request request{method, provider_id, selector, {}};
    const auto& metadata = context.client_metadata();
    if (const auto header = metadata.find("flagd-selector"); header != metadata.end()) {
      request.selector_header.assign(header->second.data(), header->second.size());
    }
    std::lock_guard lock(mutex);
    requests.push_back(std::move(request));
  }
};

namespace {

class Service final : public sync_v1::FlagSyncService::Service {
 public:
  explicit Service(std::shared_ptr<SyncTestServerState> state) : state_(std::move(state)) {}

  grpc::Status SyncFlags(grpc::ServerContext* context, const sync_v1::SyncFlagsRequest* request,
                         grpc::ServerWriter<sync_v1::SyncFlagsResponse>* writer) override {
    SyncTestServerState& state = *state_;
    state.record("SyncFlags", *context, request->provider_id(), request->selector());
    std::unique_lock lock(state.mutex);
    ++state.open_streams;
    state.changed.notify_all();
    const std::uint64_t epoch = state.close_epoch;
    std::uint64_t sent = 0;
    while (state.close_epoch == epoch && !context->IsCancelled()) {
      if (state.version != sent) {
        sent = state.version;
        sync_v1::SyncFlagsResponse response;
        response.set_flag_configuration(state.document);
        lock.unlock();
        const bool written = writer->Write(response);
        lock.lock();
        if (!written) break;
        continue;
      }
      // A cancelled call does not signal the condition: look again now and then.
      state.changed.wait_for(lock, std::chrono::milliseconds(20));
    }
    --state.open_streams;
    state.changed.notify_all();
    return grpc::Status::OK;
  }

  grpc::Status FetchAllFlags(grpc::ServerContext* context, const sync_v1::FetchAllFlagsRequest* request,
                             sync_v1::FetchAllFlagsResponse* response) override {
    state_->record("FetchAllFlags", *context, request->provider_id(), request->selector());
    std::lock_guard lock(state_->mutex);
    response->set_flag_configuration(state_->document);
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<SyncTestServerState> state_;
};

}  // namespace

struct SyncTestServer::Running {
  Service service;
  std::unique_ptr<grpc::Server> server;
  explicit Running(std::shared_ptr<SyncTestServerState> state) : service(std::move(state)) {}
};

SyncTestServer::SyncTestServer(std::uint16_t port, const Tls* tls)
    : port_(port), state_(std::make_shared<SyncTestServerState>()) {
  if (tls != nullptr) {
    cert_pem_ = read_pem(tls->cert_file);
    key_pem_ = read_pem(tls->key_file);
  }
}

SyncTestServer::~SyncTestServer() { stop(); }

void SyncTestServer::start() {
  if (running_) return;
  auto running = std::make_unique<Running>(state_);
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!cert_pem_.empty()) {
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back({key_pem_, cert_pem_});
    credentials = grpc::SslServerCredentials(options);
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port_), credentials);
  builder.RegisterService(&running->service);
  running->server = builder.BuildAndStart();
  if (!running->server) throw std::runtime_error("the sync test server cannot listen on 127.0.0.1:" + std::to_string(port_));
  running_ = std::move(running);
}

void SyncTestServer::stop() {
  if (!running_) return;
  close_streams();
  running_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  running_->server->Wait();
  running_.reset();
}

void SyncTestServer::push(const std::string& document) {
  std::lock_guard lock(state_->mutex);
  state_->document = document;
  ++state_->version;
  state_->changed.notify_all();
}

void SyncTestServer::close_streams() {
  std::lock_guard lock(state_->mutex);
  ++state_->close_epoch;
  state_->changed.notify_all();
}

std::vector<SyncTestServer::Request> SyncTestServer::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

std::size_t SyncTestServer::open_streams() const {
  std::lock_guard lock(state_->mutex);
  return state_->open_streams;
}

}  // namespace flagd::test
