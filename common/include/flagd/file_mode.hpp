// A file's permission bits as messages spell them ("0644"): one spelling for the daemon's and the
// readers' refusals of files others could write.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <string>

namespace flagd {

inline std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace flagd
