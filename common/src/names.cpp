#include "flagd/result_codes.hpp"
#include "flagd/segment_name.hpp"

namespace flagd {

std::string_view to_string(Reason reason) noexcept {
  switch (reason) {
    case Reason::Static: return "STATIC";
    case Reason::Default: return "DEFAULT";
    case Reason::TargetingMatch: return "TARGETING_MATCH";
    case Reason::Disabled: return "DISABLED";
    case Reason::Error: return "ERROR";
  }
  return "ERROR";
}

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::None: return "";
    case ErrorCode::FlagNotFound: return "FLAG_NOT_FOUND";
    case ErrorCode::ParseError: return "PARSE_ERROR";
    case ErrorCode::TypeMismatch: return "TYPE_MISMATCH";
    case ErrorCode::General: return "GENERAL";
  }
  return "GENERAL";
}

std::string segment_name_problem(std::string_view name) {
  if (name.empty()) return "segment name is empty";
  if (name.size() > kMaxSegmentNameBytes)
    return "segment name is longer than " + std::to_string(kMaxSegmentNameBytes) + " bytes";
  if (name.front() == '.') return "segment name '" + std::string(name) + "' starts with '.'";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok)
      return "segment name '" + std::string(name) +
             "' may hold only letters, digits, '.', '_' and '-'";
  }
  return {};
}

std::string segment_path(std::string_view name) { return "/dev/shm/" + std::string(name); }

// Segment names cannot start with '.', so no segment can ever be these files.
std::string segment_lock_path(std::string_view name) {
  return "/dev/shm/." + std::string(name) + ".lock";
}
std::string segment_link_path(std::string_view name) {
  return "/dev/shm/." + std::string(name) + ".segment";
}

}  // namespace flagd
