#include "shared_segment.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string_view>

#include "flagd/file_mode.hpp"
#include "flagd/layout.hpp"
#include "flagd/limits.hpp"
#include "flagd/segment_name.hpp"
#include "flagd/shared_access.hpp"
#include "flagd/wall_clock.hpp"
#include "segment_writer.hpp"

namespace flagd {

// One segment file, open and mapped read-write.
struct SharedSegment::File {
  std::string path;  // the name it was opened or created by
  int fd = -1;
  std::byte* base = nullptr;
  std::uint64_t bytes = 0;
  dev_t device = 0;
  ino_t inode = 0;

  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() {
    if (base != nullptr) ::munmap(base, bytes);
    if (fd >= 0) ::close(fd);
  }
  bool same_file(const File& other) const noexcept { return device == other.device && inode == other.inode; }
  std::uint64_t slot_bytes() const noexcept { return SegmentWriter(base).slot_bytes(); }
};

SharedSegment::SharedSegment(std::unique_ptr<File> file, bool created) : file_(std::move(file)), created_(created) {}
SharedSegment::SharedSegment(SharedSegment&&) noexcept = default;
SharedSegment::~SharedSegment() = default;

std::byte* SharedSegment::data() const noexcept { return file_->base; }
std::uint64_t SharedSegment::size() const noexcept { return file_->bytes; }

namespace {

using File = SharedSegment::File;

// Checks the file `fd` is one the daemon may write into for its readers: a regular file of its
// own that nobody else may write. False with `error` set otherwise.
bool trusted(int fd, const std::string& path, struct stat& info, std::string& error) {
  if (::fstat(fd, &info) != 0) {
    error = "cannot read the status of " + path + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(info.st_mode)) {
    error = path + " is not a regular file; remove it";
    return false;
  }
  if (info.st_uid != ::geteuid()) {
    error = path + " is owned by uid " + std::to_string(info.st_uid) + ", not by this daemon's user (uid " +
            std::to_string(::geteuid()) + "); another user could change what readers see. Remove it, or use another --segment";
    return false;
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    error = path + " is writable by other users (mode " + octal_mode(info.st_mode) +
            "); what readers saw may have been forged. Stop its readers and remove it to start afresh";
    return false;
  }
  return true;
}

// Gives a trusted segment file the group and mode `access` asks for.
bool set_access(const File& f, const struct stat& info, const SegmentAccess& access, std::string& error) {
  const gid_t group = access.group.value_or(::getegid());
  if (info.st_gid != group && ::fchown(f.fd, static_cast<uid_t>(-1), group) != 0) {
    error = "cannot give " + f.path + " the group " + std::to_string(group) + ": " + std::strerror(errno) +
            " (the daemon's user must belong to that group)";
    return false;
  }
  const mode_t mode = access.readable_by_all ? 0644 : 0640;
  if ((info.st_mode & 07777) != mode && ::fchmod(f.fd, mode) != 0) {
    error = "cannot set the mode of " + f.path + " to " + octal_mode(mode) + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool map(File& f, std::string& error) {
  void* at = ::mmap(nullptr, f.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd, 0);
  if (at == MAP_FAILED) {
    error = "cannot map " + f.path + " read-write: " + std::strerror(errno);
    return false;
  }
  f.base = static_cast<std::byte*>(at);
  return true;
}

std::uint64_t new_segment_id() {
  std::random_device random;
  return (std::uint64_t{random()} << 32) ^ random() ^ unix_now_ns();
}

// Sizes, maps and formats a new, empty file `f` with slots of `slot_bytes`. The pages are
// reserved now, so that a full /dev/shm fails here with a message rather than later with SIGBUS.
bool format_new(File& f, std::uint64_t slot_bytes, std::string& error) {
  f.bytes = SegmentWriter::segment_bytes_for(slot_bytes);
  if (::ftruncate(f.fd, static_cast<off_t>(f.bytes)) != 0) {
    error = "cannot size " + f.path + ": " + std::strerror(errno);
    return false;
  }
  if (const int rc = ::posix_fallocate(f.fd, 0, static_cast<off_t>(f.bytes)); rc != 0) {
    (void)!::ftruncate(f.fd, 0);  // a staging file: nobody can have attached
    error = "cannot reserve " + std::to_string(f.bytes) + " bytes for " + f.path + " in /dev/shm: " + std::strerror(rc);
    return false;
  }
  if (!map(f, error)) return false;
  SegmentWriter::format(f.base, f.bytes, slot_bytes, new_segment_id(), unix_now_ns());
  return true;
}

enum class Opened { Yes, Missing, Failed };

// Opens an existing segment file read-write, without following a symlink, and checks it.
Opened open_existing(const std::string& path, File& f, struct stat& info, std::string& error) {
  f.path = path;
  f.fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (f.fd < 0) {
    if (errno == ENOENT) return Opened::Missing;
    error = "cannot open " + path + " read-write: " + std::strerror(errno);
    return Opened::Failed;
  }
  if (!trusted(f.fd, path, info, error)) return Opened::Failed;
  f.bytes = static_cast<std::uint64_t>(info.st_size);
  f.device = info.st_dev;
  f.inode = info.st_ino;
  return Opened::Yes;
}

// Creates a new segment file at `path`, which must not exist, formatted with slots of `slot_bytes`.
bool create_new(const std::string& path, std::uint64_t slot_bytes, const SegmentAccess& access, File& f,
                std::string& error) {
  f.path = path;
  // Private until set_access opens it to the readers' group.
  f.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (f.fd < 0) {
    const int why = errno;
    error = "cannot create " + path + ": " + std::strerror(why);
    errno = why;  // create_staged tells a name taken (EEXIST) from other failures
    return false;
  }
  struct stat info{};
  if (!trusted(f.fd, path, info, error) || !set_access(f, info, access, error)) return false;
  f.device = info.st_dev;
  f.inode = info.st_ino;
  return format_new(f, slot_bytes, error);
}

// Staging names: "/dev/shm/.NAME.staging-" and 16 hexadecimal digits. A new segment is made
// complete under one, then renamed to /dev/shm/NAME, so that nobody ever attaches to a segment
// being sized, formatted or handed an image, and a crash leaves no half-made segment at NAME.
std::string staging_prefix(const std::string& name) { return "." + name + ".staging-"; }
constexpr std::size_t kStagingDigits = 16;

// A new segment under a fresh staging name; the name is random, so another user cannot take it
// first. Removed again on failure.
std::unique_ptr<File> create_staged(const std::string& name, std::uint64_t slot_bytes, const SegmentAccess& access,
                                    std::string& error) {
  std::random_device random;
  for (int attempt = 0; attempt < 16; ++attempt) {
    char digits[kStagingDigits + 1];
    std::snprintf(digits, sizeof digits, "%08x%08x", random(), random());
    auto f = std::make_unique<File>();
    const std::string path = "/dev/shm/" + staging_prefix(name) + digits;
    if (create_new(path, slot_bytes, access, *f, error)) return f;
    if (f->fd >= 0) ::unlink(path.c_str());
    if (f->fd >= 0 || errno != EEXIST) return nullptr;
  }
  return nullptr;
}

// Moves a staged segment to `path`, replacing what is there (the caller holds the lock).
bool install(File& f, const std::string& path, std::string& error) {
  if (::rename(f.path.c_str(), path.c_str()) != 0) {
    error = "cannot move " + f.path + " to " + path + ": " + std::strerror(errno);
    ::unlink(f.path.c_str());
    return false;
  }
  f.path = path;
  return true;
}

// Removes the staging files of this daemon's user that an interrupted start left behind.
void remove_stale_staging(const std::string& name) {
  DIR* dir = ::opendir("/dev/shm");
  if (dir == nullptr) return;
  const std::string prefix = staging_prefix(name);
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view file = entry->d_name;
    if (file.size() != prefix.size() + kStagingDigits || file.substr(0, prefix.size()) != prefix) continue;
    struct stat info{};
    if (::fstatat(::dirfd(dir), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(info.st_mode) &&
        info.st_uid == ::geteuid())
      ::unlinkat(::dirfd(dir), entry->d_name, 0);
  }
  ::closedir(dir);
}

// Checks the header of a mapped segment this daemon may write; formats one whose creation a
// crash interrupted (no magic yet: no reader could have attached). True if it was formatted.
bool check_header(File& f, const std::string& name, bool& formatted, std::string& error) {
  formatted = false;
  if (f.bytes < sizeof(layout::SegmentPrefix)) {
    error = "segment '" + name + "' is too small to be a flagd segment; remove " + f.path;
    return false;
  }
  const auto magic = shared::load<std::uint64_t>(f.base + offsetof(layout::SegmentHeader, magic));
  if (magic == 0) {
    const std::uint64_t slots = (f.bytes - layout::kSlotsOffset) / layout::kSlotCount;
    SegmentWriter::format(f.base, f.bytes, slots & ~(layout::kSlotAlignment - 1), new_segment_id(), unix_now_ns());
    formatted = true;
    return true;
  }
  if (magic != layout::kSegmentMagic) {
    error = f.path + " exists but is not a flagd segment";
    return false;
  }
  const auto version = shared::load<std::uint32_t>(f.base + offsetof(layout::SegmentHeader, layout_version));
  if (version != layout::kLayoutVersion) {
    error = "segment '" + name + "' has layout version " + std::to_string(version) +
            " but this daemon writes layout version " + std::to_string(layout::kLayoutVersion) +
            "; stop its readers and remove " + f.path + " and " + segment_link_path(name) + " to start afresh";
    return false;
  }
  return true;
}

// Opens an existing segment file and its header; nullptr if missing, or (error set) unusable.
std::unique_ptr<File> open_segment(const std::string& path, const std::string& name, bool& formatted,
                                   std::string& error) {
  auto f = std::make_unique<File>();
  struct stat info{};
  const Opened opened = open_existing(path, *f, info, error);
  if (opened != Opened::Yes) return nullptr;
  if (!map(*f, error) || !check_header(*f, name, formatted, error)) return nullptr;
  return f;
}

// Gives `to`, a new segment, what readers of `from` saw: its image (if it fits: the generation
// and every stable index come with it) and the daemon's status block. A note if the image does
// not fit.
std::string hand_over(const File& from, const File& to) {
  SegmentWriter source(from.base), target(to.base);
  const std::vector<std::byte> image = source.active_image();
  std::string note;
  if (source.newest_generation() != 0 && !target.publish(image))
    note = "the replaced segment's image (" + std::to_string(image.size()) +
           " bytes) does not fit the new one; its readers move once a load is published";
  layout::DaemonStatus status{};
  shared::copy_out(&status, from.base + offsetof(layout::SegmentPrefix, status), sizeof status);
  target.update_status([&](layout::DaemonStatus& s) { s = status; });
  return note;
}

// Points the hidden second name at `f` (by its path, checked to be the same file), by rename.
std::string link_as_current(const File& f, const std::string& name) {
  const std::string link = segment_link_path(name);
  struct stat info{};
  if (::lstat(link.c_str(), &info) == 0 && info.st_dev == f.device && info.st_ino == f.inode) return {};
  const std::string fresh = link + ".new";
  ::unlink(fresh.c_str());
  std::string why;
  if (::link(f.path.c_str(), fresh.c_str()) != 0)
    why = std::strerror(errno);
  else if (::lstat(fresh.c_str(), &info) != 0 || info.st_dev != f.device || info.st_ino != f.inode)
    why = f.path + " changed under the daemon";
  else if (::rename(fresh.c_str(), link.c_str()) != 0)
    why = std::strerror(errno);
  ::unlink(fresh.c_str());  // left by a failure, or by a rename between two names of one file (a no-op)
  if (!why.empty())
    return "cannot keep " + link + " as a second name of the segment (" + why +
           "): readers will not follow it if /dev/shm/" + name + " is removed";
  return {};
}

}  // namespace

std::optional<SharedSegment> SharedSegment::open_or_create(const std::string& name, std::uint64_t slot_bytes,
                                                           const SegmentAccess& access, bool grow, std::string& error) {
  if (slot_bytes < sizeof(layout::ImageHeader) || slot_bytes > limits::kMaxImageBytes) {
    error = "image capacity " + std::to_string(slot_bytes) + " bytes is out of range";
    return std::nullopt;
  }
  remove_stale_staging(name);
  const std::string path = segment_path(name);
  bool created = false;
  std::unique_ptr<File> current = open_segment(path, name, created, error);
  if (!current && !error.empty()) return std::nullopt;
  if (current) {
    struct stat info{};
    if (::fstat(current->fd, &info) != 0 || !set_access(*current, info, access, error)) return std::nullopt;
  }

  // The segment last linked as current, if it is not the one at /dev/shm/NAME: removed by hand,
  // its readers are still on it. A link that is not the daemon's own is left alone.
  std::vector<std::string> notes;
  std::string link_problem;
  bool ignored = false;
  std::unique_ptr<File> removed = open_segment(segment_link_path(name), name, ignored, link_problem);
  if (!link_problem.empty()) notes.push_back("ignoring " + segment_link_path(name) + ": " + link_problem);
  if (removed && current && removed->same_file(*current)) removed.reset();

  std::vector<std::unique_ptr<File>> replaced;
  if (!current) {
    // Continuing a removed segment: large enough for the image its readers see.
    std::uint64_t slots = slot_bytes;
    if (removed && SegmentWriter(removed->base).active_image().size() > SegmentWriter::slot_capacity(slots)) {
      slots = removed->slot_bytes();
      notes.push_back("slots of " + std::to_string(slots) + " bytes, as the removed segment's, which its image needs");
    }
    current = create_staged(name, slots, access, error);
    if (!current) return std::nullopt;
    if (removed) {
      if (std::string note = hand_over(*removed, *current); !note.empty()) notes.push_back(note);
      notes.push_back("segment '" + name + "' was removed and is created again: it continues the removed one's image");
    }
    if (!install(*current, path, error)) return std::nullopt;
    created = true;
  } else if (grow && current->slot_bytes() < SegmentWriter::slot_capacity(slot_bytes)) {
    std::string problem;
    std::unique_ptr<File> larger = create_staged(name, slot_bytes, access, problem);
    if (larger) {
      if (std::string note = hand_over(*current, *larger); !note.empty()) notes.push_back(note);
      if (install(*larger, path, problem)) {
        notes.push_back("replaced segment '" + name + "' (slots of " + std::to_string(current->slot_bytes()) +
                        " bytes) by one with slots of " + std::to_string(larger->slot_bytes()) + " bytes");
        replaced.push_back(std::move(current));
        current = std::move(larger);
        created = true;
      }
    }
    if (!problem.empty()) notes.push_back("cannot grow the segment (" + problem + "); it keeps its slots of " +
                                          std::to_string(current->slot_bytes()) + " bytes");
  } else if (removed && SegmentWriter(current->base).newest_generation() == 0) {
    // A segment that never served an image (made by a daemon that stopped before it published).
    if (std::string note = hand_over(*removed, *current); !note.empty()) notes.push_back(note);
  }
  if (removed) replaced.push_back(std::move(removed));

  SharedSegment segment(std::move(current), created);
  segment.name_ = name;
  segment.replaced_ = std::move(replaced);
  segment.notes_ = std::move(notes);
  return segment;
}

std::string SharedSegment::retire_replaced() {
  if (SegmentWriter(file_->base).newest_generation() == 0) return {};
  for (const auto& old : replaced_) SegmentWriter(old->base).supersede();
  std::string done;
  if (!replaced_.empty())
    done = std::to_string(replaced_.size()) + " replaced segment" + (replaced_.size() == 1 ? "" : "s") +
           " marked superseded: " + (replaced_.size() == 1 ? "its" : "their") + " readers move to this one";
  replaced_.clear();
  // Only now: until the old segments are marked, the second name is how a later daemon finds them.
  if (const std::string problem = link_as_current(*file_, name_); !problem.empty())
    done += (done.empty() ? "" : "; ") + problem;
  return done;
}

}  // namespace flagd
