// Test support: a named shared-memory segment holding a copy of given bytes, removed on scope exit.
#pragma once

#include <unistd.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cstring>
#include <string>

#include "flagd/segment_name.hpp"

namespace flagd::test {

inline std::string unique_segment(const char* what) {
  return std::string("flagd-test-") + what + "-" + std::to_string(::getpid());
}

// Removes every file a daemon keeps for segment `name`: the segment, its lock, its second name.
inline void remove_segment_files(const std::string& name) {
  for (const std::string& path : {segment_path(name), segment_lock_path(name), segment_link_path(name)})
    ::unlink(path.c_str());
}

// A segment name for one test, whose files are removed at the start and whatever the outcome.
struct SegmentFiles {
  std::string name;
  explicit SegmentFiles(const char* what) : name(unique_segment(what)) { remove(); }
  ~SegmentFiles() { remove(); }
  SegmentFiles(const SegmentFiles&) = delete;
  SegmentFiles& operator=(const SegmentFiles&) = delete;
  void remove() const { remove_segment_files(name); }
};

struct NamedSegment {
  std::string name;
  NamedSegment(std::string n, const std::byte* bytes, std::size_t size) : name(std::move(n)) {
    namespace ipc = boost::interprocess;
    ipc::shared_memory_object::remove(name.c_str());
    ipc::shared_memory_object object(ipc::create_only, name.c_str(), ipc::read_write);
    object.truncate(static_cast<ipc::offset_t>(size));
    ipc::mapped_region region(object, ipc::read_write);
    std::memcpy(region.get_address(), bytes, size);
  }
  NamedSegment(const NamedSegment&) = delete;
  NamedSegment& operator=(const NamedSegment&) = delete;
  ~NamedSegment() { boost::interprocess::shared_memory_object::remove(name.c_str()); }
};

}  // namespace flagd::test
