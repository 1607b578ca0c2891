// Follows the daemon's --sync-document: reads it again each time the daemon renames a new one
// into place (inotify on its directory; a periodic look as well, for a directory that appears
// late), and hands each new document on. A file written by anyone but the segment's owner (or
// root), or writable by others, is refused: whoever could write it would decide what every sync
// client evaluates.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "flag_document.hpp"

namespace flagd::serve {

class DocumentWatcher {
 public:
  using Changed = std::function<void(std::shared_ptr<const FlagDocument>)>;
  using Problem = std::function<void(const std::string&)>;

  // `owner`: the user the document must belong to (the segment's). `changed` and `problem` are
  // called on the thread that calls start() (for the document there at the start), then on the
  // watcher's thread.
  DocumentWatcher(std::string path, uid_t owner, Changed changed, Problem problem);
  ~DocumentWatcher();  // stops the thread
  // Reads the document there now and starts following it.
  void start();
  DocumentWatcher(const DocumentWatcher&) = delete;
  DocumentWatcher& operator=(const DocumentWatcher&) = delete;

  // The latest document; null until one was read.
  std::shared_ptr<const FlagDocument> current() const;

 private:
  void run();
  void look();  // reads the file if it changed since the last look
  std::shared_ptr<const FlagDocument> read(std::string& error) const;

  const std::string path_;
  const uid_t owner_;
  Changed changed_;
  Problem problem_;
  mutable std::mutex mutex_;
  std::shared_ptr<const FlagDocument> current_;
  struct FileIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = -1;
    long long modified_ns = 0;
    bool operator==(const FileIdentity&) const = default;
  } seen_;
  std::string last_problem_;
  int stop_fd_ = -1;  // an eventfd that ends the thread
  std::thread thread_;
};

}  // namespace flagd::serve
