// One comparison case: a flag file (as a tree, optionally broken into invalid JSON) and the
// evaluation requests asked of it, in the JSON-lines form `flagctl eval` and flagd's Go engine
// both read.
#pragma once

#include <string>
#include <vector>

#include "json_tree.hpp"

namespace flagd::oracle {

struct Case {
  enum class Breakage { None, Truncated, TrailingText };

  Json file;                       // the flag file document
  Breakage breakage = Breakage::None;
  bool spaced = false;             // written with blanks after ':' and ',' (flagd normalises them away)
  std::vector<Json> requests;      // {"flag", "type", "context", "default"}
};

std::string file_text(const Case& c);
std::string requests_text(const Case& c);
// The case as a reader pastes it: the flag file, then one request per line.
std::string printable(const Case& c);

}  // namespace flagd::oracle
