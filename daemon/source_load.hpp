// One load of every source, on the daemon's load thread: each source's new document is validated
// on its own, a refused one leaves the source's last good document in the merge, and a merge of
// exactly the documents already published is recognised before anything is parsed.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flag_loader.hpp"
#include "source_config.hpp"

namespace flagd {

using Digest = std::array<std::uint8_t, 32>;

// A document a source gave and the loader accepted (or is asked to judge).
struct SourceDocument {
  std::shared_ptr<const std::string> text;
  Digest sha256{};
  std::string version;  // ETag, revision
  bool from_cache = false;
  FlagFormat format = FlagFormat::Json;  // the notation of `text`
  explicit operator bool() const noexcept { return text != nullptr; }
};

struct SourceInput {
  SourceKind kind = SourceKind::File;
  std::string name;            // in diagnostics: the file's path, or the URI without credentials
  std::string path;            // File: read at this load
  SourceDocument candidate;    // remote: received and not yet judged; empty if nothing new
  SourceDocument good;         // the source's document in the last merge; empty if none yet
  SourceDocument fallback;     // remote: its cached copy, judged if it ends the load with nothing else
};

struct SourceOutcome {
  SourceDocument accepted;           // a new document, valid: the source's good one from now on
  bool refused = false;              // the new document (or the file) was not valid
  std::vector<Diagnostic> diagnostics;
  SourceDocument used;               // what the merge holds from this source; empty if nothing
};

struct SourcesLoad {
  std::vector<SourceOutcome> sources;
  bool complete = false;    // every source has a document in the merge
  bool unchanged = false;   // complete, and the merge is the one `published` names: not parsed
  Digest merged_sha256{};
  LoadResult loaded;        // the merged set, when complete and changed
};

// Judges every input and merges. `published` is the digest of the image readers see. A document
// is refused when it has an error under `strictness` (diagnostic.hpp).
SourcesLoad load_sources(const std::vector<SourceInput>& inputs, FileTrust trust, const Digest& published,
                         Strictness strictness = Strictness::Lenient);

// A document from bytes, with its digest.
SourceDocument make_document(std::string text, std::string version, bool from_cache,
                             FlagFormat format = FlagFormat::Json);

}  // namespace flagd
