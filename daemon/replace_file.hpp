// Replacing a file that others read (the metrics file, the sync document) so that a reader sees
// the old contents or the new, never a part: into a new file of a random name in the file's
// directory, created there exclusively and never through a symbolic link, then renamed over it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace flagd {

// What is written, for messages: "cannot write {noun} to 'PATH'", "cannot rename {article_noun}
// into place", "the {option} directory 'DIR' is writable by every user".
struct ReplacedFile {
  std::string_view noun;          // "metrics"
  std::string_view article_noun;  // "the metrics file"
  std::string_view option;        // "--metrics-file"
  mode_t mode = 0644;
  std::optional<gid_t> group = std::nullopt;  // chown'ed to it when set (the daemon's user must be a member)
};

// False and `error` if it could not (nothing is left behind then). `warning` is set the first
// time this process writes `path` when users other than root and this one can write the
// directory, empty otherwise.
bool replace_file(const std::string& path, std::string_view text, const ReplacedFile& what, std::string& error,
                  std::string& warning);

}  // namespace flagd
