// The audit log's file (--audit-log FILE): lines appended with one write() each, on a descriptor
// opened O_APPEND, so that a reader (a log shipper, `tail -F`) never sees half a line and other
// writers appending to the same file never split one. Rotation needs no signal: before each line
// the path is looked up again, and when it names another file or none (logrotate renamed it), the
// file is opened anew there, created if it must be.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace flagd {

class AuditFile {
 public:
  // Created with `mode` (past the umask) and, when set, chown'ed to `group`. Nothing is opened
  // before the first append().
  AuditFile(std::string path, mode_t mode, std::optional<gid_t> group);
  ~AuditFile();
  AuditFile(const AuditFile&) = delete;
  AuditFile& operator=(const AuditFile&) = delete;

  // Appends `line`, which ends in '\n'. False and `error` ("cannot append to the audit log
  // 'PATH': why") if it could not; the next append() tries again from the start.
  bool append(std::string_view line, std::string& error);

  const std::string& path() const noexcept { return path_; }

 private:
  bool open(std::string& error);
  bool current() const;  // the path still names the open file
  void close() noexcept;

  std::string path_;
  mode_t mode_;
  std::optional<gid_t> group_;
  int fd_ = -1;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace flagd
