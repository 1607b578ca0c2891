// flagd-serve's sync server in-process, against gRPC clients on 127.0.0.1: every stream shares
// one serialized copy of a document, and a client that stops reading is ended once the older
// documents it holds pass the server's limit, while a client that reads goes on unharmed.
#include <catch2/catch.hpp>

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flag_document.hpp"
#include "flagd/sync/v1/sync.grpc.pb.h"
#include "loopback_port.hpp"
#include "sync_service.hpp"

namespace v1 = ::flagd::sync::v1;
using flagd::serve::FlagDocument;
using flagd::serve::SyncServer;
using flagd::serve::SyncServerOptions;

namespace {

// A document of about `bytes` bytes whose every flag answers `variant`.
std::shared_ptr<const FlagDocument> large_document(std::size_t bytes, const std::string& variant) {
  std::string text = R"({"flags":{)";
  for (int i = 0; text.size() < bytes; ++i) {
    if (i > 0) text += ',';
    text += R"("flag-)" + std::to_string(i) + R"(":{"state":"ENABLED","defaultVariant":")" + variant +
            R"(","variants":{")" + variant + R"(":"a value long enough to make the document large, quickly"}})";
  }
  text += "}}";
  std::string error;
  auto document = FlagDocument::parse(std::move(text), error);
  REQUIRE(document);
  return document;
}

// Waits, bounded, until `done` holds.
template <class Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// A SyncServer on a loopback port serving whatever `publish` last gave it.
struct Server {
  explicit Server(std::size_t max_slow_client_bytes) {
    SyncServerOptions options;
    options.addresses = {"127.0.0.1:" + std::to_string(port)};
    options.max_slow_client_bytes = max_slow_client_bytes;
    server = std::make_unique<SyncServer>(
        options, [this] { const std::lock_guard lock(mutex); return current; },
        [this](const std::string& line) {
          const std::lock_guard lock(mutex);
          log += line + "\n";
        });
    REQUIRE_FALSE(server->start().has_value());
  }
  void publish(std::shared_ptr<const FlagDocument> document) {
    {
      const std::lock_guard lock(mutex);
      current = document;
    }
    server->publish(document);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  std::string logged() {
    const std::lock_guard lock(mutex);
    return log;
  }

  const std::uint16_t port = flagd::test::free_loopback_port();
  std::mutex mutex;
  std::shared_ptr<const FlagDocument> current;
  std::string log;
  std::unique_ptr<SyncServer> server;
};

// A client reading its stream on a thread of its own, keeping what it was sent.
class ReadingClient {
 public:
  explicit ReadingClient(const std::string& address) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    stub_ = v1::FlagSyncService::NewStub(grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
    reader_ = stub_->SyncFlags(&context_, v1::SyncFlagsRequest());
    thread_ = std::thread([this] {
      v1::SyncFlagsResponse response;
      while (reader_->Read(&response)) {
        const std::lock_guard lock(mutex_);
        received_.push_back(response.flag_configuration());
      }
    });
  }
  ~ReadingClient() {
    context_.TryCancel();
    thread_.join();
  }
  std::size_t received() {
    const std::lock_guard lock(mutex_);
    return received_.size();
  }
  std::string last() {
    const std::lock_guard lock(mutex_);
    return received_.empty() ? std::string() : received_.back();
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<v1::FlagSyncService::Stub> stub_;
  std::unique_ptr<grpc::ClientReader<v1::SyncFlagsResponse>> reader_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> received_;
};

// A client that opens its stream and never reads it: its flow-control window stays shut, so the
// server's write to it cannot complete.
class StalledClient {
 public:
  explicit StalledClient(const std::string& address) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);  // the window stays at its first 64 KiB
    stub_ = v1::FlagSyncService::NewStub(grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    reader_ = stub_->SyncFlags(&context_, v1::SyncFlagsRequest());
    // The server's headers come with its first write, and are not held by flow control: once
    // they are here, the server has the stream and is writing the document to it.
    reader_->WaitForInitialMetadata();
  }
  ~StalledClient() {
    if (finished_) return;
    context_.TryCancel();
    reader_->Finish();
  }
  // Reads what is left of the stream, then how it ended (bounded by the call's deadline).
  grpc::Status finish() {
    v1::SyncFlagsResponse response;
    while (reader_->Read(&response)) ++read_after_stall;
    finished_ = true;
    return reader_->Finish();
  }
  int read_after_stall = 0;

 private:
  grpc::ClientContext context_;
  std::unique_ptr<v1::FlagSyncService::Stub> stub_;
  std::unique_ptr<grpc::ClientReader<v1::SyncFlagsResponse>> reader_;
  bool finished_ = false;
};

}  // namespace

TEST_CASE("sync server: every stream sends the same serialized document, not a copy of its own") {
  Server server(std::size_t{1} << 30);
  const auto document = large_document(std::size_t{1} << 20, "on");
  server.publish(document);
  std::vector<std::unique_ptr<ReadingClient>> clients;
  for (int i = 0; i < 10; ++i) clients.push_back(std::make_unique<ReadingClient>(server.address()));
  REQUIRE(eventually([&] {
    for (auto& client : clients)
      if (client->received() < 1) return false;
    return true;
  }));
  for (auto& client : clients) CHECK(client->last() == document->text());

  // Ten writes held in flight by clients that do not read: a copy each would hold ten documents.
  std::vector<std::unique_ptr<StalledClient>> stalled;
  for (int i = 0; i < 10; ++i) stalled.push_back(std::make_unique<StalledClient>(server.address()));
  // One response: the document and a few bytes of protobuf framing.
  CHECK(server.server->held_response_bytes() >= document->text().size());
  CHECK(server.server->held_response_bytes() < document->text().size() + 64);
}

TEST_CASE("sync server: a client that stops reading is ended past the limit; one that reads is not") {
  const std::size_t size = std::size_t{8} << 20;
  Server server(std::size_t{1} << 20);
  server.publish(large_document(size, "first"));

  StalledClient stalled(server.address());
  ReadingClient reading(server.address());
  REQUIRE(eventually([&] { return reading.received() == 1; }));

  // The stalled stream's write of the first document is held; the second document is one
  // publication newer, which is not yet too far behind.
  const auto second = large_document(size, "second");
  server.publish(second);
  REQUIRE(eventually([&] { return reading.received() == 2; }));
  CHECK(reading.last() == second->text());
  CHECK(server.server->held_response_bytes() >= 2 * size);

  // Two publications behind, and 8 MiB of older documents held against a 1 MiB limit: ended.
  const auto third = large_document(size, "third");
  server.publish(third);
  CHECK(server.logged().find("ended 1 sync stream(s) still sending a document two or more changes old") !=
        std::string::npos);
  const grpc::Status status = stalled.finish();
  CHECK(status.error_code() == grpc::StatusCode::CANCELLED);
  CHECK(stalled.read_after_stall == 0);  // the first document was dropped, and nothing came after it
  REQUIRE(eventually([&] { return reading.received() == 3; }));
  CHECK(reading.last() == third->text());
  // What the stalled client held is released: only the newest documents remain.
  const std::size_t newest_two = second->text().size() + third->text().size() + 2 * 64;
  CHECK(eventually([&] { return server.server->held_response_bytes() < newest_two; }));
}
