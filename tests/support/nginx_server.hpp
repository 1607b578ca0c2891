// A real nginx for tests of HTTP clients, on 127.0.0.1 only, in a directory of its own (config,
// document root, pid, logs, temporary files), stopped and removed with its owner. Its access log
// records, per request, what a test of conditional requests needs to check on the server's side.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "loopback_port.hpp"
#include "scratch_directory.hpp"

namespace flagd::test {

struct NginxConfig {
  std::uint16_t port = 0;           // 0: a free one
  bool ssl = false;                 // listen with TLS; give ssl_certificate(_key) in server_directives
  std::string server_directives{};  // inside server { }: locations, certificates
  std::string http_directives{};    // inside http { }, before the server
};

// One request as the access log has it; absent headers and variables read "" (escape=none).
struct LoggedRequest {
  int status = 0;
  std::string method, uri, if_none_match, if_modified_since;
  std::string gzip_ratio;  // "" unless the body was compressed (and so sent without a length)
  std::string connection;  // nginx's serial number of the connection: equal when it was reused
};

class NginxServer {
 public:
  enum class Start { Now, Later };

  explicit NginxServer(NginxConfig config, Start when = Start::Now)
      : config_(std::move(config)), directory_("flagd-nginx") {
    if (config_.port == 0) config_.port = free_loopback_port();
    std::filesystem::create_directories(root());
    std::filesystem::create_directories(directory_ / "tmp");
    write_config();
    if (when == Start::Now) start();
  }
  ~NginxServer() { stop(); }
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  // Starts nginx and waits (bounded) until it accepts connections; throws with its error log if
  // it does not.
  void start() {
    process_ = Process::spawn({"/usr/sbin/nginx", "-p", directory_.path() + "/", "-c", directory_ / "nginx.conf", "-e",
                               directory_ / "error.log"},
                              directory_ / "stderr.log");
    if (process_.pid <= 0) throw std::runtime_error("cannot start /usr/sbin/nginx");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!accepts_connections()) {
      if (::waitpid(process_.pid, nullptr, WNOHANG) == process_.pid) {
        process_.pid = -1;
        throw std::runtime_error("nginx ended at start: " + read_file(directory_ / "stderr.log") +
                                 read_file(directory_ / "error.log"));
      }
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("nginx does not accept connections: " + read_file(directory_ / "error.log"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // A fast shutdown (SIGTERM), so the workers go with the master; SIGKILL if it takes too long.
  void stop() noexcept {
    if (process_.pid <= 0) return;
    ::kill(process_.pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(process_.pid, nullptr, WNOHANG) == process_.pid) {
        process_.pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // Process's destructor or assignment kills and reaps what is left of the master.
    process_ = Process();
  }

  std::uint16_t port() const noexcept { return config_.port; }
  std::string url(const std::string& path) const {
    return std::string(config_.ssl ? "https" : "http") + "://127.0.0.1:" + std::to_string(config_.port) + path;
  }
  std::string root() const { return directory_ / "www"; }

  // Replaces a file of the document root at once (written aside, renamed over), so that nginx
  // serves either the old bytes or the new ones.
  void write_file(const std::string& name, const std::string& content) const {
    const std::string path = root() + "/" + name;
    const std::string staging = path + ".staging";
    std::ofstream(staging, std::ios::binary | std::ios::trunc) << content;
    std::filesystem::rename(staging, path);
  }

  std::vector<LoggedRequest> requests() const {
    std::vector<LoggedRequest> out;
    std::istringstream lines(read_file(directory_ / "access.log"));
    for (std::string line; std::getline(lines, line);) {
      std::vector<std::string> fields;
      std::istringstream parts(line);
      for (std::string field; std::getline(parts, field, '|');) fields.push_back(field);
      if (fields.size() != 7) continue;
      LoggedRequest request;
      request.status = std::atoi(fields[0].c_str());
      request.method = fields[1];
      request.uri = fields[2];
      request.if_none_match = fields[3];
      request.if_modified_since = fields[4];
      request.gzip_ratio = fields[5];
      request.connection = fields[6];
      out.push_back(std::move(request));
    }
    return out;
  }
  std::vector<LoggedRequest> requests_for(const std::string& uri) const {
    std::vector<LoggedRequest> out;
    for (auto& request : requests()) {
      if (request.uri == uri) out.push_back(std::move(request));
    }
    return out;
  }
  // nginx logs a request after its response went out, so a client may have it before the log
  // line is written: waits (bounded) until `uri` was logged `at_least` times.
  std::vector<LoggedRequest> requests_for(const std::string& uri, std::size_t at_least) const {
    std::vector<LoggedRequest> out;
    eventually([&] { return (out = requests_for(uri)).size() >= at_least; });
    return out;
  }
  std::string error_log() const { return read_file(directory_ / "error.log"); }

 private:
  void write_config() const {
    const std::string d = directory_.path();
    std::ofstream conf(directory_ / "nginx.conf");
    // As root the workers would run as "nobody", who cannot read a 0700 scratch directory.
    if (::geteuid() == 0) conf << "user root;\n";
    conf << "daemon off;\n"
            "worker_processes 1;\n"
            "pid " << d << "/nginx.pid;\n"
            "lock_file " << d << "/nginx.lock;\n"
            "error_log " << d << "/error.log info;\n"
            "events { worker_connections 64; }\n"
            "http {\n"
            "  log_format probe escape=none '$status|$request_method|$uri|$http_if_none_match|"
            "$http_if_modified_since|$gzip_ratio|$connection';\n"
            "  access_log " << d << "/access.log probe;\n"
            "  client_body_temp_path " << d << "/tmp/body;\n"
            "  proxy_temp_path " << d << "/tmp/proxy;\n"
            "  fastcgi_temp_path " << d << "/tmp/fastcgi;\n"
            "  uwsgi_temp_path " << d << "/tmp/uwsgi;\n"
            "  scgi_temp_path " << d << "/tmp/scgi;\n"
            "  default_type application/json;\n"
            "  keepalive_requests 10000;\n"
         << config_.http_directives << "\n"
         << "  server {\n"
            "    listen 127.0.0.1:" << config_.port << (config_.ssl ? " ssl" : "") << ";\n"
            "    root " << root() << ";\n"
         << config_.server_directives << "\n"
         << "  }\n"
            "}\n";
  }

  bool accepts_connections() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(config_.port);
    const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return connected;
  }

  NginxConfig config_;
  ScratchDirectory directory_;
  Process process_;
};

}  // namespace flagd::test
