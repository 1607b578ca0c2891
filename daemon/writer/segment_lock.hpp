// The lock that makes a daemon the only writer of its segment: a POSIX record lock on
// /dev/shm/NAME.lock, released by the kernel when the daemon exits or dies, and queryable for the
// pid that holds it.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

namespace flagd {

class SegmentLock {
 public:
  // Takes the lock, or says who holds it (`error` names the pid) or why it cannot be taken.
  static std::optional<SegmentLock> acquire(const std::string& segment, std::string& error);

  // The pid of the process holding the lock of `segment`, or nullopt if nobody holds it.
  static std::optional<pid_t> holder(const std::string& segment);

  SegmentLock(SegmentLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  SegmentLock(const SegmentLock&) = delete;
  SegmentLock& operator=(const SegmentLock&) = delete;
  SegmentLock& operator=(SegmentLock&&) = delete;
  ~SegmentLock();

 private:
  explicit SegmentLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace flagd
