#include "replace_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#include "flagd/file_mode.hpp"

namespace flagd {

namespace {

struct Descriptor {
  int fd = -1;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

// Unpredictable, so that another user cannot take every name the daemon would try; O_EXCL, not
// the name, is what keeps the write from going anywhere else.
std::string random_suffix() {
  std::array<unsigned char, 9> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, GRND_NONBLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < bytes.size()) {  // no entropy yet (early boot): still unique within this host
    static std::atomic<std::uint64_t> counter{0};
    const std::uint64_t mix = (static_cast<std::uint64_t>(::getpid()) << 40) ^
                              static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                              (counter.fetch_add(1) * 0x9E3779B97F4A7C15ULL);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(mix >> (8 * (i % 8)) ^ i);
  }
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  for (unsigned char b : bytes) out += kAlphabet[b & 63];
  return out;
}

// Why users other than root and this one could replace or plant files in the directory, or "".
std::string unsafe_directory(const std::string& directory, const struct stat& info, const ReplacedFile& what) {
  const std::string where = "the " + std::string(what.option) + " directory '" + directory + "' ";
  if (info.st_uid != 0 && info.st_uid != ::geteuid()) {
    return where + "is owned by uid " + std::to_string(info.st_uid) +
           ", who can replace " + std::string(what.article_noun) +
           "; use a directory owned by root or this daemon's user";
  }
  if ((info.st_mode & S_IWOTH) != 0) {
    return where + "is writable by every user (mode " + octal_mode(info.st_mode) +
           "): anyone can plant files there or take the name of " + std::string(what.article_noun) +
           " first; use a directory only root or this daemon's user can write";
  }
  if ((info.st_mode & S_IWGRP) != 0 && (info.st_mode & S_ISVTX) == 0) {
    return where + "is writable by its group (gid " + std::to_string(info.st_gid) + ", mode " +
           octal_mode(info.st_mode) + ") and not sticky: the group's users can replace " +
           std::string(what.article_noun) + " (chmod g-w)";
  }
  return "";
}

// True the first time this process asks about `path`.
bool first_report(const std::string& path) {
  static std::mutex mutex;
  static std::set<std::string> written;
  const std::lock_guard<std::mutex> lock(mutex);
  return written.insert(path).second;
}

bool write_all(int fd, std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

bool replace_file(const std::string& path, std::string_view text, const ReplacedFile& what, std::string& error,
                  std::string& warning) {
  error.clear();
  warning.clear();
  const std::size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    error = "cannot write " + std::string(what.noun) + " to '" + path + "': not a file name";
    return false;
  }
  // Every step is relative to this descriptor, so the temporary file is created, renamed and
  // removed in the one directory that was checked, whatever is renamed meanwhile.
  // O_NOFOLLOW: a directory swapped for a symbolic link would send the rename anywhere.
  Descriptor dir{::open(directory.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  struct stat info{};
  if (dir.fd < 0 || ::fstat(dir.fd, &info) != 0 || !S_ISDIR(info.st_mode)) {
    error = "cannot write " + std::string(what.noun) + " to '" + path + "': cannot open its directory " + directory +
            (dir.fd >= 0 || errno == ENOTDIR || errno == ELOOP ? " (a symbolic link, or not a directory)"
                                                              : ": " + std::string(std::strerror(errno)));
    return false;
  }
  const std::string unsafe = unsafe_directory(directory, info, what);

  // O_EXCL|O_NOFOLLOW: a name someone else planted, as a file, a hard link or a symbolic link, is
  // never opened; another name is tried instead.
  std::string temporary;
  Descriptor file;
  for (int attempt = 0; attempt < 100 && file.fd < 0; ++attempt) {
    temporary = name + ".tmp." + random_suffix();
    file.fd = ::openat(dir.fd, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, what.mode);
    if (file.fd < 0 && errno != EEXIST) break;
  }
  if (file.fd < 0) {
    error = "cannot create a temporary file for " + std::string(what.article_noun) + " in '" + directory +
            "': " + std::strerror(errno);
    return false;
  }
  // The mode again, past the umask; the group, so that the readers' group can read it.
  const bool written = ::fchmod(file.fd, what.mode) == 0 &&
                       (!what.group || ::fchown(file.fd, static_cast<uid_t>(-1), *what.group) == 0) &&
                       write_all(file.fd, text);
  const int saved = errno;
  const bool closed = ::close(std::exchange(file.fd, -1)) == 0;
  if (!written || !closed) {
    error = "cannot write " + std::string(what.noun) + " to '" + directory + "/" + temporary +
            "': " + std::strerror(written ? errno : saved);
    ::unlinkat(dir.fd, temporary.c_str(), 0);
    return false;
  }
  // rename replaces whatever `path` names, a symbolic link included, and never writes through it.
  if (::renameat(dir.fd, temporary.c_str(), dir.fd, name.c_str()) != 0) {
    error = "cannot rename " + std::string(what.article_noun) + " into place as '" + path + "': " + std::strerror(errno);
    ::unlinkat(dir.fd, temporary.c_str(), 0);
    return false;
  }
  // Only after a write that worked: a caller who shows only a failure's error would never see it.
  if (!unsafe.empty() && first_report(path)) warning = unsafe;
  return true;
}

}  // namespace flagd
