#include <iostream>

#include "flagd/testing/variants.hpp"

namespace flagd::testing {

std::vector<std::string> variants_in_files(const std::vector<std::string>& paths, std::string_view key) {
  auto local = LocalFlags::from_files(paths);
  if (!local) {
    std::cerr << "flagd::testing: cannot load the flags for \"" << key << "\":\n" << local.error().message;
    return {};
  }
  return variants_of(local->reader(), key);
}

}  // namespace flagd::testing
