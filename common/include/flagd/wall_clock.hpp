// Wall-clock time as the segment records it: nanoseconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace flagd {

inline std::uint64_t unix_now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace flagd
