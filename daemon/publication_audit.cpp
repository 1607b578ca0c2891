#include "publication_audit.hpp"

#include <cstdio>
#include <ctime>
#include <utility>

#include "flagd/wall_clock.hpp"
#include "json_value.hpp"
#include "log.hpp"
#include "sha256.hpp"

namespace flagd {

std::string audit_line(const PublicationRecord& r) {
  std::string out = "{\"generation\":" + std::to_string(r.generation) + ",\"time\":\"" + rfc3339_utc(r.published_unix_ns) +
                    "\",\"segment\":";
  append_json_string(out, r.segment);
  if (r.start) out += ",\"start\":true";
  out += ",\"sources\":[";
  for (std::size_t i = 0; r.flags != nullptr && i < r.flags->sources.size(); ++i) {
    out += i == 0 ? "{\"uri\":" : ",{\"uri\":";
    append_json_string(out, r.flags->sources[i].path);
    out += ",\"sha256\":";
    append_json_string(out, r.flags->sources[i].sha256);
    out += '}';
  }
  out += "],\"image_sha256\":";
  append_json_string(out, r.flags != nullptr ? to_hex(r.flags->sha256) : std::string());
  out += ",\"changes\":[";
  for (std::size_t i = 0; r.changes != nullptr && i < r.changes->size(); ++i) {
    if (i != 0) out += ',';
    append_json(out, (*r.changes)[i]);
  }
  out += "]}\n";
  return out;
}

PublicationAudit::PublicationAudit(std::string segment, const std::string& audit_path, const SegmentAccess& access)
    : segment_(std::move(segment)) {
  // As readable as the segment, whose flags it describes.
  if (!audit_path.empty()) file_.emplace(audit_path, access.readable_by_all ? 0644 : 0640, access.group);
}

void PublicationAudit::published(std::vector<FlagFacts> facts, const FlagSet& flags, std::uint64_t generation,
                                 std::uint64_t published_unix_ns) {
  const std::string prefix = "generation " + std::to_string(generation) + ": ";
  const bool start = !published_;
  // A start's changes (every flag, added) are the audit line's alone.
  std::vector<FlagDiff> changes;
  if (!start || file_) changes = diff_flags(start ? std::vector<FlagFacts>{} : *published_, facts);
  if (start) {
    log::info(prefix + "this daemon's first publication, " + std::to_string(facts.size()) +
              (facts.size() == 1 ? " flag" : " flags") + ", not compared with the image before it" +
              (file_ ? "; the audit log lists them" : ""));
  } else if (changes.empty()) {
    log::info(prefix + "no flag changed (the sources' bytes did)");
  } else {
    for (std::size_t i = 0; i < changes.size() && i < kJournalFlags; ++i) log::info(prefix + describe(changes[i]));
    if (changes.size() > kJournalFlags)
      log::info(prefix + "... and " + std::to_string(changes.size() - kJournalFlags) + " more flag changes" +
                (file_ ? " (all in the audit log)" : ""));
  }
  published_ = std::move(facts);
  if (!file_) return;
  const PublicationRecord record{generation, published_unix_ns, segment_, start, &flags, &changes};
  append(audit_line(record), generation);
}

void PublicationAudit::append(const std::string& line, std::uint64_t generation) {
  std::string error;
  if (file_->append(line, error)) {
    if (!error_.empty()) {
      const std::string missing = first_unwritten_ + 1 == generation
                                      ? "generation " + std::to_string(first_unwritten_) + " is"
                                      : "generations " + std::to_string(first_unwritten_) + " to " +
                                            std::to_string(generation - 1) + " are";
      log::info("the audit log '" + file_->path() + "' is written again; " + missing + " missing from it");
    }
    error_.clear();
    return;
  }
  if (error_.empty()) first_unwritten_ = generation;
  if (error != error_)  // logged when it starts or changes, not at each publication
    log::error(error + "; generation " + std::to_string(generation) +
               " is published all the same, its changes only in this log (the audit log is tried again at the "
               "next publication)");
  error_ = error;
}

}  // namespace flagd
