// Built with nothing but `pkg-config --cflags --libs flagd`: the reader's headers and library.
#include <cstdio>

#include "flagd/reader.hpp"

int main() {
  flagd::Reader reader = flagd::Reader::detached("flagd-consumer-none");
  // No segment of that name: the caller's default, FLAG_NOT_FOUND.
  flagd::Evaluation<bool> e;
  reader.evaluate(reader.resolve("anything"), true, e);
  std::printf("detached reader: %s, %s\n", e.value ? "fallback true" : "false", std::string(flagd::to_string(e.error)).c_str());
  return e.value && e.error == flagd::ErrorCode::FlagNotFound ? 0 : 1;
}
