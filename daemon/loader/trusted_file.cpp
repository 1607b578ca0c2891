#include "trusted_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string_view>
#include <utility>

#include "flagd/file_mode.hpp"

namespace flagd {

namespace {

constexpr int kMaxSymbolicLinks = 40;  // as the kernel's own resolution allows
constexpr const char* kSkip = "flagd --allow-any-file-owner skips these checks";

class Descriptor {
 public:
  explicit Descriptor(int fd = -1) noexcept : fd_(fd) {}
  Descriptor(Descriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Descriptor& operator=(Descriptor&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

bool trusted_owner(uid_t uid) { return uid == 0 || uid == ::geteuid(); }

std::string untrusted_owner(const struct stat& info) {
  return "is owned by uid " + std::to_string(info.st_uid) + ", neither this daemon's user (uid " +
         std::to_string(::geteuid()) + ") nor root";
}

// Puts the components of `path` before those pending, in order; "" and "." name nothing.
void push_front_components(std::string_view path, std::deque<std::string>& pending) {
  std::deque<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, slash - start);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = slash + 1;
  }
  pending.insert(pending.begin(), parts.begin(), parts.end());
}

// The walk from "/": the directory reached so far, by descriptor and by its path.
class Walk {
 public:
  Walk(std::string given, std::string& error) : given_(std::move(given)), error_(error) {}

  int open() {
    if (given_.empty()) return fail("cannot open the file: " + std::string(std::strerror(ENOENT)));
    std::string absolute = given_;
    if (absolute.front() != '/') {
      std::array<char, PATH_MAX> cwd{};
      if (::getcwd(cwd.data(), cwd.size()) == nullptr) {
        return fail(std::string("cannot find the working directory the path is relative to: ") + std::strerror(errno));
      }
      absolute = std::string(cwd.data()) + "/" + absolute;
    }
    std::deque<std::string> pending;
    push_front_components(absolute, pending);
    if (!restart_at_root()) return -1;
    int links = 0;
    while (!pending.empty()) {
      const std::string name = std::move(pending.front());
      pending.pop_front();
      const bool last = pending.empty();
      if (name == "..") {
        if (!enter(Descriptor(::openat(dir_.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC)), parent_of(dir_path_))) {
          return -1;
        }
        if (last) return fail("not a regular file");
        continue;
      }
      if (!directory_may_hold(name)) return -1;
      const std::string where = join(dir_path_, name);
      Descriptor entry(::openat(dir_.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      struct stat info{};
      if (entry.get() < 0 || ::fstat(entry.get(), &info) != 0) return fail(cannot_open(where, errno));
      if (S_ISLNK(info.st_mode)) {
        if (++links > kMaxSymbolicLinks) {
          return fail("more than " + std::to_string(kMaxSymbolicLinks) + " symbolic links on the way to the file (a loop?)");
        }
        std::string target;
        if (!read_link(entry.get(), where, info, target)) return -1;
        push_front_components(target, pending);
        followed_link_ = true;
        if (target.front() == '/' && !restart_at_root()) return -1;
        if (pending.empty()) return fail("not a regular file");
        continue;
      }
      if (S_ISDIR(info.st_mode) && !last) {
        if (!enter(std::move(entry), where)) return -1;
        continue;
      }
      if (!last) return fail(cannot_open(where, ENOTDIR));
      return open_file(name, where, info);
    }
    return fail("not a regular file");  // the path named "/" itself
  }

 private:
  int fail(std::string message) {
    error_ = std::move(message);
    return -1;
  }

  std::string cannot_open(const std::string& where, int code) const {
    if (!followed_link_ && where == given_) return std::string("cannot open the file: ") + std::strerror(code);
    return "cannot open '" + where + "' on the way to the file: " + std::strerror(code);
  }

  static std::string join(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
  }
  static std::string parent_of(const std::string& dir) {
    const std::size_t slash = dir.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
  }

  bool restart_at_root() { return enter(Descriptor(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)), "/"); }

  bool enter(Descriptor dir, std::string path) {
    if (dir.get() < 0 || ::fstat(dir.get(), &dir_info_) != 0) {
      fail(cannot_open(path, errno));
      return false;
    }
    dir_ = std::move(dir);
    dir_path_ = std::move(path);
    return true;
  }

  // Whether only trusted users can decide what `name` in the current directory is.
  bool directory_may_hold(const std::string& name) {
    const std::string subject = "the directory '" + dir_path_ + "' ";
    const std::string entry = "'" + name + "' there";
    if (!trusted_owner(dir_info_.st_uid)) {
      fail(subject + untrusted_owner(dir_info_) + ": its owner could replace " + entry +
           " (give it to root or this daemon's user, or use another directory; " + kSkip + ")");
      return false;
    }
    if ((dir_info_.st_mode & S_ISVTX) != 0) return true;  // each entry's owner is checked instead
    if ((dir_info_.st_mode & S_IWOTH) != 0) {
      fail(subject + "is writable by every user (mode " + octal_mode(dir_info_.st_mode) +
           ") and not sticky: anyone could replace " + entry + " (chmod o-w '" + dir_path_ + "'; " + kSkip + ")");
      return false;
    }
    if ((dir_info_.st_mode & S_IWGRP) != 0) {
      fail(subject + "is writable by its group (gid " + std::to_string(dir_info_.st_gid) + ", mode " +
           octal_mode(dir_info_.st_mode) + ") and not sticky: any user of that group could replace " + entry +
           " (chmod g-w '" + dir_path_ + "'; " + kSkip + ")");
      return false;
    }
    return true;
  }

  bool read_link(int link, const std::string& where, const struct stat& info, std::string& target) {
    std::array<char, PATH_MAX> text{};
    const ssize_t n = ::readlinkat(link, "", text.data(), text.size());
    if (n <= 0 || static_cast<std::size_t>(n) >= text.size()) {
      fail("cannot read the symbolic link '" + where + "': " + std::strerror(n < 0 ? errno : n == 0 ? ENOENT : ENAMETOOLONG));
      return false;
    }
    target.assign(text.data(), static_cast<std::size_t>(n));
    if (!trusted_owner(info.st_uid)) {
      fail("the symbolic link '" + where + "' (to '" + target + "') " + untrusted_owner(info) +
           ": its owner chose where it leads (replace it with a link owned by root, or name the file itself; " +
           kSkip + ")");
      return false;
    }
    return true;
  }

  int open_file(const std::string& name, const std::string& where, const struct stat& seen) {
    const std::string subject = followed_link_ ? "the file it leads to, '" + where + "'," : "the file";
    if (!S_ISREG(seen.st_mode)) return fail(followed_link_ ? subject + " is not a regular file" : "not a regular file");
    // Looked at without opening it, so that a device or FIFO is never opened; what is opened for
    // reading must be the same file.
    Descriptor file(::openat(dir_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    struct stat info{};
    if (file.get() < 0 || ::fstat(file.get(), &info) != 0) return fail(cannot_open(where, errno));
    if (info.st_dev != seen.st_dev || info.st_ino != seen.st_ino) {
      return fail("'" + where + "' was replaced while being opened; try again");
    }
    if (!trusted_owner(info.st_uid)) {
      return fail(subject + " is owned by uid " + std::to_string(info.st_uid) + ", neither this daemon's user (uid " +
                  std::to_string(::geteuid()) + ") nor root; whoever owns it decides what every reader sees (" +
                  "flagd --allow-any-file-owner accepts it)");
    }
    if ((info.st_mode & S_IWOTH) != 0) {
      return fail(subject + " is writable by every user (mode " + octal_mode(info.st_mode) +
                  "); anyone could change what every reader sees (chmod o-w, or flagd --allow-any-file-owner "
                  "accepts it)");
    }
    return file.release();
  }

  std::string given_;
  std::string& error_;
  Descriptor dir_;
  struct stat dir_info_{};
  std::string dir_path_;
  bool followed_link_ = false;
};

}  // namespace

int open_trusted_file(const std::string& path, std::string& error) {
  error.clear();
  return Walk(path, error).open();
}

}  // namespace flagd
