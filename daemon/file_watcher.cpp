#include "file_watcher.hpp"

#include <limits.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace flagd {

namespace {

constexpr std::uint32_t kEvents =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MODIFY;

std::string directory_of(const std::string& path) {
  const std::filesystem::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

std::string name_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

}  // namespace

std::optional<FileWatcher> FileWatcher::open(const std::vector<std::string>& paths, std::string& error) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    error = std::string("cannot watch the flag files: inotify: ") + std::strerror(errno);
    return std::nullopt;
  }
  FileWatcher watcher(fd, paths);
  if (!watcher.watch_all(error)) return std::nullopt;
  return watcher;
}

FileWatcher::FileWatcher(FileWatcher&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      paths_(std::move(other.paths_)),
      directories_(std::move(other.directories_)),
      names_(std::move(other.names_)) {}

FileWatcher::~FileWatcher() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileWatcher::watch_all(std::string& error) {
  for (const std::string& path : paths_) {
    // The file as named, and what it links to (a ConfigMap's file links into "..data/").
    std::vector<std::string> places{path};
    std::error_code ec;
    const std::filesystem::path target = std::filesystem::canonical(path, ec);
    if (!ec && target.string() != path) places.push_back(target.string());
    for (const std::string& place : places) {
      names_.insert(name_of(place));
      const std::string dir = directory_of(place);
      if (directories_.count(dir) != 0) continue;
      if (::inotify_add_watch(fd_, dir.c_str(), kEvents) < 0) {
        if (place != path) continue;  // a link's target may vanish; the named directory must not
        error = "cannot watch directory '" + dir + "' of flag file '" + path + "': " + std::strerror(errno);
        return false;
      }
      directories_.insert(dir);
    }
  }
  names_.insert("..data");  // Kubernetes' ConfigMap volumes swap this symlink
  return true;
}

void FileWatcher::refresh() {
  std::string ignored;
  watch_all(ignored);
}

bool FileWatcher::drain() {
  bool relevant = false;
  alignas(inotify_event) char buffer[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: nothing more
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      const std::string name = event->len > 0 ? std::string(event->name) : std::string();
      // An overflowed queue or a watched directory gone: anything may have changed.
      if ((event->mask & (IN_Q_OVERFLOW | IN_IGNORED)) != 0 || names_.count(name) != 0) relevant = true;
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  return relevant;
}

}  // namespace flagd
