// The daemon's read-write mapping of a named shared-memory segment, created on first use and
// reopened (with its images and generation sequence) by a restarted daemon; and the replacement
// of a segment by a new one whose readers follow them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace flagd {

// Who may read the segment. Only its owner, the daemon's user, ever writes it.
struct SegmentAccess {
  std::optional<gid_t> group;    // the group that may read it; none: the daemon's own group
  bool readable_by_all = false;  // mode 0644 instead of 0640
};

class SharedSegment {
 public:
  // Opens segment `name`, or creates it with slots of `slot_bytes`, then sets its group and mode
  // as `access` says (0640 or 0644: never writable by anyone but the owner). One owned by another
  // user, writable by others, or not a regular file is refused, since whoever can write it
  // decides what every reader sees.
  //
  // An existing segment keeps its slot size unless `grow` is set and its slots are smaller than
  // `slot_bytes`: it is then replaced by a new segment of that size. A segment created after
  // /dev/shm/NAME was removed finds the removed one through segment_link_path(). Either way the
  // new segment starts with the old one's image (if it fits) and status, so readers keep their
  // flags and the generation sequence continues, and the old one is retired: see
  // retire_replaced().
  static std::optional<SharedSegment> open_or_create(const std::string& name, std::uint64_t slot_bytes,
                                                     const SegmentAccess& access, bool grow, std::string& error);
  static std::optional<SharedSegment> open_or_create(const std::string& name, std::uint64_t slot_bytes,
                                                     const SegmentAccess& access, std::string& error) {
    return open_or_create(name, slot_bytes, access, false, error);
  }
  SharedSegment(SharedSegment&&) noexcept;
  ~SharedSegment();

  std::byte* data() const noexcept;
  std::uint64_t size() const noexcept;
  bool created() const noexcept { return created_; }

  // Once this one serves an image (at once if it was handed the old image; otherwise after the
  // first publication): marks every segment it replaced as superseded, so that their readers move
  // here, and makes /dev/shm/.NAME.segment name it. Returns what it did, for the log; empty if
  // nothing. Cheap when there is nothing to do: the daemon calls it after every publication.
  std::string retire_replaced();

  // What opening did that the log should say (a replacement, a link it could not trust).
  const std::vector<std::string>& notes() const noexcept { return notes_; }

  struct File;

 private:
  SharedSegment(std::unique_ptr<File> file, bool created);
  std::unique_ptr<File> file_;
  std::string name_;
  std::vector<std::unique_ptr<File>> replaced_;  // still to retire
  std::vector<std::string> notes_;
  bool created_;
};

}  // namespace flagd
