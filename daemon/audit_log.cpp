#include "audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace flagd {

AuditFile::AuditFile(std::string path, mode_t mode, std::optional<gid_t> group)
    : path_(std::move(path)), mode_(mode), group_(group) {}

AuditFile::~AuditFile() { close(); }

void AuditFile::close() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

bool AuditFile::current() const {
  struct stat info{};
  return fd_ >= 0 && ::lstat(path_.c_str(), &info) == 0 && info.st_dev == device_ && info.st_ino == inode_;
}

bool AuditFile::open(std::string& error) {
  close();
  const std::string where = "cannot append to the audit log '" + path_ + "': ";
  // O_NOFOLLOW: a symbolic link planted at the path would send the daemon's lines (it may run
  // as root) into any file. A new file is made exclusively, so that its mode and group are this
  // daemon's; an existing one keeps those its owner (or logrotate's "create") gave it.
  bool created = true;
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, mode_);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    // O_NONBLOCK: a FIFO at the path must not hang the daemon until a reader comes; it is refused below.
    fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  }
  if (fd < 0) {
    error = where + (errno == ELOOP ? std::string("it is a symbolic link; give the file's own path")
                                    : std::string(std::strerror(errno)));
    return false;
  }
  struct stat info{};
  if (::fstat(fd, &info) != 0) {
    error = where + std::strerror(errno);
    ::close(fd);
    return false;
  }
  if (!S_ISREG(info.st_mode)) {
    error = where + "it is not a regular file";
    ::close(fd);
    return false;
  }
  // Another name of the same file could be one the daemon must not write.
  if (info.st_nlink > 1) {
    error = where + "it has " + std::to_string(info.st_nlink) + " hard links; give it a name of its own";
    ::close(fd);
    return false;
  }
  if (created && (::fchmod(fd, mode_) != 0 || (group_ && ::fchown(fd, static_cast<uid_t>(-1), *group_) != 0))) {
    error = where + "cannot set its mode or group: " + std::strerror(errno);
    ::close(fd);
    ::unlink(path_.c_str());
    return false;
  }
  fd_ = fd;
  device_ = info.st_dev;
  inode_ = info.st_ino;
  return true;
}

bool AuditFile::append(std::string_view line, std::string& error) {
  error.clear();
  if (!current() && !open(error)) return false;
  ssize_t n = 0;
  do {
    n = ::write(fd_, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(line.size())) return true;
  const int saved = errno;
  const std::string where = "cannot append to the audit log '" + path_ + "': ";
  if (n < 0) {
    error = where + std::strerror(saved);
  } else {
    // Cut short (a full disk, a file size limit): the part written is ended here, so that the
    // next line starts on a line of its own.
    [[maybe_unused]] const ssize_t ended = n > 0 ? ::write(fd_, "\n", 1) : 0;
    error = where + "wrote only " + std::to_string(n) + " of " + std::to_string(line.size()) +
            " bytes (is the disk full?)";
  }
  close();  // opened afresh at the next line: the cause may have been the file itself
  return false;
}

}  // namespace flagd
