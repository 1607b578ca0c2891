// Limits enforced when flag files are loaded. Each one bounds work or memory somewhere: in the
// loader, in the image, or in a reader copying a value out. A file over a limit is rejected with
// an error naming the limit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flagd::limits {

inline constexpr std::size_t kMaxFileBytes = 64u << 20;          // one flag file
inline constexpr std::size_t kMaxJsonDepth = 64;                  // nesting in a flag file
inline constexpr std::size_t kMaxFlagKeyBytes = 256;
inline constexpr std::size_t kMaxFlags = 1'000'000;               // stable indices per segment (< 2^24)
inline constexpr std::size_t kMaxVariants = 4096;                 // per flag (fits uint16 with a sentinel)
inline constexpr std::size_t kMaxStringBytes = 1u << 20;          // a string or object value
inline constexpr std::size_t kMaxMetadataEntries = 256;           // per flag or set
inline constexpr std::uint64_t kMaxImageBytes = 0xFFFF'0000ULL;   // offsets are 32-bit

// Diagnostics of one kind (severity and message template) a file lists; the rest are counted in
// one more diagnostic of that kind, so a load's report and its cost stay bounded.
inline constexpr std::size_t kMaxDiagnosticsPerKind = 100;

// A targeting rule, after $ref expansion.
inline constexpr std::size_t kMaxRuleNodes = 4096;
inline constexpr std::size_t kMaxRuleDepth = 48;  // operator nesting

// One evaluation of a targeting rule: the scratch its strings and arrays live in, and its work.
inline constexpr std::size_t kRuleTextScratch = 4096;    // bytes of strings
inline constexpr std::size_t kRuleValueScratch = 512;    // values (array elements, operands)
inline constexpr std::uint32_t kRuleStepBudget = 65536;  // nodes visited, elements scanned, 8-byte words of strings read
inline constexpr std::uint32_t kRuleEvalDepth = 64;

}  // namespace flagd::limits
