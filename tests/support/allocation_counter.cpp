// Counting allocations: sanitizers own malloc and operator new and report every allocation to
// a hook instead (its declaration is the sanitizer runtime's: GCC ships the runtime, not this
// header); otherwise the global allocation functions are replaced with counting ones.
#include "allocation_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<std::uint64_t> g_calls{0};
std::atomic<std::uint64_t> g_bytes{0};
std::atomic<std::uint64_t> g_byte_limit{~std::uint64_t{0}};

void count(std::size_t n) noexcept {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace

namespace flagd::test {

AllocationCount allocations() noexcept {
  return {g_calls.load(std::memory_order_relaxed), g_bytes.load(std::memory_order_relaxed)};
}

void limit_allocated_bytes(std::uint64_t total) noexcept { g_byte_limit.store(total, std::memory_order_relaxed); }

}  // namespace flagd::test

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, std::size_t),
                                                        void (*)(const volatile void*));
namespace {
void count_allocation(const volatile void*, std::size_t n) { count(n); }
void ignore_free(const volatile void*) {}
const int g_hooks_installed = __sanitizer_install_malloc_and_free_hooks(count_allocation, ignore_free);
}  // namespace
#else
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void __libc_free(void*);
}

namespace {
// Operator new takes from libc's malloc directly, so that one allocation is counted once.
void* counted_new(std::size_t n) noexcept {
  count(n);
  if (g_bytes.load(std::memory_order_relaxed) > g_byte_limit.load(std::memory_order_relaxed)) return nullptr;
  return __libc_malloc(n ? n : 1);
}
}  // namespace

// These operators are the pair: new takes from malloc, delete gives back to free (GCC, seeing
// the standard operator new, would call that a mismatch).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (void* p = counted_new(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_new(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_new(n); }
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { __libc_free(p); }

extern "C" {
void* malloc(std::size_t n) {
  count(n);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  count(n * size);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  count(n);
  return __libc_realloc(p, n);
}
}
#endif
