#include "segment_lock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "flagd/segment_name.hpp"

namespace flagd {

namespace {
struct flock whole_file(short type) {
  struct flock lock{};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 0;
  return lock;
}
}  // namespace

std::optional<SegmentLock> SegmentLock::acquire(const std::string& segment, std::string& error) {
  const std::string path = segment_lock_path(segment);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    error = "cannot open lock file " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct flock lock = whole_file(F_WRLCK);
  if (::fcntl(fd, F_SETLK, &lock) != 0) {
    const int why = errno;
    struct flock probe = whole_file(F_WRLCK);
    if ((why == EAGAIN || why == EACCES) && ::fcntl(fd, F_GETLK, &probe) == 0 &&
        probe.l_type != F_UNLCK) {
      error = "segment '" + segment + "' is already served by another flagd (pid " +
              std::to_string(probe.l_pid) + ", lock " + path + ")";
    } else {
      error = "cannot lock " + path + ": " + std::strerror(why);
    }
    ::close(fd);
    return std::nullopt;
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return SegmentLock(fd);
}

std::optional<pid_t> SegmentLock::holder(const std::string& segment) {
  const int fd = ::open(segment_lock_path(segment).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct flock probe = whole_file(F_WRLCK);
  const bool queried = ::fcntl(fd, F_GETLK, &probe) == 0;
  ::close(fd);
  if (!queried || probe.l_type == F_UNLCK) return std::nullopt;
  return probe.l_pid;
}

SegmentLock::~SegmentLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace flagd
