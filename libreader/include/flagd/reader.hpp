// flagd reader: evaluates feature flags from a segment published by the flagd daemon.
//
//   auto reader = flagd::Reader::attach("flagd");          // once, at start-up
//   if (!reader) { log(reader.error().message); ... }
//   flagd::Handle fast_path = reader->resolve("fast-path"); // once per flag
//   ...
//   if (reader->get_bool(fast_path, false)) { ... }         // hot loop: no syscall, lock or allocation
//
// Evaluation through a Handle never makes a syscall, never takes a lock, never allocates (string
// and object forms copy into a caller-owned std::string, which allocates only when its capacity is
// too small), never writes to the segment and never throws. A Handle keeps naming its flag across
// reloads; a flag removed by a reload evaluates as FLAG_NOT_FOUND with the caller's default.
//
// A Reader may be used from many threads at once. It must outlive the Handles it resolved.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "flagd/context.hpp"
#include "flagd/layout.hpp"
#include "flagd/result_codes.hpp"
#include "flagd/segment_name.hpp"
#include "flagd/shared_access.hpp"

namespace flagd {

enum class AttachErrorKind : std::uint8_t {
  InvalidName,     // the segment name is not allowed
  Missing,         // no segment of that name exists (no daemon has run yet)
  LayoutMismatch,  // formatted by a build with another layout version
  Unreadable,      // exists but cannot be opened or mapped, or its header is not a segment's
  Untrusted,       // not a file this reader trusts: a symlink, not a regular file, owned by an
                   // unexpected user, or writable by users other than its owner
};

// Who a reader trusts to have written the segment it maps. Whoever can write /dev/shm/NAME
// decides what the reader's process does, so attach maps only a regular file, reached without
// following a symbolic link, that no user but its owner may write, owned by a trusted user.
struct AttachOptions {
  // The daemon's user. Unset: the user the environment's FLAGD_SEGMENT_OWNER names (a name or
  // a uid), or else the user named "flagd" (the packaged daemon's, packaging/systemd/
  // flagd.sysusers) or this process's own effective user. Root is trusted either way: it can
  // write any file anyway, as a process's own user can write that process.
  std::optional<uid_t> owner;
};

struct AttachError {
  AttachErrorKind kind;
  std::string message;  // says which segment and why, e.g. both layout versions
};

// A value or an error, without exceptions (in the spirit of simdjson's simdjson_result).
template <class T, class E = AttachError>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}   // NOLINT
  explicit operator bool() const noexcept { return v_.index() == 0; }
  bool ok() const noexcept { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const E& error() const { return std::get<1>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }

 private:
  std::variant<T, E> v_;
};

// The full answer of an evaluation. T is bool, std::int64_t, double or std::string (string and
// object values; objects as compact JSON text).
template <class T>
struct Evaluation {
  T value{};
  // The variant's key; empty when has_variant is false. On TYPE_MISMATCH it names the variant whose
  // value did not fit the type asked for, as flagd does (the value is then the caller's default),
  // unless that key is empty, which OpenFeature reads on an error as no variant.
  std::string variant;
  bool has_variant = false;
  Reason reason = Reason::Error;
  ErrorCode error = ErrorCode::None;
  std::uint64_t generation = 0;  // the image the answer came from (0: no segment attached yet)
};

// A metadata value that is an object or an array (flagd passes them on), as compact JSON text.
struct MetadataJson {
  std::string text;
  bool operator==(const MetadataJson&) const = default;
};

struct MetadataValue {
  std::string key;
  std::variant<bool, std::string, double, MetadataJson> value;
};

// One flag of the current image, for listings.
struct FlagSummary {
  std::string key;
  layout::FlagState state;
  layout::ValueKind kind;
  std::optional<std::string> default_variant;
  std::vector<std::string> variants;
  // A hash of the flag's whole definition (state, variants and values, default, rules,
  // metadata): equal across two images if the flag did not change. 0 if the image has none.
  std::uint64_t fingerprint = 0;
};

// The flags of one image and its generation, read together (Reader::listing).
struct FlagListing {
  std::uint64_t generation = 0;
  std::vector<FlagSummary> flags;
};

// A flag that differs between two listings: added, removed, or changed in any part of its
// definition (its fingerprint).
struct FlagChange {
  enum class Kind : std::uint8_t { Added, Removed, Changed };
  std::string key;
  Kind kind;
  bool operator==(const FlagChange&) const = default;
};

// What changed from `before` to `after`, sorted by key. Between two listings of images that carry
// no fingerprints (0), a flag present in both counts as changed.
std::vector<FlagChange> changes_between(const FlagListing& before, const FlagListing& after);

// What the daemon last recorded in the segment, and the segment's own shape.
struct SegmentStatus {
  std::uint32_t layout_version = 0;
  std::uint64_t segment_bytes = 0;
  std::uint64_t slot_bytes = 0;
  std::uint64_t segment_id = 0;
  std::uint64_t created_unix_ns = 0;
  std::uint64_t image_generation = 0;   // the image readers see now
  std::uint64_t image_bytes = 0;
  std::uint64_t image_published_unix_ns = 0;
  std::uint32_t image_flag_count = 0;   // flags present in it
  std::string image_sha256;             // hex
  std::uint32_t daemon_pid = 0;
  bool daemon_running = false;          // as last recorded; a killed daemon cannot clear it
  std::uint64_t daemon_started_unix_ns = 0;
  std::uint64_t reloads_ok = 0;
  std::uint64_t reloads_failed = 0;
  std::uint64_t last_reload_unix_ns = 0;
  bool last_reload_ok = true;
  std::uint32_t expired_flags = 0;  // of the published image, when it was loaded (metadata "expires")
  std::string sources;     // one line per source (flagd/source_status.hpp decodes them)
  std::string last_error;  // of the last rejected load; empty if none
  // Of the published load: how many warnings (flags that break flagd's schema, loaded as flagd
  // loads them, among them), and the first, cut to fit.
  std::uint32_t load_warnings = 0;
  std::string first_warning;
  // The daemon's heartbeat (layout::HeartbeatLine): when it last beat (0: never), how often it
  // beats, and which process it is. A beat older than a few periods means the daemon is gone or
  // stuck, whatever daemon_running says.
  std::uint64_t heartbeat_unix_ns = 0;
  std::uint32_t heartbeat_period_ms = 0;
  std::uint32_t heartbeat_pid = 0;
  // How long before `now_unix_ns` (wall clock) the daemon last beat; none if it never did.
  std::optional<std::uint64_t> heartbeat_age_ns(std::uint64_t now_unix_ns) const noexcept {
    if (heartbeat_unix_ns == 0) return std::nullopt;
    return now_unix_ns > heartbeat_unix_ns ? now_unix_ns - heartbeat_unix_ns : 0;
  }
  // The daemon beat within three of its periods (and at least 3 s) before `now_unix_ns`: a
  // daemon busy or descheduled for a moment is still alive; one killed or stuck is not.
  bool daemon_alive(std::uint64_t now_unix_ns) const noexcept {
    const std::optional<std::uint64_t> age = heartbeat_age_ns(now_unix_ns);
    const std::uint64_t allowed = std::max<std::uint64_t>(3'000, std::uint64_t{3} * heartbeat_period_ms) * 1'000'000;
    return age && *age <= allowed;
  }
  // The daemon replaced this segment and the reader could not move to the new one (see
  // Reader::try_attach); it answers from the old segment's last image.
  bool superseded = false;
  uid_t owner_uid = 0;  // who owns the segment's file: the daemon's user, as attach checked
};

namespace detail {
inline constexpr std::uint32_t kUnresolved = 0xFFFF'FFFFu;
// A read retries only when the writer rewrote its slot during the read, which takes two
// publications; the bound keeps a reader from spinning on a writer gone mad.
inline constexpr int kMaxReadAttempts = 4096;

struct HandleEntry {
  std::atomic<std::uint32_t> index{kUnresolved};
  std::string key;
};

// The answer of a boolean flag `index` whose record's word 0 is `word0`, if it is enabled and its
// rule has a fast form (word 0 says so), from that form, inside a read the caller opened
// (get_bool) and validates afterwards: kTargetedFalse, kTargetedTrue, kTargetedFallback, or
// kTargetedUndecided (anything else: the general path decides). `slot`: the active slot's offset
// from `base`; `limit`: the mapping's size, which bounds reads; `context` may be null (empty).
inline constexpr std::uint64_t kTargetedUndecided = 0, kTargetedFalse = 1, kTargetedTrue = 3, kTargetedFallback = 5;
static_assert(layout::kTargetedNullFalse >> 2 == kTargetedFalse && layout::kTargetedNullTrue >> 2 == kTargetedTrue &&
              layout::kTargetedNullFallback >> 2 == kTargetedFallback);
std::uint64_t targeted_bool(const std::byte* base, std::uint64_t slot, std::uint64_t limit, std::uint32_t index,
                            std::uint64_t word0, const Context* context) noexcept;

struct Mapping {
  const std::byte* base;
  std::uint64_t segment_bytes;
  std::uint64_t slot_bytes;
  uid_t owner = 0;  // of the segment's file, as checked when it was mapped
};

// True if the daemon replaced the segment `m` maps (the publish word's superseded bit, layout.hpp).
inline bool superseded(const Mapping& m) noexcept {
  return layout::publish_superseded(shared::load_acquire<std::uint64_t>(m.base + offsetof(layout::SegmentPrefix, publish)));
}

extern const HandleEntry kNullHandleEntry;
struct Overrides;    // reader_overrides.cpp
struct Attachments;  // attach.cpp
}  // namespace detail

// A flag resolved by key, for evaluation without hashing or searching. Cheap to copy: it carries
// the flag's stable index itself, so the hot path does not look it up. A handle resolved before
// its flag existed carries no index; it finds the flag on its first evaluation after a reload
// adds it and then takes a slightly longer path than a freshly resolved handle.
class Handle {
 public:
  Handle() noexcept : index_(detail::kUnresolved), entry_(&detail::kNullHandleEntry) {}  // FLAG_NOT_FOUND
  std::string_view key() const noexcept { return entry_->key; }

 private:
  friend class Reader;
  Handle(std::uint32_t index, const detail::HandleEntry* entry) noexcept : index_(index), entry_(entry) {}
  std::uint32_t index_;
  const detail::HandleEntry* entry_;
};

class Reader {
 public:
  // Maps the named segment read-only. Errors (never exceptions): name not allowed, no such
  // segment, another layout version, unreadable.
  // Returns promptly whatever lies at the segment's path (a FIFO, a directory, a symlink).
  static Result<Reader> attach(std::string_view segment = kDefaultSegmentName, const AttachOptions& options = {});

  // A reader that answers with the callers' defaults (reason ERROR, FLAG_NOT_FOUND, generation 0)
  // until try_attach() succeeds. Evaluations cost the same before and after.
  static Reader detached(std::string_view segment = kDefaultSegmentName, const AttachOptions& options = {});

  // A reader over a segment held in this process's memory (8-aligned, formatted by
  // flagd::SegmentWriter), e.g. for evaluating a flag file without a daemon. `owner` keeps it alive.
  static Result<Reader> over_memory(std::shared_ptr<const void> owner, const std::byte* base,
                                    std::size_t bytes);

  Reader(Reader&& other) noexcept;
  Reader& operator=(Reader&& other) noexcept;
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader();

  // For a detached reader: maps the segment if it exists now. Safe while other threads evaluate.
  // Returns nullopt once attached.
  //
  // An attached reader follows its segment when the daemon replaces it (to grow it, or after it
  // was removed and recreated): the first evaluation off the inline path after the replacement
  // maps the new segment, with the same trust checks, and every Handle keeps its flag. Should the
  // new segment give some resolved key another index, the reader stays on the old image (which
  // keeps its last flags) and status().superseded says so.
  std::optional<AttachError> try_attach();
  bool attached() const noexcept;
  const std::string& segment_name() const noexcept { return segment_name_; }

  // Resolves a flag key once; the handle stays valid for the reader's life. Keys not (yet) in the
  // image resolve too: they evaluate as FLAG_NOT_FOUND until a reload adds them.
  Handle resolve(std::string_view key);

  // Typed evaluation through a handle: the value, or `fallback` where the rules give the caller's
  // default (disabled flag, no default variant, missing flag, type mismatch, a rule's error).
  // Targeting rules read `context`; the forms without one evaluate them on an empty context.
  bool get_bool(Handle flag, const Context& context, bool fallback) const noexcept;
  std::int64_t get_int(Handle flag, const Context& context, std::int64_t fallback) const noexcept;
  double get_double(Handle flag, const Context& context, double fallback) const noexcept;
  void get_string(Handle flag, const Context& context, std::string_view fallback, std::string& out) const noexcept;
  void get_object(Handle flag, const Context& context, std::string_view fallback_json, std::string& out) const noexcept;

  bool get_bool(Handle flag, bool fallback) const noexcept;
  std::int64_t get_int(Handle flag, std::int64_t fallback) const noexcept {  // numbers truncate toward 0
    return get_int(flag, empty_context(), fallback);
  }
  double get_double(Handle flag, double fallback) const noexcept { return get_double(flag, empty_context(), fallback); }
  void get_string(Handle flag, std::string_view fallback, std::string& out) const noexcept {
    get_string(flag, empty_context(), fallback, out);
  }
  std::string get_string(Handle flag, std::string_view fallback) const;
  void get_object(Handle flag, std::string_view fallback_json, std::string& out) const noexcept {
    get_object(flag, empty_context(), fallback_json, out);
  }

  // The detailed forms: value, variant, reason, error code and generation.
  void evaluate(Handle flag, const Context& context, bool fallback, Evaluation<bool>& out) const noexcept;
  void evaluate(Handle flag, const Context& context, std::int64_t fallback, Evaluation<std::int64_t>& out) const noexcept;
  void evaluate(Handle flag, const Context& context, double fallback, Evaluation<double>& out) const noexcept;
  void evaluate(Handle flag, const Context& context, std::string_view fallback, Evaluation<std::string>& out) const noexcept;
  void evaluate_object(Handle flag, const Context& context, std::string_view fallback_json,
                       Evaluation<std::string>& out) const noexcept;

  void evaluate(Handle flag, bool fallback, Evaluation<bool>& out) const noexcept {
    evaluate(flag, empty_context(), fallback, out);
  }
  void evaluate(Handle flag, std::int64_t fallback, Evaluation<std::int64_t>& out) const noexcept {
    evaluate(flag, empty_context(), fallback, out);
  }
  void evaluate(Handle flag, double fallback, Evaluation<double>& out) const noexcept {
    evaluate(flag, empty_context(), fallback, out);
  }
  void evaluate(Handle flag, std::string_view fallback, Evaluation<std::string>& out) const noexcept {
    evaluate(flag, empty_context(), fallback, out);
  }
  void evaluate_object(Handle flag, std::string_view fallback_json, Evaluation<std::string>& out) const noexcept {
    evaluate_object(flag, empty_context(), fallback_json, out);
  }

  // Convenience by key: hashes the key and probes the image's key table on every call, so it is
  // several times slower than a handle. Resolve once and keep the handle on hot paths.
  bool get_bool(std::string_view key, bool fallback) const noexcept;
  std::int64_t get_int(std::string_view key, std::int64_t fallback) const noexcept;
  double get_double(std::string_view key, double fallback) const noexcept;
  void get_string(std::string_view key, std::string_view fallback, std::string& out) const noexcept;
  void evaluate(std::string_view key, bool fallback, Evaluation<bool>& out) const noexcept;

  // Generation of the image readers see now; cheap enough to poll for changes (one guarded read
  // of shared memory, no syscall): a change since the last poll means a publication.
  std::uint64_t generation() const noexcept;

  // Waits, without polling, until the generation is past `last_generation` or `timeout` has
  // passed, and returns the generation then (equal to `last_generation` on a timeout). The
  // daemon wakes waiters at each publication (a futex on the segment, change_signal.hpp); the
  // evaluation path pays nothing for it. For a thread of its own that reacts to changes, never
  // for the hot path: it sleeps. A reader not attached yet waits out the timeout (attach first).
  //
  //   for (std::uint64_t seen = reader.generation();;) {
  //     seen = reader.wait_for_change(seen, std::chrono::seconds(10));
  //     ...  // reload what depends on the flags; changes_between() says which changed
  //   }
  std::uint64_t wait_for_change(std::uint64_t last_generation, std::chrono::nanoseconds timeout) const noexcept;

  // Several flags read from one image: runs `reads` (evaluations through this reader), and again
  // if a publication happened while it ran, so that every value it read comes from one
  // generation. False only if the writer kept publishing through a bounded number of runs; the
  // values are then the last run's, which may mix two images. Costs two generation() reads more
  // than the evaluations; `reads` must be safe to run more than once.
  //
  //   std::int64_t qty; bool halted;
  //   reader.read_together([&] { qty = reader.get_int(max_qty, 0); halted = reader.get_bool(halt, true); });
  template <class Reads>
  bool read_together(Reads&& reads) const {
    for (int attempt = 0; attempt < detail::kMaxReadAttempts; ++attempt) {
      const std::uint64_t before = generation();
      reads();
      // Generations only grow: the same number after as before means no publication between,
      // so every evaluation in between read the image `before` names.
      if (generation() == before) return true;
    }
    return false;
  }

  // Overrides, for tests and local runs: flag `key` answers `value` whatever its state and
  // rules. `value` names one of the flag's variants (its value, variant and reason STATIC), or
  // else is read as the type asked for: "true" or "false", a number, any text as a string, a
  // JSON object's text as an object (another type: TYPE_MISMATCH). A flag the image lacks can
  // be overridden by value. Overrides apply to evaluations that start after the call, from any
  // thread; they are not for hot paths (they allocate, and while any is set every evaluation
  // takes the general path). With none set, the inline path runs the code it did (it does not
  // look for them) and the other forms read one pointer more.
  //
  // The environment's are read once, when the reader is created: FLAGD_OVERRIDE_<NAME>, where
  // NAME is the flag key with ASCII letters upper-cased and every character other than a letter
  // or a digit replaced by '_' (override_variable() spells it). One variable serves every key
  // that spells the same NAME. An override set here takes precedence over the environment's.
  void set_override(std::string_view key, std::string_view value);
  void clear_override(std::string_view key);  // one set by set_override
  void clear_overrides();                      // all, the environment's included
  static std::string override_variable(std::string_view key);  // "FLAGD_OVERRIDE_NEW_CHECKOUT"

  // Not for hot paths: these allocate.
  bool metadata(Handle flag, std::vector<MetadataValue>& out) const;  // false if not found
  // The type of the flag's variants (Mixed: of several types); none if it is not found.
  std::optional<layout::ValueKind> kind(Handle flag) const;
  std::optional<layout::ValueKind> kind(std::string_view key) const;  // without resolving a handle
  std::vector<FlagSummary> list() const;
  FlagListing listing() const;  // list() and the generation it was read from
  SegmentStatus status() const;

 private:
  enum class Want : std::uint8_t { Bool, Int, Double, String, Object };
  struct Raw;

  Reader(std::string segment_name, const detail::Mapping* mapping);
  // The mapping the general path reads, after moving to the new segment if this one was
  // superseded: the check is one load of the publish word, which the read then uses anyway.
  const detail::Mapping& mapping() const noexcept {
    const detail::Mapping* m = mapping_.load(std::memory_order_acquire);
    if (detail::superseded(*m)) [[unlikely]] return follow_replacement(*m);
    return *m;
  }
  // Maps the segment that replaced `old`, if this thread can without waiting; the mapping to use.
  const detail::Mapping& follow_replacement(const detail::Mapping& old) const noexcept;
  std::uint32_t index_of(Handle flag) const noexcept {
    return flag.index_ != detail::kUnresolved ? flag.index_ : index_of_late(flag);
  }
  std::uint32_t index_of_late(Handle flag) const noexcept;
  std::uint32_t lookup(std::string_view key) const noexcept;
  std::optional<layout::ValueKind> kind_at(std::uint32_t index) const;
  // The general path: one consistent read decides the flag's answer; `override_text`, if not
  // null, before the flag's state and rules.
  void evaluate_index(std::uint32_t index, const std::string* override_text, Want want, const Context& context,
                      std::string* text, Raw& raw) const noexcept;
  // An override's value, read as `want` (no variant of the flag has its name).
  static bool override_value(const std::string& value, Want want, std::string* text, Raw& raw) noexcept;
  // The override of a flag, or null: one load when none is set (the handle's key is read only
  // when some is).
  const std::string* override_for(std::string_view key) const noexcept {
    const detail::Overrides* o = overrides_.load(std::memory_order_acquire);
    return o == nullptr ? nullptr : find_override(*o, key);
  }
  const std::string* override_for(Handle flag) const noexcept {
    const detail::Overrides* o = overrides_.load(std::memory_order_acquire);
    return o == nullptr ? nullptr : find_override(*o, flag.key());
  }
  static const std::string* find_override(const detail::Overrides& overrides, std::string_view key) noexcept;
  void publish_overrides(std::unique_ptr<detail::Overrides> next);
  bool overridden() const noexcept { return overrides_.load(std::memory_order_relaxed) != nullptr; }
  static const Context& empty_context() noexcept;
  template <class T, class Fallback>
  void finish(const Raw& raw, Fallback fallback, Evaluation<T>& out) const noexcept;
  bool slow_bool(Handle flag, const Context& context, bool fallback) const noexcept;
  // get_bool, inline: a static flag's answer from its record, a targeted flag's from its rule's
  // fast form, in one read; anything else through slow_bool. `context` may be null (empty).
  bool hot_bool(Handle flag, const Context* context, bool fallback) const noexcept;

  // Sets the mapping every evaluation reads (at construction, on attach, on following a
  // replacement). Const: following happens inside evaluations.
  void use_mapping(const detail::Mapping* mapping) const noexcept;

  std::string segment_name_;
  // Changed only by use_mapping(), under resolve_mutex_.
  mutable std::atomic<const detail::Mapping*> mapping_;
  // The inline hot path reads these two words of the Reader itself instead of following
  // mapping_: one dependent load fewer per evaluation. use_mapping() keeps them in step.
  mutable std::atomic<const std::byte*> hot_base_;
  mutable std::atomic<std::uint64_t> hot_limit_;
  // Every segment this reader mapped (none is unmapped before the reader: an evaluation on
  // another thread may still read a superseded one), and whom it trusts to own them.
  std::unique_ptr<detail::Attachments> attachments_;
  std::unique_ptr<std::mutex> resolve_mutex_;
  std::unique_ptr<std::deque<detail::HandleEntry>> handles_;
  // The overrides in force (null: none), and every table ever published: an evaluation on
  // another thread may still be reading a replaced one, so none is freed before the reader.
  std::atomic<const detail::Overrides*> overrides_{nullptr};
  std::unique_ptr<std::vector<std::unique_ptr<detail::Overrides>>> override_tables_;
};

// ---------------------------------------------------------------------------------------------
// The inline hot path: a static boolean flag (enabled, no targeting, a default variant) answered
// from one word of its record inside one seqlock read, and a boolean flag with targeting from its
// rule's fast form inside the same read. Everything else takes the general path.

inline bool Reader::hot_bool(Handle flag, const Context* context, bool fallback) const noexcept {
  using namespace layout;
  // Limit before base: a limit from the new mapping guarantees the base is from it too.
  const std::uint64_t limit = hot_limit_.load(std::memory_order_acquire);
  const std::byte* const base = hot_base_.load(std::memory_order_relaxed);
  const std::uint32_t index = flag.index_;
  const std::uint64_t publish = shared::load_acquire<std::uint64_t>(base + offsetof(SegmentPrefix, publish));
  const std::byte* sequence = base + offsetof(SegmentPrefix, sequence) + (publish & kPublishSlotBit);
  const std::uint64_t record = publish_offset(publish) + kRecordsOffset + std::uint64_t{index} * sizeof(FlagRecord);
  // Conditions are combined without short-circuits so the fast path is one straight line.
  if ((index < publish_flag_count(publish)) & (record + sizeof(FlagRecord) <= limit)) [[likely]] {
    const std::uint64_t before = shared::load_acquire<std::uint64_t>(sequence);
    const std::uint64_t word0 = shared::load<std::uint64_t>(base + record);
    // The counter only grows, so after == (before with bit 0 clear) means: even and unchanged.
    const auto unchanged = [&] {
      shared::acquire_fence();
      return (before & ~std::uint64_t{1}) == shared::load<std::uint64_t>(sequence);
    };
    const std::uint64_t stored = word0_static_bool(word0);  // bit 0: a static answer, bit 1: it
    if ((stored & 1) != 0) [[likely]] {
      if (unchanged()) [[likely]] return (stored >> 1) != 0;
    } else {
      const std::uint64_t answer = detail::targeted_bool(base, publish_offset(publish), limit, index, word0, context);
      if (unchanged() & ((answer & 1) != 0)) [[likely]]
        return answer == detail::kTargetedFallback ? fallback : (answer >> 1) != 0;
    }
  }
  return slow_bool(flag, context != nullptr ? *context : empty_context(), fallback);
}

inline bool Reader::get_bool(Handle flag, bool fallback) const noexcept { return hot_bool(flag, nullptr, fallback); }

inline bool Reader::get_bool(Handle flag, const Context& context, bool fallback) const noexcept {
  return hot_bool(flag, &context, fallback);
}

}  // namespace flagd
