// Compares flagctl's answers for a case with flagd's Go engine's, field by field (value,
// variant, reason, errorCode, flagMetadata; numbers by value). A file flagd refuses as a whole
// (every answer PROVIDER_NOT_READY) is judged as a file: flagctl must refuse it too.
#pragma once

#include <string>
#include <vector>

#include "engines.hpp"
#include "oracle_case.hpp"

namespace flagd::oracle {

struct Finding {
  enum class Kind {
    Answer,                  // one request answered differently
    FlagctlServesRefused,    // flagd refuses the file, flagctl evaluates it
    FlagctlRefusesServed,    // flagctl refuses the file, flagd evaluates it
    FlagctlBroken,           // flagctl crashed, hung, or wrote the wrong number of lines
    GoBroken,                // the Go command did (not a finding about this project)
  };
  Kind kind = Kind::Answer;
  std::size_t request = 0;          // the request's index (Answer, FlagctlServesRefused)
  std::vector<std::string> fields;  // the fields that differ (Answer)
  Json flagctl;                     // flagctl's answer to that request (or null)
  Json go;                          // flagd's answer to it (or null)
  std::string note;                 // what the commands said on stderr, for the refusals

  // The kind of disagreement, by which a shrunk case must still disagree: the kind, the fields,
  // and both answers' reason and error code.
  std::string signature() const;
};

const char* to_string(Finding::Kind kind);

struct Verdict {
  bool go_refused = false;         // flagd refused the file (PROVIDER_NOT_READY)
  bool flagctl_refused = false;    // flagctl refused the file (exit 1, no answers)
  std::size_t compared = 0;        // requests whose answers were compared
  std::vector<Finding> findings;
};

// The fields of two answers that differ.
std::vector<std::string> differing_fields(const Json& flagctl, const Json& go);

Verdict judge(const Case& c, const Runs& runs);
Verdict judge(const Case& c, const Engines& engines);

}  // namespace flagd::oracle
