// Test support: a reader of a segment, once the daemon serving it has published its first image.
#pragma once

#include <optional>
#include <string>

#include "child_process.hpp"
#include "flagd/reader.hpp"

namespace flagd::test {

// Nullopt if no image was published within eventually()'s bound.
inline std::optional<Reader> attach_when_published(const std::string& segment) {
  std::optional<Reader> reader;
  eventually([&] {
    auto attached = Reader::attach(segment);
    if (!attached || attached->generation() < 1) return false;
    reader.emplace(std::move(attached).value());
    return true;
  });
  return reader;
}

}  // namespace flagd::test
