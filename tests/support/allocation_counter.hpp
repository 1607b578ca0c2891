// Test support: every allocation the process makes (operator new, malloc, calloc, realloc),
// counted. Linking allocation_counter.cpp into a test replaces the allocation functions (or,
// under a sanitizer, installs its allocation hook), so a test that links it counts them all.
#pragma once

#include <cstdint>

namespace flagd::test {

struct AllocationCount {
  std::uint64_t calls = 0;
  std::uint64_t bytes = 0;
};

// Since the process started.
AllocationCount allocations() noexcept;

// Past `total` bytes allocated since the process started, operator new fails (bad_alloc): a
// test of a cap on allocation then fails instead of exhausting the machine. Without a
// sanitizer only (a sanitizer's hook cannot refuse).
void limit_allocated_bytes(std::uint64_t total) noexcept;

}  // namespace flagd::test
