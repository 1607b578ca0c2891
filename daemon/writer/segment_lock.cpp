#include "segment_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "flagd/file_mode.hpp"
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

// The pid holding a write lock on `fd`, if any.
std::optional<pid_t> lock_holder(int fd) {
  struct flock probe = whole_file(F_WRLCK);
  if (::fcntl(fd, F_GETLK, &probe) != 0 || probe.l_type == F_UNLCK) return std::nullopt;
  return probe.l_pid;
}

// The uid that runs process `pid`, if it exists.
std::optional<uid_t> process_owner(pid_t pid) {
  struct stat info{};
  if (::stat(("/proc/" + std::to_string(pid)).c_str(), &info) != 0) return std::nullopt;
  return info.st_uid;
}

// True if the lock file `checked` (its status) may be removed and made again: it is still the
// file at `path`, and no other user serves the segment (a root daemon started by mistake must
// not take the lock of the service whose user owns the segment).
bool renewable(const std::string& segment, const std::string& path, const struct stat& checked) {
  struct stat now{}, served{};
  if (::lstat(path.c_str(), &now) != 0 || now.st_dev != checked.st_dev || now.st_ino != checked.st_ino) return false;
  return ::lstat(segment_path(segment).c_str(), &served) != 0 || served.st_uid == ::geteuid();
}

}  // namespace

std::optional<SegmentLock> SegmentLock::acquire(const std::string& segment, std::string& error) {
  return acquire(segment, error, true);
}

std::optional<SegmentLock> SegmentLock::acquire(const std::string& segment, std::string& error, bool may_renew) {
  const std::string path = segment_lock_path(segment);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
  if (fd < 0) {
    error = "cannot open lock file " + path + ": " + std::strerror(errno) +
            (errno == EACCES || errno == ELOOP ? " (another user may have made it: remove it as root)" : "");
    return std::nullopt;
  }
  struct stat info{};
  std::string problem;
  if (::fstat(fd, &info) != 0) {
    problem = std::string("cannot read its status: ") + std::strerror(errno);
  } else if (!S_ISREG(info.st_mode)) {
    problem = "it is not a regular file";
  } else if (info.st_uid != ::geteuid()) {
    problem = "it is owned by uid " + std::to_string(info.st_uid) + ", not by this daemon's user (uid " +
              std::to_string(::geteuid()) + "), who could hold it to keep the daemon from starting; remove it as root";
  } else if ((info.st_mode & 077) != 0 && ::fchmod(fd, 0600) != 0) {
    // Left by an older daemon with mode 0644: whoever can open it can take a read lock.
    problem = "cannot make it private (mode " + octal_mode(info.st_mode) + "): " + std::strerror(errno);
  }
  if (!problem.empty()) {
    ::close(fd);
    // Another user's file at this name (made before the daemon first ran): root can remove it from
    // the sticky /dev/shm and make the daemon's own; any other daemon user reports it.
    if (may_renew && info.st_uid != ::geteuid() && renewable(segment, path, info) && ::unlink(path.c_str()) == 0)
      return acquire(segment, error, false);
    error = "lock file " + path + " cannot be trusted: " + problem;
    return std::nullopt;
  }
  struct flock lock = whole_file(F_WRLCK);
  if (::fcntl(fd, F_SETLK, &lock) != 0) {
    const int why = errno;
    // 0: nobody the kernel can name holds it (it was released meanwhile, or another error).
    const pid_t holder = (why == EAGAIN || why == EACCES) ? lock_holder(fd).value_or(0) : 0;
    ::close(fd);
    // Only a process of this user can be a daemon of this segment. Another user's lock was taken
    // through a descriptor opened while the file was readable: a new file (which it cannot open)
    // takes the old one's place.
    if (holder != 0 && may_renew && process_owner(holder).value_or(::geteuid()) != ::geteuid() &&
        renewable(segment, path, info) && ::unlink(path.c_str()) == 0)
      return acquire(segment, error, false);
    error = holder != 0 ? "segment '" + segment + "' is already served by another flagd (pid " + std::to_string(holder) +
                              ", lock " + path + ")"
                        : "cannot lock " + path + ": " + std::strerror(why);
    return std::nullopt;
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return SegmentLock(fd);
}

std::optional<pid_t> SegmentLock::serving_daemon(const std::string& segment, uid_t owner, std::uint32_t recorded_pid,
                                                 bool recorded_running) {
  const int fd = ::open(segment_lock_path(segment).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd >= 0) {
    struct stat info{};
    const bool owned = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_uid == owner;
    const std::optional<pid_t> holder = owned ? lock_holder(fd) : std::nullopt;
    ::close(fd);
    return holder;
  }
  if (errno != EACCES || !recorded_running || recorded_pid == 0) return std::nullopt;
  // The segment's status block is the daemon's own writing; the pid must still be its process.
  const auto pid = static_cast<pid_t>(recorded_pid);
  if (process_owner(pid) != owner) return std::nullopt;
  return pid;
}

SegmentLock::~SegmentLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace flagd
