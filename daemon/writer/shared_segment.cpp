#include "shared_segment.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "flagd/layout.hpp"
#include "flagd/wall_clock.hpp"
#include "flagd/limits.hpp"
#include "flagd/shared_access.hpp"
#include "segment_writer.hpp"

namespace flagd {

namespace ipc = boost::interprocess;

struct SharedSegment::Impl {
  ipc::shared_memory_object object;
  ipc::mapped_region region;
};

SharedSegment::SharedSegment(std::unique_ptr<Impl> impl, bool created)
    : impl_(std::move(impl)), created_(created) {}
SharedSegment::SharedSegment(SharedSegment&&) noexcept = default;
SharedSegment::~SharedSegment() = default;

std::byte* SharedSegment::data() const noexcept {
  return static_cast<std::byte*>(impl_->region.get_address());
}
std::uint64_t SharedSegment::size() const noexcept { return impl_->region.get_size(); }

namespace {

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Checks who owns the segment's file and who may write it, then gives it the group and mode
// `access` asks for. False with `error` set if the segment cannot be trusted or changed.
bool secure(int fd, const std::string& name, const SegmentAccess& access, std::string& error) {
  struct stat info{};
  if (::fstat(fd, &info) != 0) {
    error = "cannot read the status of /dev/shm/" + name + ": " + std::strerror(errno);
    return false;
  }
  if (info.st_uid != ::geteuid()) {
    error = "/dev/shm/" + name + " is owned by uid " + std::to_string(info.st_uid) + ", not by this daemon's user (uid " +
            std::to_string(::geteuid()) + "); another user could change what readers see. Remove it, or use another --segment";
    return false;
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    error = "/dev/shm/" + name + " is writable by other users (mode " + octal(info.st_mode) +
            "); what readers saw may have been forged. Stop its readers and remove it to start afresh";
    return false;
  }
  const gid_t group = access.group.value_or(::getegid());
  if (info.st_gid != group && ::fchown(fd, static_cast<uid_t>(-1), group) != 0) {
    error = "cannot give /dev/shm/" + name + " the group " + std::to_string(group) + ": " + std::strerror(errno) +
            " (the daemon's user must belong to that group)";
    return false;
  }
  const mode_t mode = access.readable_by_all ? 0644 : 0640;
  if ((info.st_mode & 07777) != mode && ::fchmod(fd, mode) != 0) {
    error = "cannot set the mode of /dev/shm/" + name + " to " + octal(mode) + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

std::optional<SharedSegment> SharedSegment::open_or_create(const std::string& name,
                                                           std::uint64_t slot_bytes,
                                                           const SegmentAccess& access,
                                                           std::string& error) {
  if (slot_bytes < sizeof(layout::ImageHeader) || slot_bytes > limits::kMaxImageBytes) {
    error = "image capacity " + std::to_string(slot_bytes) + " bytes is out of range";
    return std::nullopt;
  }
  try {
    auto impl = std::make_unique<Impl>();
    // Created private; secure() then opens it to the group or to all, as asked.
    impl->object = ipc::shared_memory_object(ipc::open_or_create, name.c_str(), ipc::read_write,
                                             ipc::permissions(0600));
    const int fd = impl->object.get_mapping_handle().handle;
    if (!secure(fd, name, access, error)) return std::nullopt;
    ipc::offset_t size = 0;
    impl->object.get_size(size);
    bool created = false;
    if (size == 0) {
      // New (or left empty by a daemon that died before sizing it). Reserve the pages now, so a
      // full /dev/shm fails here with a message rather than later with SIGBUS.
      const std::uint64_t bytes = SegmentWriter::segment_bytes_for(slot_bytes);
      impl->object.truncate(static_cast<ipc::offset_t>(bytes));
      if (const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes)); rc != 0) {
        impl->object.truncate(0);
        error = "cannot reserve " + std::to_string(bytes) + " bytes for segment '" + name +
                "' in /dev/shm: " + std::strerror(rc);
        return std::nullopt;
      }
      created = true;
    }
    impl->region = ipc::mapped_region(impl->object, ipc::read_write);
    auto* base = static_cast<std::byte*>(impl->region.get_address());
    const std::uint64_t mapped = impl->region.get_size();
    if (mapped < sizeof(layout::SegmentPrefix)) {
      error = "segment '" + name + "' is too small to be a flagd segment; remove /dev/shm/" + name;
      return std::nullopt;
    }
    const auto magic = shared::load<std::uint64_t>(base + offsetof(layout::SegmentHeader, magic));
    if (created || magic == 0) {
      // Formatting is only ever interrupted by a crash, before any reader could attach.
      const std::uint64_t slots = created ? slot_bytes : (mapped - layout::kSlotsOffset) / 2;
      std::random_device random;
      const std::uint64_t id = (std::uint64_t{random()} << 32) ^ random() ^ unix_now_ns();
      SegmentWriter::format(base, mapped, slots & ~(layout::kSlotAlignment - 1), id, unix_now_ns());
      return SharedSegment(std::move(impl), true);
    }
    const auto version = shared::load<std::uint32_t>(base + offsetof(layout::SegmentHeader, layout_version));
    if (magic != layout::kSegmentMagic) {
      error = "/dev/shm/" + name + " exists but is not a flagd segment";
      return std::nullopt;
    }
    if (version != layout::kLayoutVersion) {
      error = "segment '" + name + "' has layout version " + std::to_string(version) +
              " but this daemon writes layout version " + std::to_string(layout::kLayoutVersion) +
              "; stop its readers and remove /dev/shm/" + name + " to start afresh";
      return std::nullopt;
    }
    return SharedSegment(std::move(impl), false);
  } catch (const ipc::interprocess_exception& e) {
    error = "cannot open segment '" + name + "' read-write: " + e.what();
    return std::nullopt;
  }
}

}  // namespace flagd
