#include "sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <utility>

namespace flagd {

Notifier Notifier::from_environment() {
  const char* socket_name = std::getenv("NOTIFY_SOCKET");
  if (socket_name == nullptr || socket_name[0] == '\0') return Notifier(-1, "");
  std::string address(socket_name);
  if (address[0] == '@') address[0] = '\0';
  if (address.size() >= sizeof(sockaddr_un::sun_path)) return Notifier(-1, "");
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  return Notifier(fd, std::move(address));
}

Notifier::Notifier(Notifier&& other) noexcept : fd_(std::exchange(other.fd_, -1)), address_(std::move(other.address_)) {}

Notifier::~Notifier() {
  if (fd_ >= 0) ::close(fd_);
}

bool Notifier::send(std::string_view state) const noexcept {
  if (fd_ < 0) return false;
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  std::memcpy(to.sun_path, address_.data(), address_.size());
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size() +
                                             (address_[0] == '\0' ? 0 : 1));
  return ::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&to), length) ==
         static_cast<ssize_t>(state.size());
}

void Notifier::ready(std::string_view status) const {
  send("READY=1\nSTATUS=" + std::string(status));
}

void Notifier::reloading() const {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const unsigned long long usec =
      static_cast<unsigned long long>(now.tv_sec) * 1'000'000ull + static_cast<unsigned long long>(now.tv_nsec) / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void Notifier::stopping(std::string_view status) const {
  send("STOPPING=1\nSTATUS=" + std::string(status));
}

}  // namespace flagd
