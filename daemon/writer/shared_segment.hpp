// The daemon's read-write mapping of a named shared-memory segment, created on first use and
// reopened (with its images and generation sequence) by a restarted daemon.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace flagd {

class SharedSegment {
 public:
  // Opens segment `name`, or creates it with slots of `slot_bytes` and mode 0644 (readable by all,
  // writable by the owner). An existing segment keeps its own slot size.
  static std::optional<SharedSegment> open_or_create(const std::string& name, std::uint64_t slot_bytes,
                                                     std::string& error);
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
