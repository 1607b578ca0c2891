#include "source_inbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include "flagd/wall_clock.hpp"

namespace flagd {

SourceInbox::SourceInbox(std::size_t sources) : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  waiting_.documents.resize(sources);
  waiting_.health.resize(sources);
}

SourceInbox::~SourceInbox() {
  if (fd_ >= 0) ::close(fd_);
}

void SourceInbox::signal() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t ignored = ::write(fd_, &one, sizeof one);
}

void SourceInbox::document(std::size_t index, std::string text, std::string version, FlagFormat format) {
  ReceivedDocument received{std::move(text), std::move(version), format, unix_now_ns()};
  {
    std::lock_guard lock(mutex_);
    if (index >= waiting_.documents.size()) return;
    waiting_.documents[index] = std::move(received);
  }
  signal();
}

void SourceInbox::health(std::size_t index, const SourceHealth& health) {
  {
    std::lock_guard lock(mutex_);
    if (index >= waiting_.health.size()) return;
    waiting_.health[index] = health;
  }
  signal();
}

SourceInbox::Arrivals SourceInbox::take() {
  std::uint64_t count = 0;
  [[maybe_unused]] const ssize_t ignored = ::read(fd_, &count, sizeof count);
  std::lock_guard lock(mutex_);
  Arrivals taken;
  taken.documents.resize(waiting_.documents.size());
  taken.health.resize(waiting_.health.size());
  std::swap(taken, waiting_);
  return taken;
}

}  // namespace flagd
