// Attaching a Reader to a segment: mapping it read-only and checking that its header describes a
// segment of this build's layout before anything else is read.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "flagd/reader.hpp"
#include "image_read.hpp"
#include "overrides.hpp"
#include "segment_file.hpp"

namespace flagd {

using layout::SegmentHeader;
using layout::SegmentPrefix;

namespace detail {
const HandleEntry kNullHandleEntry{};

struct Attachments {
  // How long a reader that could not follow a replacement waits before it tries again, doubled
  // after each failure up to kFollowRetryMax: each try makes syscalls inside an evaluation.
  static constexpr std::chrono::milliseconds kFollowRetry{100};
  static constexpr std::chrono::milliseconds kFollowRetryMax{10'000};

  std::vector<uid_t> owners;  // trusted to own the segment (trusted_owners)
  struct Attached {
    std::shared_ptr<const void> owner;  // keeps the memory alive
    std::unique_ptr<Mapping> mapping;
  };
  std::vector<Attached> all;  // every mapping this reader used, the current one last
  // The largest bound an evaluation may still hold (hot_limit_ of any mapping used): every new
  // mapping is readable that far, since an evaluation may pair such a bound with its base.
  std::uint64_t largest_limit = 0;
  std::chrono::steady_clock::time_point next_follow{};  // after a failed try to follow
  std::chrono::milliseconds follow_backoff = kFollowRetry;
};
}  // namespace detail

namespace {

AttachError error(AttachErrorKind kind, std::string message) {
  return AttachError{kind, std::move(message)};
}

// Checks the header of a segment of `bytes` bytes at `base` and describes it as a Mapping.
Result<detail::Mapping> describe(std::string_view name, const std::byte* base, std::uint64_t bytes) {
  const std::string where = "segment '" + std::string(name) + "'";
  if (bytes < sizeof(SegmentPrefix))
    return error(AttachErrorKind::Unreadable,
                 where + " is " + std::to_string(bytes) + " bytes, smaller than a segment header");
  // The writer stores the magic last, with release: once it is seen, the rest of the header is.
  const auto magic = shared::load_acquire<std::uint64_t>(base + offsetof(SegmentHeader, magic));
  if (magic == 0)
    return error(AttachErrorKind::Missing, where + " is still being created by its daemon");
  if (magic != layout::kSegmentMagic)
    return error(AttachErrorKind::Unreadable, where + " is not a flagd segment (bad magic number)");
  const auto version = shared::load<std::uint32_t>(base + offsetof(SegmentHeader, layout_version));
  const auto header_bytes = shared::load<std::uint32_t>(base + offsetof(SegmentHeader, header_bytes));
  if (version != layout::kLayoutVersion || header_bytes != sizeof(SegmentHeader))
    return error(AttachErrorKind::LayoutMismatch,
                 where + " has layout version " + std::to_string(version) +
                     " but this reader was built for layout version " +
                     std::to_string(layout::kLayoutVersion));
  detail::Mapping m{};
  m.base = base;
  m.segment_bytes = shared::load<std::uint64_t>(base + offsetof(SegmentHeader, segment_bytes));
  m.slot_bytes = shared::load<std::uint64_t>(base + offsetof(SegmentHeader, slot_bytes));
  bool sane = m.segment_bytes <= bytes && m.slot_bytes >= sizeof(layout::ImageHeader) &&
              m.slot_bytes % 8 == 0;
  for (std::uint32_t i = 0; sane && i < layout::kSlotCount; ++i) {
    const auto offset = shared::load<std::uint64_t>(base + offsetof(SegmentHeader, slot_offset) + 8 * i);
    sane = offset >= layout::kSlotsOffset && offset % layout::kSlotAlignment == 0 && offset <= m.segment_bytes &&
           m.slot_bytes <= m.segment_bytes - offset;
  }
  if (!sane)
    return error(AttachErrorKind::Unreadable,
                 where + " has a header whose sizes do not fit its " + std::to_string(bytes) +
                     " bytes");
  return m;
}

// A process-local segment holding one empty image of generation 0: what a detached reader reads,
// so that it runs exactly the code an attached one runs.
struct EmptySegment {
  alignas(4096) std::byte bytes[layout::kSlotsOffset + 2 * sizeof(layout::ImageHeader)]{};
  EmptySegment() {
    SegmentHeader h{};
    h.magic = layout::kSegmentMagic;
    h.layout_version = layout::kLayoutVersion;
    h.header_bytes = sizeof(SegmentHeader);
    h.segment_bytes = sizeof(bytes);
    h.slot_bytes = sizeof(layout::ImageHeader);
    h.slot_offset[0] = layout::kSlotsOffset;
    h.slot_offset[1] = layout::kSlotsOffset + sizeof(layout::ImageHeader);
    std::memcpy(bytes, &h, sizeof h);
    const std::uint64_t active = layout::pack_publish_word(0, h.slot_offset[0], 0);
    std::memcpy(bytes + offsetof(SegmentPrefix, publish), &active, sizeof active);
  }
};

const detail::Mapping* empty_mapping() {
  static const EmptySegment segment;
  static const detail::Mapping mapping = [] {
    auto m = describe("(none)", segment.bytes, sizeof(segment.bytes));
    return m.value();
  }();
  return &mapping;
}

}  // namespace

void Reader::use_mapping(const detail::Mapping* mapping) const noexcept {
  // A growing limit is published after its base: a reader that sees the new limit sees the new
  // base; one that sees the old (smaller) limit is within bounds with either base.
  hot_limit_.store(0, std::memory_order_release);
  mapping_.store(mapping, std::memory_order_release);
  hot_base_.store(mapping->base, std::memory_order_release);
  // While overrides are set the inline path stays closed (publish_overrides).
  if (!overridden()) hot_limit_.store(mapping->segment_bytes, std::memory_order_release);
}

Reader::Reader(std::string segment_name, const detail::Mapping* mapping)
    : segment_name_(std::move(segment_name)),
      mapping_(mapping),
      hot_base_(mapping->base),
      hot_limit_(mapping->segment_bytes),
      attachments_(std::make_unique<detail::Attachments>()),
      resolve_mutex_(std::make_unique<std::mutex>()),
      handles_(std::make_unique<std::deque<detail::HandleEntry>>()),
      override_tables_(std::make_unique<std::vector<std::unique_ptr<detail::Overrides>>>()) {
  auto from_environment = std::make_unique<detail::Overrides>();
  from_environment->by_name = detail::environment_overrides();
  publish_overrides(std::move(from_environment));
}

Reader::Reader(Reader&& other) noexcept
    : segment_name_(std::move(other.segment_name_)),
      mapping_(other.mapping_.load()),
      hot_base_(other.hot_base_.load()),
      hot_limit_(other.hot_limit_.load()),
      attachments_(std::move(other.attachments_)),
      resolve_mutex_(std::move(other.resolve_mutex_)),
      handles_(std::move(other.handles_)),
      overrides_(other.overrides_.exchange(nullptr)),
      override_tables_(std::move(other.override_tables_)) {
  other.use_mapping(empty_mapping());
}

Reader& Reader::operator=(Reader&& other) noexcept {
  if (this != &other) {
    segment_name_ = std::move(other.segment_name_);
    use_mapping(other.mapping_.load());
    attachments_ = std::move(other.attachments_);
    resolve_mutex_ = std::move(other.resolve_mutex_);
    handles_ = std::move(other.handles_);
    overrides_.store(other.overrides_.exchange(nullptr));
    override_tables_ = std::move(other.override_tables_);
    use_mapping(mapping_.load());  // the inline path's bound, for this reader's overrides
    other.use_mapping(empty_mapping());
  }
  return *this;
}

Reader::~Reader() = default;

Result<Reader> Reader::attach(std::string_view segment, const AttachOptions& options) {
  Reader reader = detached(segment, options);
  if (auto problem = reader.try_attach()) return std::move(*problem);
  return reader;
}

Reader Reader::detached(std::string_view segment, const AttachOptions& options) {
  Reader reader(std::string(segment), empty_mapping());
  reader.attachments_->owners = detail::trusted_owners(options);
  return reader;
}

Result<Reader> Reader::over_memory(std::shared_ptr<const void> owner, const std::byte* base,
                                   std::size_t bytes) {
  if (reinterpret_cast<std::uintptr_t>(base) % layout::kCacheLine != 0)
    return error(AttachErrorKind::Unreadable, "an in-memory segment must be 64-byte aligned");
  auto described = describe("(in memory)", base, bytes);
  if (!described) return described.error();
  Reader reader("(in memory)", empty_mapping());
  auto& attached = reader.attachments_->all.emplace_back();
  attached.owner = std::move(owner);
  attached.mapping = std::make_unique<detail::Mapping>(described.value());
  attached.mapping->owner = ::geteuid();  // this process's own memory
  reader.use_mapping(attached.mapping.get());
  return reader;
}

namespace {

// Maps segment `name` and checks its header; `min_extent` bytes of it readable at least.
Result<detail::Attachments::Attached> map_segment(std::string_view name, const std::vector<uid_t>& owners,
                                                  std::uint64_t min_extent) {
  if (auto problem = segment_name_problem(name); !problem.empty())
    return error(AttachErrorKind::InvalidName, problem);
  try {
    auto file = detail::open_segment_file(name, owners, min_extent);
    if (!file) return file.error();
    auto described = describe(name, file.value()->base(), file.value()->file_bytes());
    if (!described) return described.error();
    described.value().owner = file.value()->owner();
    return detail::Attachments::Attached{std::move(file.value()), std::make_unique<detail::Mapping>(described.value())};
  } catch (const std::exception& e) {
    return error(AttachErrorKind::Unreadable, "segment '" + std::string(name) + "': " + e.what());
  }
}

// True if record `index` of `m`'s image holds `key`.
bool names(const detail::Mapping& m, std::uint32_t index, const std::string& key) {
  bool same = false;
  const auto result = detail::read_section(m, [&](const detail::SlotView& slot) {
    const std::byte* record = detail::record_at(slot, index);
    same = record != nullptr &&
           detail::string_equals(
               slot, layout::unpack_string_ref(shared::load<std::uint64_t>(record + offsetof(layout::FlagRecord, key))), key);
    return true;
  });
  return result == detail::SectionResult::Ok && same;
}

// True if every index a handle holds or can still learn from `old` (whose image a superseded
// segment no longer changes) names the same key in `next`: a Handle carries its index, and an
// evaluation still on the old mapping may look a late handle up there and store what it finds.
bool keeps_indices(const detail::Mapping& old, const detail::Mapping& next, const std::deque<detail::HandleEntry>& handles) {
  for (const auto& entry : handles) {
    std::uint32_t index = entry.index.load(std::memory_order_acquire);
    if (index == detail::kUnresolved) index = detail::key_index(old, entry.key);
    if (index != detail::kUnresolved && !names(next, index, entry.key)) return false;
  }
  return true;
}

}  // namespace

std::optional<AttachError> Reader::try_attach() {
  std::lock_guard lock(*resolve_mutex_);
  if (!attachments_->all.empty()) return std::nullopt;
  // A detached reader's evaluations may still hold the empty image's bound.
  attachments_->largest_limit = mapping_.load(std::memory_order_relaxed)->segment_bytes;
  auto mapped = map_segment(segment_name_, attachments_->owners, attachments_->largest_limit);
  if (!mapped) return mapped.error();
  const detail::Mapping* mapping = mapped.value().mapping.get();
  attachments_->all.push_back(std::move(mapped.value()));
  use_mapping(mapping);
  return std::nullopt;
}

const detail::Mapping& Reader::follow_replacement(const detail::Mapping& old) const noexcept {
  // An evaluation never waits: if another thread holds the lock, it resolves or follows, and
  // this evaluation answers from the old image, which stays intact.
  std::unique_lock lock(*resolve_mutex_, std::try_to_lock);
  if (!lock.owns_lock() || mapping_.load(std::memory_order_relaxed) != &old) return *mapping_.load(std::memory_order_acquire);
  detail::Attachments& a = *attachments_;
  const auto now = std::chrono::steady_clock::now();
  if (now < a.next_follow) return old;
  try {
    // The new segment may be smaller: an evaluation still holding an older bound reads zeros.
    a.largest_limit = std::max(a.largest_limit, old.segment_bytes);
    auto mapped = map_segment(segment_name_, a.owners, a.largest_limit);
    if (mapped && !detail::superseded(*mapped.value().mapping) && keeps_indices(old, *mapped.value().mapping, *handles_)) {
      const detail::Mapping* next = mapped.value().mapping.get();
      a.all.push_back(std::move(mapped.value()));
      a.follow_backoff = detail::Attachments::kFollowRetry;
      use_mapping(next);
      return *next;
    }
  } catch (...) {
  }
  a.next_follow = now + a.follow_backoff;
  a.follow_backoff = std::min(a.follow_backoff * 2, detail::Attachments::kFollowRetryMax);
  return old;
}

bool Reader::attached() const noexcept { return mapping_.load() != empty_mapping(); }

}  // namespace flagd
