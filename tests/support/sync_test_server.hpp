// An in-process flagd sync server (flagd.sync.v1 FlagSyncService) on 127.0.0.1, for tests of the
// grpc source: it records what each client asked for, sends the current document to each new
// stream and every pushed one to every open stream, and can be stopped and started again on the
// same port. gRPC stays out of this header, so a test includes it without gRPC's headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace flagd::test {

struct SyncTestServerState;  // what outlives a restart: the document, the requests, the open streams

class SyncTestServer {
 public:
  struct Request {
    std::string method;           // "SyncFlags" or "FetchAllFlags"
    std::string provider_id;
    std::string selector;         // the request's field
    std::string selector_header;  // the "flagd-selector" header, "" if absent
  };
  struct Tls {
    std::string cert_file, key_file;  // PEM
  };

  // Not yet listening; `tls` empty for plaintext.
  explicit SyncTestServer(std::uint16_t port, const Tls* tls = nullptr);
  ~SyncTestServer();
  SyncTestServer(const SyncTestServer&) = delete;
  SyncTestServer& operator=(const SyncTestServer&) = delete;

  // Listens on 127.0.0.1:port; throws std::runtime_error if it cannot.
  void start();
  // Ends every stream (status OK) and stops listening. The document and the requests are kept.
  void stop();
  // The document new streams get first, sent at once to every open stream.
  void push(const std::string& document);
  // Ends every open stream with status OK; the server keeps listening.
  void close_streams();

  std::vector<Request> requests() const;
  std::size_t open_streams() const;
  std::uint16_t port() const noexcept { return port_; }

 private:
  struct Running;  // the gRPC server and its service, while listening

  std::uint16_t port_;
  std::string cert_pem_, key_pem_;  // empty for plaintext
  std::shared_ptr<SyncTestServerState> state_;
  std::unique_ptr<Running> running_;
};

}  // namespace flagd::test
