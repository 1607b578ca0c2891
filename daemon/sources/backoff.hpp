// Delays between attempts of a remote source: exponential backoff with jitter after failures,
// and a jittered interval between polls, so that a fleet of daemons restarted together
// (or all failing on one outage) does not hit its server in step.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace flagd {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds longest)
      : initial_(std::max(initial, std::chrono::milliseconds(1))), longest_(std::max(longest, initial_)),
        random_(std::random_device{}()) {}

  // The delay before the next attempt after a failure: uniform in [ceiling/2, ceiling], the
  // ceiling doubling with each failure in a row up to the longest delay.
  std::chrono::milliseconds after_failure() {
    const std::chrono::milliseconds ceiling =
        std::min(longest_, initial_ * (std::int64_t{1} << std::min<std::uint32_t>(failures_, 30)));
    ++failures_;
    return uniform(ceiling / 2, ceiling);
  }
  void succeeded() noexcept { failures_ = 0; }
  std::uint32_t failures() const noexcept { return failures_; }

  // The wait before the next poll. The first is uniform over the whole interval, so that hosts
  // started together (a fleet's deploy, a rack's power-up) each take a phase of their own at
  // once, rather than drifting apart over hundreds of polls; later ones are jittered down to 10%
  // shorter, which keeps the phases from locking to one another again, and never longer: a
  // change at the origin reaches every host within one interval.
  std::chrono::milliseconds poll(std::chrono::milliseconds interval) {
    if (!phased_) {
      phased_ = true;
      return uniform(std::chrono::milliseconds(1), interval);
    }
    return uniform(interval * 9 / 10, interval);
  }

 private:
  std::chrono::milliseconds uniform(std::chrono::milliseconds low, std::chrono::milliseconds high) {
    std::uniform_int_distribution<std::int64_t> pick(low.count(), std::max(low.count(), high.count()));
    return std::chrono::milliseconds(pick(random_));
  }

  std::chrono::milliseconds initial_, longest_;
  std::uint32_t failures_ = 0;
  bool phased_ = false;
  std::mt19937_64 random_;
};

}  // namespace flagd
