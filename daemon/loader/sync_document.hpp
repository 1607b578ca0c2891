// The flag document a flagd sync client is sent (flagd.sync.v1 `flag_configuration`), as flagd
// sends it: {"flags": {KEY: FLAG, ...}}, each flag with its state ("ENABLED" or "DISABLED",
// whatever the file wrote), its variants, default variant (null when it has none), targeting
// ($refs substituted), the source it came from, and its metadata with the set's merged into it.
// There is no top-level metadata: flagd serves it merged into each flag.
//
// The daemon writes it beside the segment at each publication (--sync-document); the serving
// process (flagd-serve) sends it, or the part a selector picks, to sync clients.
#pragma once

#include <string>

#include "flag_model.hpp"

namespace flagd {

std::string sync_document(const FlagSet& set);

}  // namespace flagd
