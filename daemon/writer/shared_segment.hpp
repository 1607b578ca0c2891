// The daemon's read-write mapping of a named shared-memory segment, created on first use and
// reopened (with its images and generation sequence) by a restarted daemon.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace flagd {

// Who may read the segment. Only its owner, the daemon's user, ever writes it.
struct SegmentAccess {
  std::optional<gid_t> group;    // the group that may read it; none: the daemon's own group
  bool readable_by_all = false;  // mode 0644 instead of 0640
};

class SharedSegment {
 public:
  // Opens segment `name`, or creates it with slots of `slot_bytes`, then sets its group and mode
  // as `access` says (0640 or 0644: never writable by anyone but the owner). An existing segment
  // keeps its own slot size; one owned by another user, or writable by others, is refused, since
  // whoever can write it decides what every reader sees.
  static std::optional<SharedSegment> open_or_create(const std::string& name, std::uint64_t slot_bytes,
                                                     const SegmentAccess& access, std::string& error);
  SharedSegment(SharedSegment&&) noexcept;
  ~SharedSegment();

  std::byte* data() const noexcept;
  std::uint64_t size() const noexcept;
  bool created() const noexcept { return created_; }

 private:
  struct Impl;
  explicit SharedSegment(std::unique_ptr<Impl> impl, bool created);
  std::unique_ptr<Impl> impl_;
  bool created_;
};

}  // namespace flagd
