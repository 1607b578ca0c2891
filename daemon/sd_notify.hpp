// The sd_notify protocol (sd_notify(3)), spoken by the daemon itself rather than through
// libsystemd: datagrams of "KEY=value" lines to the socket NOTIFY_SOCKET names. Under
// Type=notify-reload, systemd starts the daemon, waits for READY=1, and on `systemctl reload`
// sends SIGHUP and waits for RELOADING=1 (with MONOTONIC_USEC) and then READY=1.
#pragma once

#include <string>
#include <string_view>

namespace flagd {

class Notifier {
 public:
  // From NOTIFY_SOCKET: a path, or "@name" for the abstract namespace. Without it (not under
  // systemd) every send does nothing.
  static Notifier from_environment();

  bool enabled() const noexcept { return fd_ >= 0; }
  // Sends one datagram; false (and nothing else) if it could not be sent.
  bool send(std::string_view state) const noexcept;

  void ready(std::string_view status) const;      // READY=1, STATUS=...
  void reloading() const;                         // RELOADING=1, MONOTONIC_USEC=now
  void stopping(std::string_view status) const;   // STOPPING=1, STATUS=...

  Notifier(Notifier&& other) noexcept;
  Notifier& operator=(Notifier&&) = delete;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;
  ~Notifier();

 private:
  Notifier(int fd, std::string address) : fd_(fd), address_(std::move(address)) {}
  int fd_ = -1;
  std::string address_;  // the socket's path; a leading '\0' for the abstract namespace
};

}  // namespace flagd
