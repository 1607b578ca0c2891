// Word-wise access to memory shared with another process.
//
// Both sides touch the segment only through these functions. Every access is a std::atomic_ref
// operation on an aligned 8-, 4-, 2- or 1-byte word (each lock-free on the targets built for), so a reader racing the writer is not a data race
// in the C++ memory model (a plain memcpy of shared data would be). The seqlock protocol built on
// them is: writer - sequence odd, release fence, relaxed data stores, sequence even with release;
// reader - sequence with acquire, relaxed data loads, acquire fence, sequence again (Boehm 2012).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace flagd::shared {

// ThreadSanitizer does not model standalone fences (GCC refuses them under -fsanitize=thread).
// Under it, data accesses carry the ordering themselves: loads acquire, stores release, which is
// the same seqlock argument without fences (and the same instructions on x86). Everywhere else,
// relaxed accesses and explicit fences.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kOrderingOnAccesses = true;
#else
inline constexpr bool kOrderingOnAccesses = false;
#endif
inline constexpr std::memory_order kDataLoad =
    kOrderingOnAccesses ? std::memory_order_acquire : std::memory_order_relaxed;
inline constexpr std::memory_order kDataStore =
    kOrderingOnAccesses ? std::memory_order_release : std::memory_order_relaxed;

template <class Word>
inline Word load(const std::byte* p) noexcept {
  static_assert(std::atomic_ref<Word>::is_always_lock_free);
  // atomic_ref needs a non-const referent; loads never write through it.
  return std::atomic_ref<Word>(*reinterpret_cast<Word*>(const_cast<std::byte*>(p))).load(kDataLoad);
}

template <class Word>
inline Word load_acquire(const std::byte* p) noexcept {
  return std::atomic_ref<Word>(*reinterpret_cast<Word*>(const_cast<std::byte*>(p)))
      .load(std::memory_order_acquire);
}

template <class Word>
inline void store(std::byte* p, Word value) noexcept {
  std::atomic_ref<Word>(*reinterpret_cast<Word*>(p)).store(value, kDataStore);
}

template <class Word>
inline void store_release(std::byte* p, Word value) noexcept {
  std::atomic_ref<Word>(*reinterpret_cast<Word*>(p)).store(value, std::memory_order_release);
}

// Copies `bytes` (a multiple of 8, both sides 8-aligned) from shared memory, word by word.
inline void copy_out(void* dst, const std::byte* src, std::size_t bytes) noexcept {
  auto* d = static_cast<std::byte*>(dst);
  for (std::size_t i = 0; i < bytes; i += 8) {
    const std::uint64_t w = load<std::uint64_t>(src + i);
    std::memcpy(d + i, &w, 8);
  }
}

// Copies `bytes` (any length) from an 8-aligned shared source into private memory.
inline void copy_out_bytes(char* dst, const std::byte* src, std::size_t bytes) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    const std::uint64_t w = load<std::uint64_t>(src + i);
    std::memcpy(dst + i, &w, 8);
  }
  if (i < bytes) {
    const std::uint64_t w = load<std::uint64_t>(src + i);  // strings are zero-padded to 8
    std::memcpy(dst + i, &w, bytes - i);
  }
}

// Copies `bytes` (a multiple of 8, both sides 8-aligned) into shared memory, word by word.
inline void copy_in(std::byte* dst, const void* src, std::size_t bytes) noexcept {
  const auto* s = static_cast<const std::byte*>(src);
  for (std::size_t i = 0; i < bytes; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s + i, 8);
    store<std::uint64_t>(dst + i, w);
  }
}

inline void acquire_fence() noexcept {
  if constexpr (!kOrderingOnAccesses) std::atomic_thread_fence(std::memory_order_acquire);
}
inline void release_fence() noexcept {
  if constexpr (!kOrderingOnAccesses) std::atomic_thread_fence(std::memory_order_release);
}

}  // namespace flagd::shared
