// Attaching a Reader to a segment: mapping it read-only and checking that its header describes a
// segment of this build's layout before anything else is read.
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include <cstring>

#include "flagd/reader.hpp"
#include "overrides.hpp"

namespace flagd {

namespace ipc = boost::interprocess;
using layout::SegmentHeader;
using layout::SegmentPrefix;

namespace detail {
const HandleEntry kNullHandleEntry{};
}

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

void Reader::use_mapping(const detail::Mapping* mapping) noexcept {
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
      owner_(std::move(other.owner_)),
      own_mapping_(std::move(other.own_mapping_)),
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
    owner_ = std::move(other.owner_);
    own_mapping_ = std::move(other.own_mapping_);
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

namespace {

struct MappedSegment {
  ipc::shared_memory_object object;
  ipc::mapped_region region;
};

Result<std::shared_ptr<MappedSegment>> map_read_only(std::string_view name) {
  if (auto problem = segment_name_problem(name); !problem.empty())
    return error(AttachErrorKind::InvalidName, problem);
  const std::string n(name);
  try {
    auto mapped = std::make_shared<MappedSegment>();
    mapped->object = ipc::shared_memory_object(ipc::open_only, n.c_str(), ipc::read_only);
    mapped->region = ipc::mapped_region(mapped->object, ipc::read_only);
    return mapped;
  } catch (const ipc::interprocess_exception& e) {
    if (e.get_error_code() == ipc::not_found_error)
      return error(AttachErrorKind::Missing,
                   "segment '" + n + "' does not exist (is the flagd daemon running?)");
    return error(AttachErrorKind::Unreadable,
                 "segment '" + n + "' cannot be mapped read-only: " + e.what());
  } catch (const std::exception& e) {
    return error(AttachErrorKind::Unreadable, "segment '" + n + "': " + e.what());
  }
}

}  // namespace

Result<Reader> Reader::attach(std::string_view segment) {
  Reader reader = detached(segment);
  if (auto problem = reader.try_attach()) return std::move(*problem);
  return reader;
}

Reader Reader::detached(std::string_view segment) {
  return Reader(std::string(segment), empty_mapping());
}

Result<Reader> Reader::over_memory(std::shared_ptr<const void> owner, const std::byte* base,
                                   std::size_t bytes) {
  if (reinterpret_cast<std::uintptr_t>(base) % layout::kCacheLine != 0)
    return error(AttachErrorKind::Unreadable, "an in-memory segment must be 64-byte aligned");
  auto described = describe("(in memory)", base, bytes);
  if (!described) return described.error();
  Reader reader("(in memory)", empty_mapping());
  reader.owner_ = std::move(owner);
  reader.own_mapping_ = std::make_unique<detail::Mapping>(described.value());
  reader.use_mapping(reader.own_mapping_.get());
  return reader;
}

std::optional<AttachError> Reader::try_attach() {
  std::lock_guard lock(*resolve_mutex_);
  if (own_mapping_) return std::nullopt;
  auto mapped = map_read_only(segment_name_);
  if (!mapped) return mapped.error();
  const auto& region = mapped.value()->region;
  auto described = describe(segment_name_, static_cast<const std::byte*>(region.get_address()),
                             region.get_size());
  if (!described) return described.error();
  owner_ = std::move(mapped.value());
  own_mapping_ = std::make_unique<detail::Mapping>(described.value());
  use_mapping(own_mapping_.get());
  return std::nullopt;
}

bool Reader::attached() const noexcept { return mapping_.load() != empty_mapping(); }

}  // namespace flagd
