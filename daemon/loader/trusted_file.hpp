// Opening a file only if no user but root and this process's own could have chosen what it holds,
// the way OpenSSH's StrictModes judges a key file: the file and every directory and symbolic link
// on the way to it.
#pragma once

#include <string>

namespace flagd {

// Opens `path` for reading, one component at a time from "/" (a relative path from the working
// directory's own absolute path) and following symbolic links itself, so that what it checks is
// what it opens. It refuses, with `error` saying which component, what it found, why it matters
// and how to fix it:
//   - a directory, symbolic link or the file owned by neither root nor this process's user;
//   - a directory that users other than its owner can write, unless it is sticky (there, only an
//     entry's owner can rename or remove it, and every entry used must be owned as above);
//   - a file that is not regular, or that every user can write;
//   - more than 40 symbolic links.
// The descriptor (O_RDONLY, non-blocking, close-on-exec) belongs to the caller; -1 on refusal.
int open_trusted_file(const std::string& path, std::string& error);

}  // namespace flagd
