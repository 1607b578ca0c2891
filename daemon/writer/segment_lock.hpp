// The lock that makes a daemon the only writer of its segment: a POSIX record lock on
// /dev/shm/.NAME.lock, released by the kernel when the daemon exits or dies, and queryable for
// the pid that holds it.
//
// /dev/shm is writable by everyone, so the file is trusted only if it is the daemon user's own
// and nobody else can open it (mode 0600): a user who could open it could hold a lock on it and
// keep the daemon from starting, and a lock file another user made names whatever pid they like.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace flagd {

class SegmentLock {
 public:
  // Takes the lock, or says who holds it (`error` names the pid) or why it cannot be taken.
  static std::optional<SegmentLock> acquire(const std::string& segment, std::string& error);

  // The pid of the daemon serving `segment`, whose file is owned by `owner`, judged only from
  // what other users cannot fake: a lock held on a lock file `owner` owns; or, where this user
  // cannot open the lock file, the pid the segment itself records as running
  // (`recorded_pid`, `recorded_running`), if that process exists and belongs to `owner`.
  static std::optional<pid_t> serving_daemon(const std::string& segment, uid_t owner, std::uint32_t recorded_pid,
                                             bool recorded_running);

  SegmentLock(SegmentLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  SegmentLock(const SegmentLock&) = delete;
  SegmentLock& operator=(const SegmentLock&) = delete;
  SegmentLock& operator=(SegmentLock&&) = delete;
  ~SegmentLock();

 private:
  explicit SegmentLock(int fd) : fd_(fd) {}
  static std::optional<SegmentLock> acquire(const std::string& segment, std::string& error, bool may_renew);
  int fd_;
};

}  // namespace flagd
