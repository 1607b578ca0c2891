#include "document_watcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "flagd/limits.hpp"

namespace flagd::serve {

namespace {

// A look every so often besides inotify's word: the directory may not exist yet when the
// watch is set, or be replaced.
constexpr int kLookEveryMs = 1000;
// The merge of several sources, each of up to a flag file's limit.
constexpr std::uint64_t kMaxDocumentBytes = std::uint64_t{limits::kMaxFileBytes} * 16;

}  // namespace

DocumentWatcher::DocumentWatcher(std::string path, uid_t owner, Changed changed, Problem problem)
    : path_(std::move(path)), owner_(owner), changed_(std::move(changed)), problem_(std::move(problem)),
      stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void DocumentWatcher::start() {
  look();
  thread_ = std::thread([this] { run(); });
}

DocumentWatcher::~DocumentWatcher() {
  const std::uint64_t one = 1;
  // Should the write fail, the thread still ends at its next periodic look.
  [[maybe_unused]] const ssize_t written = ::write(stop_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(stop_fd_);
}

std::shared_ptr<const FlagDocument> DocumentWatcher::current() const {
  const std::lock_guard lock(mutex_);
  return current_;
}

void DocumentWatcher::run() {
  const int inotify = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  const std::size_t slash = path_.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path_.substr(0, slash);
  int watch = -1;
  for (;;) {
    if (inotify >= 0 && watch < 0)
      watch = ::inotify_add_watch(inotify, directory.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE);
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {inotify, POLLIN, 0}};
    const int ready = ::poll(fds, inotify >= 0 ? 2 : 1, kLookEveryMs);
    if (ready > 0 && (fds[0].revents & POLLIN) != 0) break;
    if (ready > 0 && (fds[1].revents & POLLIN) != 0) {
      // Any event in the directory is a reason to look; the look compares the file itself.
      alignas(inotify_event) char events[4096];
      while (::read(inotify, events, sizeof events) > 0) continue;
    }
    look();
  }
  if (inotify >= 0) ::close(inotify);
}

void DocumentWatcher::look() {
  struct stat info{};
  FileIdentity now;
  if (::stat(path_.c_str(), &info) == 0) {
    now = {info.st_dev, info.st_ino, info.st_size,
           static_cast<long long>(info.st_mtim.tv_sec) * 1'000'000'000LL + info.st_mtim.tv_nsec};
  }
  if (now == seen_) return;
  seen_ = now;
  if (now.size < 0) return;  // not there (yet): the last document stays
  std::string error;
  std::shared_ptr<const FlagDocument> document = read(error);
  if (!document) {
    if (error != last_problem_) problem_(error + "; sync clients keep the flags they have");
    last_problem_ = error;
    return;
  }
  last_problem_.clear();
  {
    const std::lock_guard lock(mutex_);
    if (current_ && current_->text() == document->text()) return;
    current_ = document;
  }
  changed_(std::move(document));
}

std::shared_ptr<const FlagDocument> DocumentWatcher::read(std::string& error) const {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    error = "cannot read the sync document " + path_ + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat info{};
  std::string text;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    error = "the sync document " + path_ + " is not a regular file";
  } else if (info.st_uid != owner_ && info.st_uid != 0) {
    error = "the sync document " + path_ + " belongs to uid " + std::to_string(info.st_uid) +
            ", not to the segment's owner (uid " + std::to_string(owner_) + ")";
  } else if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    error = "the sync document " + path_ + " is writable by others than its owner";
  } else if (static_cast<std::uint64_t>(info.st_size) > kMaxDocumentBytes) {
    error = "the sync document " + path_ + " is larger than " + std::to_string(kMaxDocumentBytes) + " bytes";
  } else {
    text.resize(static_cast<std::size_t>(info.st_size));
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    if (done != text.size()) error = "the sync document " + path_ + " could not be read whole";
  }
  ::close(fd);
  if (!error.empty()) return nullptr;
  std::shared_ptr<const FlagDocument> document = FlagDocument::parse(std::move(text), error);
  if (!document) error = "the sync document " + path_ + " is " + error;
  return document;
}

}  // namespace flagd::serve
