// Cases made of flag files someone wrote (flagd's own test flags, say) instead of generated ones:
// every flag of the file is asked as each of the five types, in each of a few contexts that hold
// the attributes such files' rules commonly read.
#pragma once

#include <optional>
#include <string>

#include "oracle_case.hpp"

namespace flagd::oracle {

// The case of the JSON flag file at `path`; nullopt and `error` if it cannot be read as JSON.
std::optional<Case> case_of_file(const std::string& path, std::string& error);

}  // namespace flagd::oracle
