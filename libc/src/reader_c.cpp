// The C ABI of flagd/reader.h over the C++ reader. Nothing may throw across it: every call that
// can allocate catches, and evaluation calls are noexcept in C++ already.
#include "flagd/reader.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <type_traits>

#include "flagd/local_flags.hpp"
#include "flagd/reader.hpp"

struct flagd_reader {
  std::optional<flagd::LocalFlags> local;  // flags compiled in-process, or
  std::optional<flagd::Reader> mapped;     // a segment's reader
  flagd::Reader& reader() noexcept { return local ? local->reader() : *mapped; }
  const flagd::Reader& reader() const noexcept { return local ? local->reader() : *mapped; }
};

struct flagd_context {
  flagd::Context context;
};

namespace {

static_assert(sizeof(flagd::Handle) <= sizeof(flagd_handle) && std::is_trivially_copyable_v<flagd::Handle>);
static_assert(FLAGD_REASON_TARGETING_MATCH == static_cast<int>(flagd::Reason::TargetingMatch) &&
              FLAGD_REASON_ERROR == static_cast<int>(flagd::Reason::Error));
static_assert(FLAGD_ERROR_TYPE_MISMATCH == static_cast<int>(flagd::ErrorCode::TypeMismatch) &&
              FLAGD_ERROR_GENERAL == static_cast<int>(flagd::ErrorCode::General));

flagd_handle to_c(flagd::Handle h) noexcept {
  flagd_handle c{};
  std::memcpy(&c, &h, sizeof h);
  return c;
}

flagd::Handle from_c(flagd_handle c) noexcept {
  flagd::Handle h;
  std::memcpy(static_cast<void*>(&h), &c, sizeof h);
  return h;
}

const flagd::Context& context_of(const flagd_context* c) noexcept {
  static const flagd::Context empty;
  return c != nullptr ? c->context : empty;
}

// Copies `text` into `out` (NUL-terminated, cut to fit); its full length.
std::size_t copy_out(std::string_view text, char* out, std::size_t size) noexcept {
  if (out != nullptr && size > 0) {
    const std::size_t n = std::min(text.size(), size - 1);
    std::memcpy(out, text.data(), n);
    out[n] = '\0';
  }
  return text.size();
}

template <class T>
void fill(const flagd::Evaluation<T>& e, flagd_details* d) noexcept {
  if (d == nullptr) return;
  d->reason = static_cast<int>(e.reason);
  d->error = static_cast<int>(e.error);
  d->has_variant = e.has_variant ? 1 : 0;
  d->generation = e.generation;
  copy_out(e.variant, d->variant, sizeof d->variant);
}

// Each thread's buffers for string results: evaluations reuse them, and allocate only to grow.
std::string& scratch() noexcept {
  thread_local std::string buffer;
  return buffer;
}

template <class Make>
flagd_reader* make_reader(Make&& make, char* error, std::size_t error_size) noexcept {
  try {
    return make();
  } catch (const std::exception& e) {
    copy_out(e.what(), error, error_size);
  } catch (...) {
    copy_out("out of memory", error, error_size);
  }
  return nullptr;
}

template <class Set>
int set_attribute(flagd_context* context, const char* key, Set&& set) {
  if (context == nullptr || key == nullptr) return -1;
  try {
    set(context->context);
    return 0;
  } catch (...) {
    return -1;
  }
}

// A reader over what `made` holds (into `member`: local or mapped), or null with its error's message.
template <class Made, class Member>
flagd_reader* reader_from(Made made, Member flagd_reader::*member, char* error, size_t error_size) {
  if (!made) {
    copy_out(made.error().message, error, error_size);
    return nullptr;
  }
  auto* r = new flagd_reader;
  (r->*member).emplace(std::move(made).value());
  return r;
}

}  // namespace

extern "C" {

flagd_reader* flagd_attach(const char* segment, char* error, size_t error_size) {
  return make_reader(
      [&] {
        return reader_from(flagd::Reader::attach(segment != nullptr ? segment : flagd::kDefaultSegmentName),
                           &flagd_reader::mapped, error, error_size);
      },
      error, error_size);
}

flagd_reader* flagd_detached(const char* segment) {
  return make_reader(
      [&] {
        auto* r = new flagd_reader;
        r->mapped.emplace(flagd::Reader::detached(segment != nullptr ? segment : flagd::kDefaultSegmentName));
        return r;
      },
      nullptr, 0);
}

int flagd_try_attach(flagd_reader* reader, char* error, size_t error_size) {
  if (reader == nullptr || reader->local) return 0;
  try {
    if (const auto problem = reader->mapped->try_attach()) {
      copy_out(problem->message, error, error_size);
      return -1;
    }
    return 0;
  } catch (...) {
    copy_out("out of memory", error, error_size);
    return -1;
  }
}

flagd_reader* flagd_local_from_json(const char* json, char* error, size_t error_size) {
  return make_reader(
      [&] {
        return reader_from(flagd::LocalFlags::from_json(json != nullptr ? json : ""), &flagd_reader::local, error,
                           error_size);
      },
      error, error_size);
}

flagd_reader* flagd_local_from_file(const char* path, char* error, size_t error_size) {
  return make_reader(
      [&] {
        return reader_from(flagd::LocalFlags::from_files({path != nullptr ? path : ""}), &flagd_reader::local, error,
                           error_size);
      },
      error, error_size);
}

void flagd_close(flagd_reader* reader) { delete reader; }

flagd_handle flagd_resolve(flagd_reader* reader, const char* key) {
  if (reader == nullptr || key == nullptr) return to_c(flagd::Handle{});
  try {
    return to_c(reader->reader().resolve(key));
  } catch (...) {
    return to_c(flagd::Handle{});  // FLAG_NOT_FOUND: the callers' defaults
  }
}

uint64_t flagd_generation(const flagd_reader* reader) { return reader != nullptr ? reader->reader().generation() : 0; }

uint64_t flagd_wait_for_change(const flagd_reader* reader, uint64_t last_generation, uint64_t timeout_ms) {
  if (reader == nullptr) return 0;
  // Past a year the wait is as good as forever, and the nanoseconds cannot overflow.
  const std::uint64_t bounded = timeout_ms < 31'536'000'000ULL ? timeout_ms : 31'536'000'000ULL;
  return reader->reader().wait_for_change(last_generation, std::chrono::milliseconds(bounded));
}

int flagd_get_bool(const flagd_reader* reader, flagd_handle flag, const flagd_context* context, int fallback) {
  if (reader == nullptr) return fallback;
  return reader->reader().get_bool(from_c(flag), context_of(context), fallback != 0) ? 1 : 0;
}

int64_t flagd_get_int(const flagd_reader* reader, flagd_handle flag, const flagd_context* context, int64_t fallback) {
  return reader != nullptr ? reader->reader().get_int(from_c(flag), context_of(context), fallback) : fallback;
}

double flagd_get_double(const flagd_reader* reader, flagd_handle flag, const flagd_context* context, double fallback) {
  return reader != nullptr ? reader->reader().get_double(from_c(flag), context_of(context), fallback) : fallback;
}

size_t flagd_get_string(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                        const char* fallback, char* out, size_t out_size) {
  const std::string_view otherwise = fallback != nullptr ? fallback : "";
  if (reader == nullptr) return copy_out(otherwise, out, out_size);
  std::string& value = scratch();
  reader->reader().get_string(from_c(flag), context_of(context), otherwise, value);
  return copy_out(value, out, out_size);
}

size_t flagd_get_object(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                        const char* fallback_json, char* out, size_t out_size) {
  const std::string_view otherwise = fallback_json != nullptr ? fallback_json : "{}";
  if (reader == nullptr) return copy_out(otherwise, out, out_size);
  std::string& value = scratch();
  reader->reader().get_object(from_c(flag), context_of(context), otherwise, value);
  return copy_out(value, out, out_size);
}

int flagd_evaluate_bool(const flagd_reader* reader, flagd_handle flag, const flagd_context* context, int fallback,
                        flagd_details* details) {
  flagd::Evaluation<bool> e;
  e.value = fallback != 0;
  if (reader != nullptr) reader->reader().evaluate(from_c(flag), context_of(context), fallback != 0, e);
  fill(e, details);
  return e.value ? 1 : 0;
}

int64_t flagd_evaluate_int(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                           int64_t fallback, flagd_details* details) {
  flagd::Evaluation<std::int64_t> e;
  e.value = fallback;
  if (reader != nullptr) reader->reader().evaluate(from_c(flag), context_of(context), std::int64_t{fallback}, e);
  fill(e, details);
  return e.value;
}

double flagd_evaluate_double(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                             double fallback, flagd_details* details) {
  flagd::Evaluation<double> e;
  e.value = fallback;
  if (reader != nullptr) reader->reader().evaluate(from_c(flag), context_of(context), fallback, e);
  fill(e, details);
  return e.value;
}

size_t flagd_evaluate_string(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                             const char* fallback, char* out, size_t out_size, flagd_details* details) {
  const std::string_view otherwise = fallback != nullptr ? fallback : "";
  thread_local flagd::Evaluation<std::string> e;  // kept: its strings' memory serves the next call
  if (reader != nullptr) {
    reader->reader().evaluate(from_c(flag), context_of(context), otherwise, e);
  } else {
    e.reason = flagd::Reason::Error;
    e.error = flagd::ErrorCode::General;
    e.has_variant = false;
    e.generation = 0;
    e.variant.clear();
  }
  fill(e, details);
  return copy_out(reader != nullptr ? std::string_view(e.value) : otherwise, out, out_size);
}

size_t flagd_evaluate_object(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                             const char* fallback_json, char* out, size_t out_size, flagd_details* details) {
  const std::string_view otherwise = fallback_json != nullptr ? fallback_json : "{}";
  thread_local flagd::Evaluation<std::string> e;
  if (reader == nullptr) {
    e = flagd::Evaluation<std::string>{};
    e.error = flagd::ErrorCode::General;
    fill(e, details);
    return copy_out(otherwise, out, out_size);
  }
  reader->reader().evaluate_object(from_c(flag), context_of(context), otherwise, e);
  fill(e, details);
  return copy_out(e.value, out, out_size);
}

const char* flagd_reason_name(int reason) {
  if (reason < 0 || reason > FLAGD_REASON_ERROR) return "UNKNOWN";
  return flagd::to_string(static_cast<flagd::Reason>(reason)).data();
}

const char* flagd_error_name(int error) {
  if (error < 0 || error > FLAGD_ERROR_GENERAL) return "UNKNOWN";
  return flagd::to_string(static_cast<flagd::ErrorCode>(error)).data();
}

int flagd_set_override(flagd_reader* reader, const char* key, const char* value) {
  if (reader == nullptr || key == nullptr || value == nullptr) return -1;
  try {
    reader->reader().set_override(key, value);
    return 0;
  } catch (...) {
    return -1;
  }
}

void flagd_clear_overrides(flagd_reader* reader) {
  if (reader == nullptr) return;
  try {
    reader->reader().clear_overrides();
  } catch (...) {
  }
}

flagd_context* flagd_context_new(void) { return new (std::nothrow) flagd_context; }
void flagd_context_free(flagd_context* context) { delete context; }
void flagd_context_clear(flagd_context* context) {
  if (context != nullptr) context->context.clear();
}

int flagd_context_set_string(flagd_context* context, const char* key, const char* value) {
  if (value == nullptr) return -1;
  return set_attribute(context, key, [&](flagd::Context& c) { c.set(key, std::string_view(value)); });
}
int flagd_context_set_number(flagd_context* context, const char* key, double value) {
  return set_attribute(context, key, [&](flagd::Context& c) { c.set(key, value); });
}
int flagd_context_set_bool(flagd_context* context, const char* key, int value) {
  return set_attribute(context, key, [&](flagd::Context& c) { c.set(key, value != 0); });
}
int flagd_context_set_null(flagd_context* context, const char* key) {
  return set_attribute(context, key, [&](flagd::Context& c) { c.set_null(key); });
}
int flagd_context_set_targeting_key(flagd_context* context, const char* value) {
  if (value == nullptr) return -1;
  return set_attribute(context, "targetingKey", [&](flagd::Context& c) { c.set_targeting_key(value); });
}

}  // extern "C"
