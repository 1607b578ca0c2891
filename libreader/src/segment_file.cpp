#include "segment_file.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "flagd/file_mode.hpp"
#include "flagd/layout.hpp"
#include "flagd/segment_name.hpp"

namespace flagd::detail {

namespace {

AttachError error(AttachErrorKind kind, std::string message) { return AttachError{kind, std::move(message)}; }

std::string owners_text(const std::vector<uid_t>& owners) {
  std::string text = "uid 0";
  for (uid_t uid : owners)
    if (uid != 0) text += " or " + std::to_string(uid);
  return text;
}

struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

std::uint64_t page_rounded(std::uint64_t bytes) {
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

}  // namespace

namespace {

// The uid of user `name` (or `name` as a number).
std::optional<uid_t> user_id(const char* name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwnam_r(name, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) return found->pw_uid;
  char* end = nullptr;
  const unsigned long number = std::strtoul(name, &end, 10);
  if (*name != '\0' && *end == '\0' && number < 0xFFFFFFFFul) return static_cast<uid_t>(number);
  return std::nullopt;
}

}  // namespace

std::vector<uid_t> trusted_owners(const AttachOptions& options) {
  if (options.owner) return {*options.owner};
  // The environment configures readers that cannot pass options (flagctl, C, Python); whoever
  // sets a process's environment controls the process anyway.
  if (const char* named = std::getenv("FLAGD_SEGMENT_OWNER"); named != nullptr && *named != '\0') {
    if (const auto uid = user_id(named)) return {*uid};
    return {0};  // a user that does not exist owns nothing: only root's segments
  }
  std::vector<uid_t> owners{::geteuid()};
  if (const auto daemon_user = user_id("flagd")) owners.push_back(*daemon_user);
  return owners;
}

SegmentFile::~SegmentFile() { ::munmap(const_cast<std::byte*>(base_), extent_); }

Result<std::shared_ptr<SegmentFile>> open_segment_file(std::string_view name, const std::vector<uid_t>& owners,
                                                       std::uint64_t min_extent) {
  const std::string path = segment_path(name);
  const std::string where = "segment '" + std::string(name) + "' (" + path + ")";
  // O_NONBLOCK: a FIFO planted at the path must not hold the caller (and its resolve lock).
  Descriptor file{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)};
  if (file.fd < 0) {
    const int why = errno;
    if (why == ENOENT) return error(AttachErrorKind::Missing, where + " does not exist (is the flagd daemon running?)");
    if (why == ELOOP)
      return error(AttachErrorKind::Untrusted, where + " is a symbolic link; a daemon never makes one, so it is not trusted");
    if (why == ENXIO)  // what opening a socket says
      return error(AttachErrorKind::Untrusted, where + " is not a regular file (a socket), so no daemon made it");
    return error(AttachErrorKind::Unreadable, where + " cannot be opened read-only: " + std::strerror(why));
  }
  struct stat info{};
  if (::fstat(file.fd, &info) != 0)
    return error(AttachErrorKind::Unreadable, where + ": cannot read its status: " + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    return error(AttachErrorKind::Untrusted, where + " is not a regular file (" +
                                                 (S_ISDIR(info.st_mode) ? "a directory" : S_ISFIFO(info.st_mode) ? "a FIFO" : "a device or socket") +
                                                 "), so no daemon made it");
  if (info.st_uid != 0 && std::find(owners.begin(), owners.end(), info.st_uid) == owners.end())
    return error(AttachErrorKind::Untrusted, where + " is owned by uid " + std::to_string(info.st_uid) +
                                                 ", not by the daemon's user (" + owners_text(owners) +
                                                 "); whoever wrote it would decide what this process does "
                                                 "(AttachOptions::owner names the daemon's user)");
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return error(AttachErrorKind::Untrusted, where + " is writable by users other than its owner (mode " +
                                                 octal_mode(info.st_mode) + "), so its contents may be forged");
  const auto bytes = static_cast<std::uint64_t>(info.st_size);
  if (bytes < sizeof(layout::SegmentPrefix))
    return error(AttachErrorKind::Unreadable, where + " is " + std::to_string(bytes) + " bytes, smaller than a segment header");

  // A reservation of the whole extent first, then the file over its start: the tail stays zero.
  const std::uint64_t extent = page_rounded(std::max(bytes, min_extent));
  void* reserved = ::mmap(nullptr, extent, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED)
    return error(AttachErrorKind::Unreadable, where + ": cannot reserve " + std::to_string(extent) +
                                                  " bytes of address space: " + std::strerror(errno));
  if (::mmap(reserved, bytes, PROT_READ, MAP_SHARED | MAP_FIXED, file.fd, 0) == MAP_FAILED) {
    const int why = errno;
    ::munmap(reserved, extent);
    return error(AttachErrorKind::Unreadable, where + " cannot be mapped read-only: " + std::strerror(why));
  }
  return std::make_shared<SegmentFile>(static_cast<const std::byte*>(reserved), bytes, extent, info.st_uid);
}

}  // namespace flagd::detail
