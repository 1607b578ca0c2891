// The publish line's change counter (layout::PublishLine::changes) as a futex: the writer bumps
// it after each store of the publish word and wakes whoever sleeps on it; a reader that waits for
// a change reads it, checks the generation, and sleeps only while it is unchanged. The futex is
// a shared one (the segment is mapped by several processes), and a read-only mapping can wait on
// it. None of this is on the evaluation path.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <ctime>

#include "flagd/layout.hpp"
#include "flagd/shared_access.hpp"

namespace flagd::change_signal {

inline constexpr std::size_t kOffset = offsetof(layout::SegmentPrefix, publish) + offsetof(layout::PublishLine, changes);

// The counter now. Acquire: a reader that sees a bump also sees the publish word stored before it.
inline std::uint32_t read(const std::byte* segment) noexcept {
  return shared::load_acquire<std::uint32_t>(segment + kOffset);
}

// The writer, after storing the publish word: one more change, and every waiter woken. The
// writer is alone (the daemon's lock), so a plain increment suffices.
inline void bump_and_wake(std::byte* segment) noexcept {
  std::byte* word = segment + kOffset;
  shared::store_release<std::uint32_t>(word, shared::load<std::uint32_t>(word) + 1);
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

// Sleeps while the counter is still `seen`, for at most `timeout`; returns at once if it is not.
// A signal or a spurious wake returns early: callers check again and wait for what is left.
inline void wait(const std::byte* segment, std::uint32_t seen, std::chrono::nanoseconds timeout) noexcept {
  if (timeout <= std::chrono::nanoseconds::zero()) return;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec relative{static_cast<std::time_t>(seconds.count()), static_cast<long>((timeout - seconds).count())};
  ::syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(segment + kOffset), FUTEX_WAIT, seen, &relative,
            nullptr, 0);
}

}  // namespace flagd::change_signal
