// A 64-bit hash of a flag's whole definition, stored in the image per flag so that tools
// (flagctl watch) can tell which flags a publication changed. Not cryptographic: a change goes
// unnoticed only if two definitions collide, about once in 2^64.
#pragma once

#include <cstdint>

#include "flag_model.hpp"

namespace flagd {

// Never 0 (0 marks an absent flag in the image's table).
std::uint64_t fingerprint(const FlagDefinition& flag) noexcept;

}  // namespace flagd
