// Watching the flag files for changes (flagd --watch), with inotify on their directories rather
// than on the files: editors replace a file by renaming a new one over it, and Kubernetes swaps a
// ConfigMap's files by renaming the directory's "..data" symlink; a watch on the old file would
// see neither. Symlinked files are followed: the directory of the file each links to is watched
// too, and re-resolved after every reload.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace flagd {

class FileWatcher {
 public:
  // Nullopt and `error` if inotify is unavailable or a file's directory cannot be watched.
  static std::optional<FileWatcher> open(const std::vector<std::string>& paths, std::string& error);

  FileWatcher(FileWatcher&& other) noexcept;
  FileWatcher& operator=(FileWatcher&&) = delete;
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;
  ~FileWatcher();

  int fd() const noexcept { return fd_; }  // readable when events are pending
  // Reads the pending events; true if any may concern a flag file.
  bool drain();
  // Follows the files' symlinks again (their targets may have moved) and watches new directories.
  void refresh();

 private:
  explicit FileWatcher(int fd, std::vector<std::string> paths) : fd_(fd), paths_(std::move(paths)) {}
  bool watch_all(std::string& error);

  int fd_;
  std::vector<std::string> paths_;
  std::set<std::string> directories_;  // watched
  std::set<std::string> names_;        // file names (in any watched directory) that matter
};

}  // namespace flagd
