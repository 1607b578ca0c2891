// Evaluation: flagd's rules for a flag without targeting, read from one consistent image.
#include <bit>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>

#include "flagd/go_number.hpp"
#include "flagd/reader.hpp"
#include "image_read.hpp"
#include "overrides.hpp"
#include "fast_form_eval.hpp"
#include "rule_eval.hpp"

namespace flagd {

using detail::SectionResult;
using detail::SlotView;
using layout::FlagRecord;
using layout::FlagState;
using layout::ImageHeader;
using layout::ValueKind;

// What one read of a flag's record decided, before the caller's type is applied.
struct Reader::Raw {
  Reason reason = Reason::Error;
  ErrorCode error = ErrorCode::General;
  ValueKind kind = ValueKind::Boolean;
  std::uint64_t payload = 0;   // of the chosen variant (string values are copied to `text`)
  bool has_value = false;      // a variant was chosen: the value is the flag's, not the fallback
  std::uint64_t generation = 0;
  std::string* variant = nullptr;  // where to copy the chosen variant's key; may be null
  // Set by a caller whose fast_value() gave General (mostly: a rule its fast form left
  // undecided): the interpreter, which decides every rule, runs without that run again.
  bool fast_path_tried = false;
  bool override_value = false;  // the value is an override's own, not a variant's
  bool mismatched_variant = false;  // TYPE_MISMATCH on a chosen variant, whose key is in `variant`
};

namespace {


bool kind_fits(ValueKind kind, int want) {
  switch (want) {
    case 0: return kind == ValueKind::Boolean;
    case 1:
    case 2: return kind == ValueKind::Number;
    case 3: return kind == ValueKind::String;
    default: return kind == ValueKind::Object;
  }
}

}  // namespace

Handle Reader::resolve(std::string_view key) {
  (void)mapping();  // follows a replacement first: that takes the lock held below
  std::lock_guard lock(*resolve_mutex_);
  auto& entry = handles_->emplace_back();
  entry.key.assign(key);
  const std::uint32_t index = detail::key_index(*mapping_.load(std::memory_order_acquire), key);
  entry.index.store(index, std::memory_order_relaxed);
  return Handle(index, &entry);
}

std::uint32_t Reader::lookup(std::string_view key) const noexcept { return detail::key_index(mapping(), key); }

// A handle resolved before its flag existed (or before the segment was attached) is looked up
// again on each evaluation until the key appears; from then on it costs nothing extra. Indices
// are stable for the life of a segment, so a found index is kept.
//
// Release and acquire: a thread that reads an index found in a segment the reader moved to also
// reads the mapping of that segment, never the one before it, where the index may name another
// flag. (An index found before the move is valid after it: follow_replacement checks that.)
std::uint32_t Reader::index_of_late(Handle flag) const noexcept {
  const std::uint32_t index = flag.entry_->index.load(std::memory_order_acquire);
  if (index != detail::kUnresolved || flag.entry_ == &detail::kNullHandleEntry) return index;
  const std::uint32_t found = lookup(flag.entry_->key);
  if (found != detail::kUnresolved)
    const_cast<detail::HandleEntry*>(flag.entry_)->index.store(found, std::memory_order_release);
  return found;
}

namespace {
// Constant-initialized: usable from any static initializer, and read with no guard check.
constinit const Context kEmptyContext{};
}  // namespace

const Context& Reader::empty_context() noexcept { return kEmptyContext; }

namespace {
std::string_view trimmed(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

// An override's value, read as the type asked for; TYPE_MISMATCH if it is not one.
bool Reader::override_value(const std::string& value, Want want, std::string* text, Raw& raw) noexcept {
  raw.error = ErrorCode::TypeMismatch;
  if (raw.variant != nullptr) raw.variant->clear();
  const std::string_view v = trimmed(value);
  switch (want) {
    case Want::Bool:
      if (v != "true" && v != "false") return true;
      raw.kind = layout::ValueKind::Boolean;
      raw.payload = v == "true" ? 1 : 0;
      break;
    case Want::Int:
    case Want::Double: {
      double number = 0;
      const auto [end, problem] = std::from_chars(v.data(), v.data() + v.size(), number);
      if (v.empty() || problem != std::errc() || end != v.data() + v.size()) return true;
      raw.kind = layout::ValueKind::Number;
      raw.payload = std::bit_cast<std::uint64_t>(number);
      break;
    }
    case Want::String:
    case Want::Object:
      if (want == Want::Object && (v.empty() || v.front() != '{' || v.back() != '}')) return true;
      raw.kind = want == Want::String ? layout::ValueKind::String : layout::ValueKind::Object;
      if (text != nullptr) {
        try {
          text->assign(want == Want::String ? std::string_view(value) : v);
        } catch (...) {
          raw.error = ErrorCode::General;
          return true;
        }
      }
      break;
  }
  raw.reason = Reason::Static;
  raw.error = ErrorCode::None;
  raw.has_value = true;
  raw.override_value = true;
  return true;
}


void Reader::evaluate_index(std::uint32_t index, const std::string* override_text, Want want,
                            const Context& context, std::string* text, Raw& raw) const noexcept {
  std::string* const variant_out = raw.variant;
  const bool try_fast_path = !raw.fast_path_tried;
  std::size_t text_grow = 0, variant_grow = 0;
  const auto read = [&](const SlotView& slot) {
    raw = Raw{};
    raw.variant = variant_out;
    text_grow = variant_grow = 0;
    raw.generation = slot.load<std::uint64_t>(offsetof(ImageHeader, generation));
    const std::byte* record = index == detail::kUnresolved ? nullptr : detail::record_at(slot, index);
    const std::uint64_t word0 = record ? shared::load<std::uint64_t>(record) : 0;
    const FlagState state = record ? layout::word0_state(word0) : FlagState::Absent;
    // An override decides before the flag's state and rules: the variant it names, or its value.
    std::uint16_t forced = layout::kNoDefaultVariant;
    if (override_text != nullptr) {
      if (state != FlagState::Absent && state != FlagState::Enabled && state != FlagState::Disabled) return false;
      if (state != FlagState::Absent && !detail::variant_named(slot, record, word0, *override_text, forced))
        return false;
      if (forced == layout::kNoDefaultVariant) return override_value(*override_text, want, text, raw);
    } else {
      switch (state) {
        case FlagState::Absent:
          raw.error = ErrorCode::FlagNotFound;
          return true;
        case FlagState::Disabled:
          raw.reason = Reason::Disabled;
          raw.error = ErrorCode::None;
          return true;
        case FlagState::Enabled:
          break;
        default:
          return false;
      }
    }
    raw.kind = layout::word0_kind(word0);
    std::uint16_t chosen = forced != layout::kNoDefaultVariant ? forced : layout::word0_default_variant(word0);
    Reason reason = Reason::Static;
    const std::uint64_t variants =
        shared::load<std::uint32_t>(record + offsetof(FlagRecord, variants_offset));
    if (forced == layout::kNoDefaultVariant && layout::word0_targeting(word0)) {
      const std::uint64_t at = detail::rule_ref_at(slot, index);
      if (!slot.holds_words(at, sizeof(layout::RuleRef))) return false;
      const layout::RuleRef ref = detail::rule_nodes(slot, at);
      const auto flag_key = layout::unpack_string_ref(shared::load<std::uint64_t>(record + offsetof(FlagRecord, key)));
      layout::FastFormRef form;
      const detail::FastDecision fast = try_fast_path && detail::open_fast_form(slot, index, form)
                                            ? detail::run_fast_form(slot, form, &context)
                                            : detail::FastDecision{};
      if (fast.kind == detail::FastDecision::Kind::Variant && fast.variant < layout::word0_variant_count(word0)) {
        chosen = fast.variant;
        reason = Reason::TargetingMatch;
      } else if (fast.kind == detail::FastDecision::Kind::Null) {
        reason = Reason::Default;
      } else {
        detail::RuleEvaluator rule(slot, ref, &context, flag_key);
        switch (rule.run()) {
          case detail::RuleOutcome::Malformed: return false;
          case detail::RuleOutcome::ParseError: raw.error = ErrorCode::ParseError; return true;
          case detail::RuleOutcome::General: raw.error = ErrorCode::General; return true;
          case detail::RuleOutcome::Null: reason = Reason::Default; break;
          case detail::RuleOutcome::Variant: {
            const std::uint16_t count = layout::word0_variant_count(word0);
            std::uint16_t found = layout::kNoDefaultVariant;
            if (rule.variant_index() != 0 && rule.variant_index() <= count)  // named at load
              found = static_cast<std::uint16_t>(rule.variant_index() - 1);
            for (std::uint16_t v = 0; v < count && found == layout::kNoDefaultVariant; ++v) {
              const std::uint64_t at_v = variants + std::uint64_t{v} * sizeof(layout::VariantRecord);
              if (!slot.holds_words(at_v, sizeof(layout::VariantRecord))) return false;
              if (detail::string_equals(slot, layout::unpack_string_ref(slot.load<std::uint64_t>(at_v)), rule.variant()))
                found = v;
            }
            if (found == layout::kNoDefaultVariant) {  // the rule named no variant of this flag
              raw.error = ErrorCode::General;
              return true;
            }
            chosen = found;
            reason = Reason::TargetingMatch;
            break;
          }
        }
      }
    }
    if (chosen == layout::kNoDefaultVariant) {
      raw.reason = Reason::Default;
      raw.error = ErrorCode::None;
      return true;
    }
    if (chosen >= layout::word0_variant_count(word0)) return false;
    if (!detail::variant_kind(slot, raw.kind, variants, layout::word0_variant_count(word0), chosen, raw.kind))
      return false;
    const std::uint64_t variant = variants + std::uint64_t{chosen} * sizeof(layout::VariantRecord);
    if (!slot.holds_words(variant, sizeof(layout::VariantRecord))) return false;
    if (!kind_fits(raw.kind, static_cast<int>(want))) {
      // flagd names the variant that does not fit the type asked for: so does the answer.
      raw.error = ErrorCode::TypeMismatch;
      raw.mismatched_variant = raw.variant != nullptr;
      return raw.variant == nullptr ||
             detail::copy_string(slot, layout::unpack_string_ref(slot.load<std::uint64_t>(variant)), *raw.variant,
                                 &variant_grow);
    }
    raw.payload = slot.load<std::uint64_t>(variant + 8);
    if ((raw.kind == ValueKind::String || raw.kind == ValueKind::Object) && text != nullptr &&
        !detail::copy_string(slot, layout::unpack_string_ref(raw.payload), *text, &text_grow))
      return false;
    if (raw.variant != nullptr &&
        !detail::copy_string(slot, layout::unpack_string_ref(slot.load<std::uint64_t>(variant)),
                             *raw.variant, &variant_grow))
      return false;
    raw.reason = reason;
    raw.error = ErrorCode::None;
    raw.has_value = true;
    return true;
  };
  // A value longer than the caller's buffer: grow it (outside the read, for a validated length)
  // and read again. Only the first evaluation of a long value into a new buffer does this.
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (detail::read_section(mapping(), read) != SectionResult::Ok) break;
    if (text_grow == 0 && variant_grow == 0) return;
    try {
      if (text_grow != 0) text->reserve(text_grow);
      if (variant_grow != 0) variant_out->reserve(variant_grow);
    } catch (...) {
      break;
    }
  }
  raw = Raw{};  // malformed image, a writer that never lets go, or no memory: the caller's default
  raw.variant = variant_out;
}

template <class T, class Fallback>
void Reader::finish(const Raw& raw, Fallback fallback, Evaluation<T>& out) const noexcept {
  out.reason = raw.reason;
  out.error = raw.error;
  out.generation = raw.generation;
  // OpenFeature reads an empty variant key on an error as no variant: so does flagd's answer.
  out.has_variant = (raw.has_value && !raw.override_value) || (raw.mismatched_variant && !out.variant.empty());
  if constexpr (std::is_same_v<T, bool>) {
    out.value = raw.has_value ? raw.payload != 0 : fallback;
  } else if constexpr (std::is_same_v<T, double>) {
    out.value = raw.has_value ? std::bit_cast<double>(raw.payload) : fallback;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    // flagd converts the number as Go does: truncation, and INT64_MIN beyond int64.
    out.value = raw.has_value ? go::to_int(std::bit_cast<double>(raw.payload)) : fallback;
  } else {
    if (!raw.has_value) {
      try {
        out.value.assign(fallback);
      } catch (...) {
        out.value.clear();
      }
    }
  }
  if (!out.has_variant) out.variant.clear();
}

// ---- detailed forms -------------------------------------------------------------------------

void Reader::evaluate(Handle flag, const Context& context, bool fallback, Evaluation<bool>& out) const noexcept {
  Raw raw;
  raw.variant = &out.variant;
  evaluate_index(index_of(flag), override_for(flag), Want::Bool, context, nullptr, raw);
  finish(raw, fallback, out);
}

void Reader::evaluate(Handle flag, const Context& context, std::int64_t fallback,
                      Evaluation<std::int64_t>& out) const noexcept {
  Raw raw;
  raw.variant = &out.variant;
  evaluate_index(index_of(flag), override_for(flag), Want::Int, context, nullptr, raw);
  finish(raw, fallback, out);
}

void Reader::evaluate(Handle flag, const Context& context, double fallback, Evaluation<double>& out) const noexcept {
  Raw raw;
  raw.variant = &out.variant;
  evaluate_index(index_of(flag), override_for(flag), Want::Double, context, nullptr, raw);
  finish(raw, fallback, out);
}

void Reader::evaluate(Handle flag, const Context& context, std::string_view fallback,
                      Evaluation<std::string>& out) const noexcept {
  Raw raw;
  raw.variant = &out.variant;
  evaluate_index(index_of(flag), override_for(flag), Want::String, context, &out.value, raw);
  finish(raw, fallback, out);
}

void Reader::evaluate_object(Handle flag, const Context& context, std::string_view fallback_json,
                             Evaluation<std::string>& out) const noexcept {
  Raw raw;
  raw.variant = &out.variant;
  evaluate_index(index_of(flag), override_for(flag), Want::Object, context, &out.value, raw);
  finish(raw, fallback_json, out);
}

// ---- value-only forms -----------------------------------------------------------------------

namespace detail {

std::uint64_t targeted_bool(const std::byte* base, std::uint64_t slot, std::uint64_t limit, std::uint32_t index,
                            std::uint64_t word0, const Context* context) noexcept {
  const std::uint64_t null_answer = layout::word0_targeted_null(word0);  // the answer when the rule yields null
  if (null_answer == 0) return kTargetedUndecided;
  // The caller checked the record lies below `limit`; so does the image header before it.
  const SlotView view{base + slot, limit - slot};
  layout::FastFormRef form;
  if (!open_fast_form(view, index, form)) return kTargetedUndecided;
  // The form runs inlined here and returns the answer itself.
  return run_fast_form_bool(view, form, context != nullptr ? context : &kEmptyContext, null_answer);
}

}  // namespace detail

bool Reader::slow_bool(Handle flag, const Context& context, bool fallback) const noexcept {
  const std::uint32_t index = index_of(flag);
  std::uint64_t payload = 0;
  const std::string* const forced = override_for(flag);
  switch (forced != nullptr ? detail::FastValue::General : detail::fast_value(mapping(), index, ValueKind::Boolean, context, payload)) {
    case detail::FastValue::Value: return payload != 0;
    case detail::FastValue::Fallback: return fallback;
    case detail::FastValue::General: break;
  }
  Raw raw;
  raw.fast_path_tried = true;
  evaluate_index(index, forced, Want::Bool, context, nullptr, raw);
  return raw.has_value ? raw.payload != 0 : fallback;
}

std::int64_t Reader::get_int(Handle flag, const Context& context, std::int64_t fallback) const noexcept {
  const std::uint32_t index = index_of(flag);
  std::uint64_t payload = 0;
  const std::string* const forced = override_for(flag);
  switch (forced != nullptr ? detail::FastValue::General : detail::fast_value(mapping(), index, ValueKind::Number, context, payload)) {
    case detail::FastValue::Value: return go::to_int(std::bit_cast<double>(payload));
    case detail::FastValue::Fallback: return fallback;
    case detail::FastValue::General: break;
  }
  Raw raw;
  raw.fast_path_tried = true;
  evaluate_index(index, forced, Want::Int, context, nullptr, raw);
  return raw.has_value ? go::to_int(std::bit_cast<double>(raw.payload)) : fallback;
}

double Reader::get_double(Handle flag, const Context& context, double fallback) const noexcept {
  const std::uint32_t index = index_of(flag);
  std::uint64_t payload = 0;
  const std::string* const forced = override_for(flag);
  switch (forced != nullptr ? detail::FastValue::General : detail::fast_value(mapping(), index, ValueKind::Number, context, payload)) {
    case detail::FastValue::Value: return std::bit_cast<double>(payload);
    case detail::FastValue::Fallback: return fallback;
    case detail::FastValue::General: break;
  }
  Raw raw;
  raw.fast_path_tried = true;
  evaluate_index(index, forced, Want::Double, context, nullptr, raw);
  return raw.has_value ? std::bit_cast<double>(raw.payload) : fallback;
}

void Reader::get_string(Handle flag, const Context& context, std::string_view fallback,
                        std::string& out) const noexcept {
  Raw raw;
  evaluate_index(index_of(flag), override_for(flag), Want::String, context, &out, raw);
  if (!raw.has_value) {
    try {
      out.assign(fallback);
    } catch (...) {
      out.clear();
    }
  }
}

std::string Reader::get_string(Handle flag, std::string_view fallback) const {
  std::string out;
  get_string(flag, fallback, out);
  return out;
}

void Reader::get_object(Handle flag, const Context& context, std::string_view fallback_json,
                        std::string& out) const noexcept {
  Raw raw;
  evaluate_index(index_of(flag), override_for(flag), Want::Object, context, &out, raw);
  if (!raw.has_value) {
    try {
      out.assign(fallback_json);
    } catch (...) {
      out.clear();
    }
  }
}

// ---- by key ---------------------------------------------------------------------------------

// The lookup and a static boolean's answer in one read; anything else takes the general path.
bool Reader::get_bool(std::string_view key, bool fallback) const noexcept {
  if (const std::string* forced = override_for(key)) {
    Raw raw;
    evaluate_index(lookup(key), forced, Want::Bool, empty_context(), nullptr, raw);
    return raw.has_value ? raw.payload != 0 : fallback;
  }
  const detail::KeyProbe probe(key);
  std::uint32_t index = detail::kUnresolved;
  std::uint64_t answer = 0;
  const auto result = detail::read_section(mapping(), [&](const SlotView& slot) {
    const std::byte* record;
    answer = 0;
    if (!detail::find_key(slot, probe, index, record)) return false;
    if (record != nullptr) answer = layout::word0_static_bool(shared::load<std::uint64_t>(record));
    return true;
  });
  if (result == SectionResult::Ok && (answer & 1)) return (answer >> 1) != 0;
  return slow_bool(Handle(result == SectionResult::Ok ? index : detail::kUnresolved,
                          &detail::kNullHandleEntry),
                   empty_context(), fallback);
}

std::int64_t Reader::get_int(std::string_view key, std::int64_t fallback) const noexcept {
  Raw raw;
  evaluate_index(lookup(key), override_for(key), Want::Int, empty_context(), nullptr, raw);
  Evaluation<std::int64_t> out;
  finish(raw, fallback, out);
  return out.value;
}

double Reader::get_double(std::string_view key, double fallback) const noexcept {
  Raw raw;
  evaluate_index(lookup(key), override_for(key), Want::Double, empty_context(), nullptr, raw);
  return raw.has_value ? std::bit_cast<double>(raw.payload) : fallback;
}

void Reader::get_string(std::string_view key, std::string_view fallback,
                        std::string& out) const noexcept {
  Raw raw;
  evaluate_index(lookup(key), override_for(key), Want::String, empty_context(), &out, raw);
  if (!raw.has_value) {
    try {
      out.assign(fallback);
    } catch (...) {
      out.clear();
    }
  }
}

void Reader::evaluate(std::string_view key, bool fallback, Evaluation<bool>& out) const noexcept {
  Raw raw;
  raw.variant = &out.variant;
  evaluate_index(lookup(key), override_for(key), Want::Bool, empty_context(), nullptr, raw);
  finish(raw, fallback, out);
}

std::uint64_t Reader::generation() const noexcept {
  std::uint64_t generation = 0;
  const auto result = detail::read_section(mapping(), [&](const SlotView& slot) {
    generation = slot.load<std::uint64_t>(offsetof(ImageHeader, generation));
    return true;
  });
  return result == SectionResult::Ok ? generation : 0;
}

}  // namespace flagd
