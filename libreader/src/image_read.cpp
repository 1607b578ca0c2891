#include "image_read.hpp"

#include <cstring>
#include <new>

#include "flagd/key_hash.hpp"
#include "flagd/limits.hpp"

namespace flagd::detail {

using layout::FlagRecord;
using layout::ImageHeader;
using layout::StringRef;

bool copy_string(const SlotView& slot, StringRef ref, std::string& out, std::size_t* grow) noexcept {
  if (!slot.holds_words(ref.offset, layout::round_up8(ref.length)) || ref.length > limits::kMaxStringBytes)
    return false;
  if (grow != nullptr && ref.length > out.capacity()) {
    *grow = ref.length;
    out.clear();
    return true;
  }
  try {
    out.resize(ref.length);
  } catch (const std::bad_alloc&) {
    return false;
  }
  shared::copy_out_bytes(out.data(), slot.image + ref.offset, ref.length);
  return true;
}

bool copy_string(const SlotView& slot, StringRef ref, std::string& out, CopyBudget& budget) noexcept {
  if (!slot.holds_words(ref.offset, layout::round_up8(ref.length)) || ref.length > limits::kMaxStringBytes ||
      !budget.take(ref.length))
    return false;
  return copy_string(slot, ref, out);
}

bool find_key(const SlotView& slot, const KeyProbe& probe_key, std::uint32_t& index,
              const std::byte*& record) noexcept {
  index = kUnresolved;
  record = nullptr;
  const std::uint32_t table = slot.load<std::uint32_t>(offsetof(ImageHeader, name_slots_offset));
  const std::uint32_t slots = slot.load<std::uint32_t>(offsetof(ImageHeader, name_slot_count));
  if (slots == 0) return true;  // an image without flags
  if ((slots & (slots - 1)) != 0 || !slot.holds_words(table, std::uint64_t{slots} * 8)) return false;
  const std::uint32_t hash = probe_key.hash;
  std::uint32_t position = hash & (slots - 1);
  for (std::uint32_t probe = 0; probe < kMaxKeyProbes && probe < slots; ++probe) {
    const std::uint64_t entry = slot.load<std::uint64_t>(table + std::uint64_t{position} * 8);
    const auto index_plus_one = static_cast<std::uint32_t>(entry);
    if (index_plus_one == 0) return true;
    if (static_cast<std::uint32_t>(entry >> 32) == hash) {
      const std::byte* candidate = record_at(slot, index_plus_one - 1);
      if (candidate == nullptr) return false;
      const auto ref = layout::unpack_string_ref(
          shared::load<std::uint64_t>(candidate + offsetof(FlagRecord, key)));
      if (string_equals(slot, ref, probe_key.key)) {
        index = index_plus_one - 1;
        record = candidate;
        return true;
      }
    }
    position = (position + 1) & (slots - 1);
  }
  return true;
}

}  // namespace flagd::detail
