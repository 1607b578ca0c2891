// A real single-member etcd for tests of the etcd source, on 127.0.0.1 only, with its data and log
// in a fresh directory of its own; killed, and the directory removed, with its owner. It can be
// stopped and started again on the same data (the same cluster, the same revisions), also on
// another client port, which the source under test does not know: so a test can change the key
// while the source cannot reach etcd, deterministically. Clients may be served over TLS.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "loopback_port.hpp"
#include "scratch_directory.hpp"

namespace flagd::test {

inline constexpr const char* kEtcdBinary = "/usr/bin/etcd";
inline constexpr const char* kEtcdctlBinary = "/usr/bin/etcdctl";

// Serve clients over TLS with this certificate and key; etcdctl trusts `ca`.
struct EtcdTls {
  std::string cert, key, ca;
};

class EtcdServer {
 public:
  enum class Start { Now, Later };

  // Construct it before the source under test starts: it sets ETCDCTL_API for etcdctl, and
  // setenv must not race with a thread reading the environment.
  explicit EtcdServer(Start when = Start::Now, EtcdTls tls = {}) : tls_(std::move(tls)), directory_("flagd-etcd") {
    ::setenv("ETCDCTL_API", "3", 1);
    client_port_ = free_loopback_port();
    do peer_port_ = free_loopback_port();
    while (peer_port_ == client_port_);
    if (when == Start::Now) start();
  }
  ~EtcdServer() { stop(); }
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  std::uint16_t client_port() const noexcept { return client_port_; }

  // Starts etcd on the client port (or on `other_client_port`, for put, del and compact to reach
  // while clients of client_port() cannot), and waits until it answers.
  void start(std::uint16_t other_client_port = 0) {
    serving_port_ = other_client_port != 0 ? other_client_port : client_port_;
    const std::string client = client_url();
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args = {kEtcdBinary, "--name", "t", "--data-dir", directory_ / "data", "--listen-client-urls",
                                     client, "--advertise-client-urls", client, "--listen-peer-urls", peer,
                                     "--initial-advertise-peer-urls", peer, "--initial-cluster", "t=" + peer};
    if (!tls_.cert.empty()) args.insert(args.end(), {"--cert-file", tls_.cert, "--key-file", tls_.key});
    process_ = Process::spawn(args, directory_ / "etcd.log", /*append=*/true);
    if (process_.pid <= 0) throw std::runtime_error(std::string("cannot start ") + kEtcdBinary);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (etcdctl({"endpoint", "health"}).status != 0) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("etcd did not become healthy; its log: " + read_file(directory_ / "etcd.log"));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  // Kills etcd, as a crash or a host going down would: clients see their connections reset.
  void stop() {
    process_ = Process();  // SIGKILL and wait
  }

  // Each returns the revision of the store after the change.
  std::int64_t put(const std::string& key, const std::string& value) { return revision_of(must({"put", key, value})); }
  std::int64_t del(const std::string& key) { return revision_of(must({"del", key})); }
  void compact(std::int64_t revision) { must({"compact", std::to_string(revision)}); }

  struct Outcome {
    int status = -1;
    std::string output;
  };
  // etcdctl with the v3 API against the running etcd, its output (and errors) captured.
  Outcome etcdctl(const std::vector<std::string>& arguments) {
    std::vector<std::string> args = {kEtcdctlBinary, "--endpoints=" + client_url(), "--dial-timeout=2s",
                                     "--command-timeout=5s", "-w", "json"};
    if (!tls_.ca.empty()) args.push_back("--cacert=" + tls_.ca);
    args.insert(args.end(), arguments.begin(), arguments.end());
    const std::string log = directory_ / "etcdctl.out";
    Process p = Process::spawn(args, log, /*append=*/false, Process::Stdout::ToLog);
    Outcome outcome;
    outcome.status = p.wait();
    outcome.output = read_file(log);
    return outcome;
  }

 private:
  std::string client_url() const {
    return (tls_.cert.empty() ? "http://127.0.0.1:" : "https://127.0.0.1:") + std::to_string(serving_port_);
  }
  std::string must(const std::vector<std::string>& arguments) {
    Outcome outcome = etcdctl(arguments);
    if (outcome.status != 0) throw std::runtime_error("etcdctl " + arguments.front() + " failed: " + outcome.output);
    return outcome.output;
  }
  // "revision":N in etcdctl's JSON header.
  static std::int64_t revision_of(const std::string& json) {
    const std::string field = "\"revision\":";
    const std::size_t at = json.find(field);
    if (at == std::string::npos) throw std::runtime_error("no revision in etcdctl's answer: " + json);
    return std::stoll(json.substr(at + field.size()));
  }

  EtcdTls tls_;
  ScratchDirectory directory_;
  std::uint16_t client_port_ = 0, peer_port_ = 0, serving_port_ = 0;
  Process process_;
};

}  // namespace flagd::test
