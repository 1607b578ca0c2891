#include "pem_file.hpp"

#include <cstddef>

#include "flagd/printable.hpp"
#include "small_file.hpp"

namespace flagd {

namespace {

// PEM files (CA bundles, certificate chains, keys) are at most a few hundred kilobytes; anything
// far larger is not one.
constexpr std::size_t kMaxPemFileBytes = std::size_t{16} << 20;

}  // namespace

std::string read_pem_file(const std::string& path, std::string_view noun, std::string_view label, std::string& error) {
  const auto fail = [&](const std::string& why) {
    error = "cannot use " + std::string(noun) + " " + printable(path) + ": " + why;
    return std::string();
  };
  std::string pem, why;
  if (!read_small_file(path, kMaxPemFileBytes, pem, why)) return fail(why);
  const std::string end_line = std::string(label) + "-----";
  if (pem.find("-----BEGIN ") == std::string::npos || pem.find(end_line) == std::string::npos)
    return fail("it holds no PEM " + std::string(label) + " block");
  return pem;
}

}  // namespace flagd
