#include "source_cache.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "flag_loader.hpp"
#include "sha256.hpp"

namespace flagd {

namespace {

// Creates `directory` and its missing parents (0700: the copies are the daemon's alone).
bool make_directories(const std::string& directory, std::string& error) {
  for (std::size_t at = 1; at <= directory.size(); ++at) {
    if (at != directory.size() && directory[at] != '/') continue;
    const std::string prefix = directory.substr(0, at);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      error = "cannot create the cache directory " + prefix + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

SourceCache::SourceCache(std::string directory, std::string segment)
    : directory_(std::move(directory)), segment_(std::move(segment)) {
  while (directory_.size() > 1 && directory_.back() == '/') directory_.pop_back();
}

std::string SourceCache::path_for(const SourceConfig& source, FlagFormat format) const {
  // Everything that selects the document: two sources of one URI with other selectors (or other
  // credentials, which may see other flags) must not share a copy.
  Sha256 digest;
  for (const std::string* part : {&source.uri, &source.selector, &source.provider_id, &source.authorization.file,
                                  &source.authorization.env}) {
    digest.update(*part);
    digest.update(std::string_view("\0", 1));
  }
  return directory_ + "/" + segment_ + "." + to_hex(digest.finish()).substr(0, 16) +
         (format == FlagFormat::Yaml ? ".yaml" : ".json");
}

std::optional<CachedCopy> SourceCache::load(const SourceConfig& source, std::string& error) const {
  error.clear();
  if (!enabled()) return std::nullopt;
  // One notation's copy, or both when a crash came between writing one and removing the other:
  // then the newer.
  std::optional<FlagFormat> found;
  struct timespec found_time{};
  for (const FlagFormat format : {FlagFormat::Json, FlagFormat::Yaml}) {
    struct stat info{};
    if (::lstat(path_for(source, format).c_str(), &info) != 0 && errno == ENOENT) continue;
    const bool newer = !found || info.st_mtim.tv_sec > found_time.tv_sec ||
                       (info.st_mtim.tv_sec == found_time.tv_sec && info.st_mtim.tv_nsec > found_time.tv_nsec);
    if (newer) {
      found = format;
      found_time = info.st_mtim;
    }
  }
  if (!found) return std::nullopt;
  const std::string path = path_for(source, *found);
  CachedCopy copy;
  copy.format = *found;
  Diagnostic problem;
  if (!read_flag_file(path, FileTrust::OwnerOrRoot, copy.text, problem)) {
    error = "the cached copy " + path + " is not used: " + problem.message;
    return std::nullopt;
  }
  return copy;
}

bool SourceCache::store(const SourceConfig& source, std::string_view text, FlagFormat format,
                        std::string& error) const {
  if (!enabled()) return true;
  if (!make_directories(directory_, error)) return false;
  const std::string path = path_for(source, format);
  unsigned char random[8];
  if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
    error = std::string("cannot name a temporary file: ") + std::strerror(errno);
    return false;
  }
  std::string temporary = path + ".tmp-";
  for (unsigned char b : random) temporary += "0123456789abcdef"[b >> 4], temporary += "0123456789abcdef"[b & 15];
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot write the cache file " + temporary + ": " + std::strerror(errno);
    return false;
  }
  const bool written = write_all(fd, text) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    error = "cannot write the cache file " + path + ": " + std::strerror(written ? errno : saved);
    ::unlink(temporary.c_str());
    return false;
  }
  // The other notation's copy goes only once the rename is on disk: a crash between them leaves
  // both, of which load() takes the newer, never neither.
  const std::string other = path_for(source, format == FlagFormat::Yaml ? FlagFormat::Json : FlagFormat::Yaml);
  struct stat info{};
  if (::lstat(other.c_str(), &info) != 0) return true;
  const int directory = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = directory >= 0 && ::fsync(directory) == 0;
  if (directory >= 0) ::close(directory);
  if (!synced || (::unlink(other.c_str()) != 0 && errno != ENOENT)) {
    error = "cannot remove the earlier cache file " + other + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

std::string default_cache_directory() {
  if (const char* systemd = std::getenv("CACHE_DIRECTORY"); systemd != nullptr && *systemd == '/') {
    const std::string first(systemd, std::strcspn(systemd, ":"));  // several are separated by ':'
    return first;
  }
  if (::geteuid() == 0) return "/var/cache/flagd";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') return std::string(xdg) + "/flagd";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') return std::string(home) + "/.cache/flagd";
  return "";
}

}  // namespace flagd
