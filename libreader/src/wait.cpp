// Waiting for a publication (Reader::wait_for_change) and telling what it changed.
#include <algorithm>
#include <map>

#include "flagd/change_signal.hpp"
#include "flagd/reader.hpp"

namespace flagd {

std::uint64_t Reader::wait_for_change(std::uint64_t last_generation, std::chrono::nanoseconds timeout) const noexcept {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // The counter before the generation: a publication after this read changes the counter, so
    // the wait below returns at once instead of sleeping through it.
    const detail::Mapping& m = mapping();
    const std::uint32_t seen = change_signal::read(m.base);
    const std::uint64_t now = generation();
    if (now > last_generation) return now;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) return now;
    change_signal::wait(m.base, seen, std::chrono::duration_cast<std::chrono::nanoseconds>(left));
  }
}

std::vector<FlagChange> changes_between(const FlagListing& before, const FlagListing& after) {
  std::map<std::string_view, const FlagSummary*> old;
  for (const FlagSummary& f : before.flags) old.emplace(f.key, &f);
  std::vector<FlagChange> changes;
  for (const FlagSummary& f : after.flags) {
    const auto it = old.find(f.key);
    if (it == old.end()) {
      changes.push_back({f.key, FlagChange::Kind::Added});
      continue;
    }
    const std::uint64_t was = it->second->fingerprint;
    if (was == 0 || f.fingerprint == 0 || was != f.fingerprint) changes.push_back({f.key, FlagChange::Kind::Changed});
    old.erase(it);
  }
  for (const auto& [key, flag] : old) changes.push_back({std::string(key), FlagChange::Kind::Removed});
  std::sort(changes.begin(), changes.end(), [](const FlagChange& a, const FlagChange& b) { return a.key < b.key; });
  return changes;
}

}  // namespace flagd
