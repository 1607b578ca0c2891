// A small file read whole and bounded: a secret a source sends, a PEM file TLS uses. Such files
// are kilobytes; one far larger is a mistake, refused before it is all in memory.
#pragma once

#include <cstddef>
#include <string>

namespace flagd {

// The contents of `path` in `text`; false and `why` (the system's reason, or that it is over
// `max_bytes`) if it cannot be had. `why` never quotes the contents.
bool read_small_file(const std::string& path, std::size_t max_bytes, std::string& text, std::string& why);

}  // namespace flagd
