#include "source_load.hpp"

#include "sha256.hpp"

namespace flagd {

SourceDocument make_document(std::string text, std::string version, bool from_cache, FlagFormat format) {
  SourceDocument d;
  d.format = format;
  Sha256 digest;
  digest.update(text);
  d.sha256 = digest.finish();
  d.text = std::make_shared<const std::string>(std::move(text));
  d.version = std::move(version);
  d.from_cache = from_cache;
  return d;
}

namespace {

// The new document this load is asked to judge for `input`, if any: a remote source's candidate,
// or the file as it is now. A file that cannot be read is refused here.
SourceDocument new_document(const SourceInput& input, FileTrust trust, SourceOutcome& outcome) {
  if (input.kind != SourceKind::File) return input.candidate;
  std::string contents;
  Diagnostic error;
  if (!read_flag_file(input.path, trust, contents, error)) {
    outcome.refused = true;
    outcome.diagnostics.push_back(std::move(error));
    return {};
  }
  return make_document(std::move(contents), "", false, format_named(input.path));
}

}  // namespace

SourcesLoad load_sources(const std::vector<SourceInput>& inputs, FileTrust trust, const Digest& published,
                         Strictness strictness) {
  SourcesLoad load;
  load.sources.resize(inputs.size());
  // Sets parsed while judging, kept for the merge so no document is parsed twice.
  std::vector<std::optional<FlagSet>> parsed(inputs.size());
  std::vector<Digest> digests;
  load.complete = true;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const SourceInput& input = inputs[i];
    SourceOutcome& outcome = load.sources[i];
    SourceDocument fresh = new_document(input, trust, outcome);
    if (fresh && input.good && fresh.sha256 == input.good.sha256 && fresh.format == input.good.format) {
      // The same bytes in the same notation again: nothing to judge. Sent by the source itself,
      // they are no longer only the cached copy, and they carry the source's latest version (a
      // new ETag, a new etcd revision of the same value).
      outcome.used = input.good;
      if (!fresh.from_cache && (input.good.from_cache || fresh.version != input.good.version)) {
        outcome.used.from_cache = false;
        outcome.used.version = fresh.version;
        outcome.accepted = outcome.used;
      }
    } else if (fresh) {
      LoadResult judged = load_flag_text(*fresh.text, input.name, fresh.format);
      for (Diagnostic& d : judged.diagnostics) outcome.diagnostics.push_back(std::move(d));
      if (judged.ok(strictness)) {
        outcome.accepted = fresh;
        outcome.used = fresh;
        parsed[i] = std::move(judged.flags);
      } else {
        outcome.refused = true;
        outcome.used = input.good;
      }
    } else {
      outcome.used = input.good;
    }
    if (!outcome.used && input.fallback) {
      // Nothing good from the source itself (it has not answered, or its first document was
      // refused): its cached copy stands in, judged like any document.
      LoadResult judged = load_flag_text(*input.fallback.text, input.name + " (cached copy)", input.fallback.format);
      for (Diagnostic& d : judged.diagnostics) outcome.diagnostics.push_back(std::move(d));
      if (judged.ok(strictness)) {
        outcome.accepted = input.fallback;
        outcome.used = input.fallback;
        parsed[i] = std::move(judged.flags);
        parsed[i]->sources.back().path = input.name;
      } else {
        outcome.refused = true;
      }
    }
    if (!outcome.used) {
      load.complete = false;
      continue;
    }
    digests.push_back(outcome.used.sha256);
  }
  if (!load.complete) return load;
  load.merged_sha256 = merged_digest(digests);
  if (load.merged_sha256 == published) {
    load.unchanged = true;
    return load;
  }
  std::vector<FlagSet> sets;
  sets.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (parsed[i]) {
      sets.push_back(std::move(*parsed[i]));
      continue;
    }
    // A source's earlier good document, valid when it was accepted; parsed again for this merge.
    LoadResult again = load_flag_text(*load.sources[i].used.text, inputs[i].name, load.sources[i].used.format);
    for (Diagnostic& d : again.diagnostics) load.loaded.diagnostics.push_back(std::move(d));
    sets.push_back(std::move(again.flags));
  }
  load.loaded.flags = merge_flag_sets(std::move(sets), load.loaded.diagnostics);
  return load;
}

}  // namespace flagd
