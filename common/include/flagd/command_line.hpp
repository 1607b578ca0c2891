// Options with a value, as flagd's command lines take them: "--name VALUE" or "--name=VALUE".
#pragma once

#include <string>
#include <string_view>

namespace flagd {

enum class OptionMatch { Other, Taken, MissingValue };

// Whether argv[i] is option `name`; Taken puts its value in `value` and moves `i` past it.
// MissingValue: "--name" is the last argument.
inline OptionMatch take_option(int argc, char** argv, int& i, std::string_view name, std::string& value) {
  const std::string_view arg = argv[i];
  if (arg == name) {
    if (i + 1 >= argc) return OptionMatch::MissingValue;
    value = argv[++i];
    return OptionMatch::Taken;
  }
  if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
    value = std::string(arg.substr(name.size() + 1));
    return OptionMatch::Taken;
  }
  return OptionMatch::Other;
}

}  // namespace flagd
