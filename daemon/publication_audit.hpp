// What each publication changed, said twice: in the daemon's log, one line per changed flag (at
// most kJournalFlags, then how many more), and, with --audit-log FILE, as one JSON line per
// publication appended to FILE (docs/operations.md, "The audit log"). The daemon's first
// publication is not compared with the image an earlier daemon left: the log says how many flags
// it holds, the audit line lists them all as added and carries "start": true.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit_log.hpp"
#include "flag_changes.hpp"
#include "flag_model.hpp"
#include "shared_segment.hpp"

namespace flagd {

inline constexpr std::size_t kJournalFlags = 20;

// One publication, as its audit line says it.
struct PublicationRecord {
  std::uint64_t generation = 0;
  std::uint64_t published_unix_ns = 0;
  std::string segment;
  bool start = false;
  const FlagSet* flags = nullptr;  // its sources and their digests, the image's digest
  const std::vector<FlagDiff>* changes = nullptr;
};

// {"generation","time","segment","start"?,"sources":[{"uri","sha256"}],"image_sha256","changes":[...]}
// and a newline.
std::string audit_line(const PublicationRecord& record);

class PublicationAudit {
 public:
  // `audit_path` "" for no audit file; it is created with the segment's mode and group.
  PublicationAudit(std::string segment, const std::string& audit_path, const SegmentAccess& access);

  // After each publication, with the facts of the published flags (flag_facts(flags)). A line
  // that cannot be written is logged (when the failure starts or changes) and lost; the
  // publication stands either way.
  void published(std::vector<FlagFacts> facts, const FlagSet& flags, std::uint64_t generation,
                 std::uint64_t published_unix_ns);

 private:
  void append(const std::string& line, std::uint64_t generation);

  std::string segment_;
  std::optional<AuditFile> file_;
  std::optional<std::vector<FlagFacts>> published_;  // none before this daemon's first publication
  std::string error_;                 // the last failure to write the audit file, logged once
  std::uint64_t first_unwritten_ = 0;  // the generation whose line the failure began with
};

}  // namespace flagd
