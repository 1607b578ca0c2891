// Where the remote sources' threads leave what they received, for the daemon's main thread: the
// latest document and health of each source, and an eventfd that the main loop polls.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "remote_source.hpp"

namespace flagd {

struct ReceivedDocument {
  std::string text;
  std::string version;
  FlagFormat format = FlagFormat::Json;
  std::uint64_t received_unix_ns = 0;
};

class SourceInbox final : public SourceSink {
 public:
  explicit SourceInbox(std::size_t sources);
  ~SourceInbox() override;
  SourceInbox(const SourceInbox&) = delete;
  SourceInbox& operator=(const SourceInbox&) = delete;

  bool usable() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }  // readable when something arrived

  void document(std::size_t index, std::string text, std::string version, FlagFormat format) override;
  void health(std::size_t index, const SourceHealth& health) override;

  // What arrived since the last call, per source: a later document replaces one not yet taken.
  struct Arrivals {
    std::vector<std::optional<ReceivedDocument>> documents;
    std::vector<std::optional<SourceHealth>> health;
  };
  Arrivals take();

 private:
  void signal() noexcept;

  int fd_ = -1;
  std::mutex mutex_;
  Arrivals waiting_;
};

}  // namespace flagd
