// The notations of flag files flagd reads, and how it tells them apart by name.
#pragma once

#include <cstddef>
#include <string_view>

#include "flagd/ascii_case.hpp"

namespace flagd {

enum class FlagFormat : unsigned char { Json, Yaml };

// The notation of a document named `name` (a file's path, an etcd key, a URL's path), as flagd
// decides it from the extension, lowercased and with all but letters and digits dropped: YAML
// for "yaml" and "yml", JSON for any other.
constexpr FlagFormat format_named(std::string_view name) noexcept {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || name.find('/', dot) != std::string_view::npos) return FlagFormat::Json;
  char extension[4] = {};
  std::size_t length = 0;
  for (char c : name.substr(dot + 1)) {
    c = ascii_lower(c);
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) continue;
    if (length == sizeof extension) return FlagFormat::Json;  // longer than "yaml"
    extension[length++] = c;
  }
  const std::string_view e(extension, length);
  return e == "yaml" || e == "yml" ? FlagFormat::Yaml : FlagFormat::Json;
}

static_assert(format_named("flags.YAML") == FlagFormat::Yaml && format_named("a/f.y_m-l") == FlagFormat::Yaml);
static_assert(format_named("http://example.com/flags") == FlagFormat::Json && format_named("f.yamls") == FlagFormat::Json &&
              format_named("flags#v2.yaml") == FlagFormat::Yaml);

}  // namespace flagd
