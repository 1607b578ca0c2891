#include "pem_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "flagd/printable.hpp"

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
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::strerror(errno));
  std::string pem;
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int saved = errno;
      ::close(fd);
      return fail(std::strerror(saved));
    }
    if (got == 0) break;
    pem.append(buffer, static_cast<std::size_t>(got));
    if (pem.size() > kMaxPemFileBytes) {
      ::close(fd);
      return fail("larger than " + std::to_string(kMaxPemFileBytes) + " bytes");
    }
  }
  ::close(fd);
  const std::string end_line = std::string(label) + "-----";
  if (pem.find("-----BEGIN ") == std::string::npos || pem.find(end_line) == std::string::npos)
    return fail("it holds no PEM " + std::string(label) + " block");
  return pem;
}

}  // namespace flagd
