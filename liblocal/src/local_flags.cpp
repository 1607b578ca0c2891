#include "flagd/local_flags.hpp"

#include <algorithm>

#include "flag_loader.hpp"
#include "image_builder.hpp"
#include "publisher.hpp"
#include "segment_writer.hpp"

namespace flagd {

struct LocalFlags::Loaded {
  LoadResult result;
};

namespace {

// Room for the first load's image and growth: an image of up to a quarter of the slot leaves
// reloads four times larger before they stop fitting.
std::uint64_t slot_bytes_for(const FlagSet& flags) {
  StableIndex sizing;
  const std::uint64_t image = build_image(flags, sizing, {}).size();
  return std::max<std::uint64_t>(std::uint64_t{1} << 20, layout::round_up8(image * 4));
}

// The errors, or the warnings, of a load judged as the daemon judges one: a flag that breaks
// flagd's schema loads, with a warning, as flagd loads it.
std::string lines_of(const LoadResult& loaded, bool errors) {
  std::string text;
  for (const auto& d : loaded.diagnostics)
    if (is_error(d, Strictness::Lenient) == errors) text += format(d, Strictness::Lenient) + "\n";
  return text;
}

}  // namespace

struct LocalFlags::State {
  std::shared_ptr<MemorySegment> segment;
  std::optional<Publisher> publisher;
  std::string warnings;

  std::optional<LocalFlagsError> publish(const LoadResult& loaded) {
    if (!loaded.ok()) return LocalFlagsError{lines_of(loaded, true)};
    const PublishOutcome outcome = publisher->publish(loaded.flags, 0);
    if (!outcome.published) return LocalFlagsError{outcome.error + "\n"};
    warnings = lines_of(loaded, false);
    return std::nullopt;
  }
};

LocalFlags::LocalFlags(std::unique_ptr<State> state) : state_(std::move(state)) {}
LocalFlags::LocalFlags(LocalFlags&&) noexcept = default;
LocalFlags& LocalFlags::operator=(LocalFlags&&) noexcept = default;
LocalFlags::~LocalFlags() = default;

const std::string& LocalFlags::warnings() const noexcept { return state_->warnings; }

Result<LocalFlags, LocalFlagsError> LocalFlags::create(const Loaded& loaded) {
  if (!loaded.result.ok()) return LocalFlagsError{lines_of(loaded.result, true)};
  auto state = std::make_unique<State>();
  state->segment = std::make_shared<MemorySegment>(slot_bytes_for(loaded.result.flags));
  std::string error;
  state->publisher = Publisher::resume(state->segment->data(), error);
  if (!state->publisher) return LocalFlagsError{error + "\n"};
  if (auto problem = state->publish(loaded.result)) return *problem;
  auto reader = Reader::over_memory(state->segment, state->segment->data(), state->segment->size());
  if (!reader) return LocalFlagsError{reader.error().message + "\n"};
  LocalFlags local(std::move(state));
  local.reader_ = std::make_unique<Reader>(std::move(reader).value());
  return local;
}

Result<LocalFlags, LocalFlagsError> LocalFlags::from_files(const std::vector<std::string>& paths) {
  return create(Loaded{load_flag_files(paths)});
}

Result<LocalFlags, LocalFlagsError> LocalFlags::from_json(std::string_view json, std::string_view name) {
  return create(Loaded{load_flag_text(json, name)});
}

std::optional<LocalFlagsError> LocalFlags::reload_files(const std::vector<std::string>& paths) {
  return state_->publish(load_flag_files(paths));
}

std::optional<LocalFlagsError> LocalFlags::reload_json(std::string_view json, std::string_view name) {
  return state_->publish(load_flag_text(json, name));
}

}  // namespace flagd
